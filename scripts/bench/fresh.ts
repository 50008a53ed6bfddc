/**
 * Scenario 2 (both editions): a fresh client per test. Each edition's bench/fresh.ts makes the
 * subjects (`Makers`: ours, the trivial-layer floor, the trivial layer with one pipeline-floor
 * GET, layerTest) and its bench/worker.ts serves one of them per process (./isolated.ts
 * `serveMade`); `run` here compares them.
 *
 * Target: <= 0.4 ms per test, or <= 3x the trivial-layer floor (met if either holds). The
 * trivial layer sends no request: the trivial layer with one GET through the pipeline floor is
 * the least a fresh client that sends one can cost, and its row says how far it is itself from
 * the 3x.
 */
import { formatRatios, formatSpread, type Measurement, paired, perRun, type Row } from "./harness.js"
import { compareMade, type Made, type WorkerCommand } from "./isolated.js"

const subjectKeys = ["ours", "trivial", "trivialGet", "layerTest"] as const
type SubjectKey = (typeof subjectKeys)[number]

/** Each subject, as an edition makes it in its worker (`bench/worker.ts fresh <key>`). */
export type Makers = Record<SubjectKey, () => Promise<Made>>

const targets = { millis: 0.4, ratio: 3 }

export const run = async (worker: WorkerCommand, runs: number): Promise<ReadonlyArray<Row>> => {
  const { subjects, measured } = await compareMade(worker, "fresh", subjectKeys, runs)
  const [ours, floor, withGet, socket] = measured
  const [nOurs, nFloor, nWithGet, nSocket] = subjects.map((s) => s.n)
  const millis = (m: Measurement, n: number) => perRun(m, (s) => (1000 * s) / n)
  const value = (m: Measurement, n: number) =>
    `${formatSpread(millis(m, n), (x) => x.toFixed(3), " ms")} per test (${n.toLocaleString("en-US")} per run)`
  const perTest = (a: Measurement, na: number, b: Measurement, nb: number) => paired(a, b, (x, y) => x / na / (y / nb))
  const oursMillis = millis(ours, nOurs)
  const toFloor = perTest(ours, nOurs, floor, nFloor)
  const toWithGet = perTest(ours, nOurs, withGet, nWithGet)
  const withGetToFloor = perTest(withGet, nWithGet, floor, nFloor)
  const vsSocket = perTest(socket, nSocket, ours, nOurs)
  const met = oursMillis.median <= targets.millis || toFloor.median <= targets.ratio
  const scenario = "fresh client per test"
  return [
    { scenario, subject: floor.name, value: value(floor, nFloor) },
    {
      scenario,
      subject: withGet.name,
      value: value(withGet, nWithGet),
      ratio: `${formatRatios(withGetToFloor)} trivial-layer floor's time`
    },
    {
      scenario,
      subject: socket.name,
      value: value(socket, nSocket),
      ratio: `ours ${formatRatios(vsSocket)} faster`
    },
    {
      scenario,
      subject: ours.name,
      value: value(ours, nOurs),
      ratio: `${formatRatios(toFloor)} trivial-layer floor's time; ${formatRatios(toWithGet)} the trivial layer + pipeline GET's`,
      target: `<= ${targets.millis} ms or <= ${targets.ratio}x floor`,
      met
    }
  ]
}
