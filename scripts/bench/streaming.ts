/**
 * Scenario 0 (both editions): 256 MiB through `TestClient.stream`, against the direct floor
 * (the app's response body Stream run to its end inside the handler fiber, as platform-node's
 * server writes it) and, for reference, the platform's web handler's ReadableStream. Each
 * edition's bench/streaming.ts makes the subjects (`Makers`) and its bench/worker.ts serves one
 * of them per process (./isolated.ts `serveMade`: warmed 2 s, one stream per timed run, a full
 * GC before each so its peak RSS growth starts from the live heap).
 *
 * Targets: ours >= 0.95x the direct floor, peak RSS growth <= 64 MiB.
 */
import {
  formatRatios,
  formatRss,
  formatSpread,
  type Measurement,
  mib,
  paired,
  perRun,
  type Row,
  spread
} from "./harness.js"
import { compareMade, type Made, type WorkerCommand } from "./isolated.js"

export const chunkSize = 64 * 1024
export const total = 256 * 1024 * 1024
const rssLimit = 64 * 1024 * 1024

const subjectKeys = ["ours", "direct", "web"] as const

/** Each subject, as an edition makes it in its worker (`bench/worker.ts streaming <key>`): one stream per run. */
export type Makers = Record<(typeof subjectKeys)[number], () => Promise<Made>>

/** A streaming subject: one stream of `total` bytes per run, with a full GC before each. */
export const streamingSubject = (name: string, run: () => Promise<void>): Made => ({
  name,
  n: 1,
  run,
  repeat: false,
  collect: true
})

/** Throws unless `who` read the whole body. */
export const checkBytes = (who: string, bytes: number): void => {
  if (bytes !== total) throw new Error(`${who} read ${bytes} bytes, expected ${total}`)
}

/** The direct floor's check: the whole body went through the handler fiber. */
export const checkDirect = (sink: { readonly status: number; readonly streamed: number }): void => {
  if (sink.status !== 200) throw new Error(`direct floor: status ${sink.status}`)
  checkBytes("direct floor", sink.streamed)
}

/** The reference subject: the platform's web handler, its ReadableStream read to its end. */
export const webSubject = (
  name: string,
  handler: (request: Request) => Promise<Response>,
  dispose?: () => Promise<unknown>
): Made => ({
  ...streamingSubject(name, async () => {
    const response = await handler(new Request("http://bench/big"))
    const reader = response.body!.getReader()
    let bytes = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      bytes += value.length
    }
    checkBytes("toWebHandler", bytes)
  }),
  ...(dispose === undefined ? {} : { dispose })
})

export const run = async (worker: WorkerCommand, runs: number): Promise<ReadonlyArray<Row>> => {
  const { measured } = await compareMade(worker, "streaming", subjectKeys, runs)
  const [ours, direct, web] = measured
  const throughput = (m: Measurement) =>
    formatSpread(
      perRun(m, (s) => total / s),
      (b) => (b / 1024 / 1024).toFixed(0),
      " MiB/s"
    )
  const ratio = (base: Measurement) => paired(ours, base, (a, b) => b / a)
  const toDirect = ratio(direct)
  const scenario = "stream 256 MiB"
  return [
    { scenario, subject: direct.name, value: throughput(direct) },
    { scenario, subject: web.name, value: throughput(web), ratio: `ours ${formatRatios(ratio(web))}` },
    {
      scenario,
      subject: ours.name,
      value: throughput(ours),
      ratio: `${formatRatios(toDirect)} direct floor`,
      target: ">= 0.95x",
      met: toDirect.median >= 0.95
    },
    {
      scenario,
      subject: `${ours.name} peak RSS growth`,
      value: `${formatRss(ours)}, max ${mib(ours.rssGrowth)}`,
      target: `<= ${mib(rssLimit)}`,
      met: ours.rssGrowth <= rssLimit
    },
    {
      // What the kit's path adds over the floor's own growth, paired per round: V8 sizes its
      // heap back up after the forced GC whatever runs (the floor buffers nothing, and on
      // Node 24 grows by tens of MiB too), which the absolute figure includes.
      scenario,
      subject: `${ours.name} peak RSS growth minus the direct floor's, per round`,
      value: formatSpread(
        spread(ours.rssRuns.map((bytes, round) => bytes - direct.rssRuns[round])),
        (bytes) => (bytes / 1024 / 1024).toFixed(1),
        " MiB"
      )
    },
    { scenario, subject: `${direct.name} peak RSS growth`, value: formatRss(direct) },
    { scenario, subject: `${web.name} peak RSS growth`, value: formatRss(web) }
  ]
}
