/**
 * Scenario 1 (both editions): sequential small GET round trips returning JSON, through each
 * way of testing an Effect app. Each edition's bench/roundtrip.ts makes the subjects (`Makers`)
 * and its bench/roundtrip-worker.ts serves one of them per process (`serveRoundtripWorker`);
 * `run` here starts a worker per subject (./isolated.ts) and compares them.
 *
 * Each subject runs in a process of its own: they share the Effect runtime's code (ours, the
 * floors, layerTest, the platform handler under supertest and light-my-request), and in one
 * process each changed the others' cost (V8's allocation-site pretenuring and call-site
 * shapes, one subject's retained heap making the next one's collections dearer).
 *
 * The subjects, in order (ours first, the pipeline floor second: the rows' ratios rely on it):
 * ours on one long-lived client; the pipeline floor (the target's); the bare floor and the
 * platform's web handler (references); undici with keep-alive against the app on a real
 * server; `NodeHttpServer.layerTest`; supertest and light-my-request on the app's Node
 * handler; Fastify's `inject` and Hono's `app.request` on their own apps (references).
 * A timed run repeats the subject's own run (its number of requests) to last about half a
 * second, whatever its speed; the figures compared are requests per second.
 */
import { compare, formatRss, type Row, rateRows } from "./harness.js"
import { closeWorkers, serveWorker, startWorkers, type WorkerCommand } from "./isolated.js"

export const subjectKeys = [
  "ours",
  "pipeline",
  "floor",
  "webHandler",
  "undici",
  "layerTest",
  "supertest",
  "lightMyRequest",
  "fastify",
  "hono"
] as const
export type SubjectKey = (typeof subjectKeys)[number]

/** The minimum ratio of ours to a subject (requests per second), where it is a target. */
const targets: Partial<Record<SubjectKey, number>> = {
  pipeline: 0.8,
  undici: 4,
  layerTest: 20,
  supertest: 15,
  lightMyRequest: 2.5
}

/** How long each worker runs its subject before it says it is ready. */
const warmupMillis = 2_000
/** About how long each timed run lasts (the subject's own runs repeated to fill it). */
const runMillis = 500

/** A subject as an edition makes it in its worker: `n` requests per `run`. */
export interface Made {
  readonly name: string
  readonly n: number
  readonly run: () => Promise<unknown>
  readonly dispose?: () => Promise<unknown>
}

export type Makers = Record<SubjectKey, () => Promise<Made>>

/** What a worker says once its subject is made. */
interface Info {
  readonly name: string
  readonly n: number
}

/** The worker's side: makes the subject named by the process argument and serves its runs. */
export const serveRoundtripWorker = (makers: Makers): void =>
  serveWorker<Info>(async ([key]) => {
    if (!subjectKeys.includes(key as SubjectKey)) {
      throw new Error(`usage: roundtrip-worker.ts <${subjectKeys.join("|")}>, got ${key}`)
    }
    const made = await makers[key as SubjectKey]()
    // Warmed to a steady state before the first timed run, whatever its request count: the
    // JIT optimises a subject's code after some thousands of requests, and a subject making
    // fewer requests per run would otherwise be timed while it is still being compiled.
    const began = performance.now()
    let last = 0
    for (let i = 0; i < 3 || performance.now() - began < warmupMillis; i++) {
      const start = performance.now()
      await made.run()
      last = performance.now() - start
    }
    // Every timed run lasts about `runMillis`, whatever the subject's speed: a run long enough
    // for its share of garbage collections (not forced before it) to even out.
    const repeats = Math.max(1, Math.round(runMillis / Math.max(last, 1e-3)))
    return {
      info: { name: made.name, n: made.n * repeats },
      run: async () => {
        for (let i = 0; i < repeats; i++) await made.run()
      },
      // The steady state of the subject's own heap: no forced full GC before a run
      // (measureOnce). The peak RSS growth of a run is then from the heap as it was.
      collect: false,
      ...(made.dispose === undefined ? {} : { dispose: async () => void (await made.dispose?.()) })
    }
  })

export const run = async (worker: WorkerCommand, runs: number): Promise<ReadonlyArray<Row>> => {
  const workers = await startWorkers<Info>(
    worker,
    subjectKeys.map((key) => [key])
  )
  try {
    const subjects = workers.map((w, i) => {
      const target = targets[subjectKeys[i]]
      const name = `${w.info.name} [own process]`
      return { name, n: w.info.n, sample: w.run, ...(target === undefined ? {} : { target }) }
    })
    const measured = await compare(subjects, runs)
    const floorIndex = subjectKeys.indexOf("pipeline")
    const bareIndex = subjectKeys.indexOf("floor")
    const rows = rateRows(
      "GET round trip",
      subjects,
      measured,
      (s) => (s === subjects[floorIndex] ? "pipeline floor" : s === subjects[bareIndex] ? "bare floor" : ""),
      floorIndex
    )
    rows.push({
      scenario: "memory",
      subject: `${measured[0].name}: peak RSS growth over a run of ${subjects[0].n.toLocaleString("en-US")}`,
      value: formatRss(measured[0])
    })
    return rows
  } finally {
    await closeWorkers(workers)
  }
}
