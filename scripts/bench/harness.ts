/**
 * The benchmark harness both editions share (it uses no Effect: each edition's bench imports
 * it with its own Effect). Every figure is a ratio measured in the same process (or, for
 * subjects run in child processes, the same run), because absolute numbers on a shared
 * 2-core machine are noise.
 *
 * Subjects run one warm-up each, then `runs` rounds; each round runs every subject once, in
 * an order that rotates from round to round (A B C, B C A, C A B, ...), so neither drift in
 * the machine's speed nor what the previous subject left behind (garbage, a grown heap)
 * favours one of them. A figure is reported as its median over the rounds with the range
 * [min–max]; a ratio is computed per round, from the two subjects' runs in that round, and
 * reported the same way.
 */
import * as os from "node:os"

/** One timed run of a subject. */
export interface Sample {
  readonly seconds: number
  /** Peak RSS growth over the run's starting RSS, in bytes. */
  readonly rssGrowth: number
}

export interface Measurement {
  readonly name: string
  /** Median seconds per run. */
  readonly seconds: number
  /** Seconds of each round's run, in round order (index i is round i for every subject). */
  readonly runs: ReadonlyArray<number>
  /** Peak RSS growth over the run's starting RSS, in bytes (max over runs). */
  readonly rssGrowth: number
  /** Peak RSS growth of each round's run, in round order. */
  readonly rssRuns: ReadonlyArray<number>
}

export interface Row {
  readonly scenario: string
  readonly subject: string
  readonly value: string
  readonly ratio?: string
  readonly target?: string
  readonly met?: boolean
}

/**
 * A subject of a comparison: `run` is timed here, around the call; a subject run in a child
 * process times itself there and gives its `Sample` instead.
 */
export type Subject =
  | { readonly name: string; readonly run: () => Promise<unknown> }
  | { readonly name: string; readonly sample: () => Promise<Sample> }

export const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/**
 * Samples RSS every few milliseconds while `run` is in flight; returns the peak growth. With
 * `collect` (the default), a full GC first, so the growth starts from the live heap.
 */
const withRssSampling = async (run: () => Promise<void>, collect = true): Promise<number> => {
  if (collect) (globalThis as { gc?: () => void }).gc?.()
  const start = process.memoryUsage.rss()
  let peak = start
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss()
    if (rss > peak) peak = rss
  }, 5)
  try {
    await run()
  } finally {
    clearInterval(timer)
  }
  const end = process.memoryUsage.rss()
  return Math.max(peak, end) - start
}

/**
 * Times one run of `run` in this process, sampling RSS while it runs. With `collect` (the
 * default), after a full GC. A forced full GC shrinks V8's young generation, so the run that
 * follows it promotes more and pays more for collection the more it allocates: a subject in a
 * process of its own (./isolated.ts) is timed without it, in the steady state of its own heap.
 */
export const measureOnce = async (run: () => Promise<unknown>, collect = true): Promise<Sample> => {
  let seconds = 0
  const rssGrowth = await withRssSampling(async () => {
    const start = process.hrtime.bigint()
    await run()
    seconds = Number(process.hrtime.bigint() - start) / 1e9
  }, collect)
  return { seconds, rssGrowth }
}

const runSubject = (subject: Subject): Promise<Sample> =>
  "sample" in subject ? subject.sample() : measureOnce(subject.run)

/**
 * Runs each subject once to warm up, then `runs` rounds of every subject, the order
 * rotating each round.
 */
export const compare = async (subjects: ReadonlyArray<Subject>, runs: number): Promise<ReadonlyArray<Measurement>> => {
  for (const subject of subjects) await ("sample" in subject ? subject.sample() : subject.run())
  const times = subjects.map(() => [] as Array<number>)
  const rss = subjects.map(() => [] as Array<number>)
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < subjects.length; k++) {
      const s = (round + k) % subjects.length
      const sample = await runSubject(subjects[s])
      times[s].push(sample.seconds)
      rss[s].push(sample.rssGrowth)
    }
  }
  return subjects.map((subject, s) => ({
    name: subject.name,
    seconds: median(times[s]),
    runs: times[s],
    rssGrowth: Math.max(...rss[s]),
    rssRuns: rss[s]
  }))
}

/** A figure over the rounds: its median and range. */
export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
}

export const spread = (values: ReadonlyArray<number>): Spread => ({
  median: median(values),
  min: Math.min(...values),
  max: Math.max(...values)
})

/** A figure derived from each round's seconds of one subject (e.g. requests per second). */
export const perRun = (m: Measurement, f: (seconds: number) => number): Spread => spread(m.runs.map(f))

/**
 * A figure derived per round from two subjects' runs in that round (e.g. the ratio of their
 * rates), so the range shows how much the comparison itself moved.
 */
export const paired = (a: Measurement, b: Measurement, f: (a: number, b: number) => number): Spread =>
  spread(a.runs.map((seconds, i) => f(seconds, b.runs[i])))

/** `median [min–max]` with `format` applied to each, then `unit`. */
export const formatSpread = (s: Spread, format: (value: number) => string, unit = ""): string =>
  `${format(s.median)}${unit} [${format(s.min)}–${format(s.max)}]`

/** A measurement's seconds per run, as median [min–max]. */
export const formatSeconds = (m: Measurement): string =>
  formatSpread(
    perRun(m, (s) => s),
    (s) => s.toFixed(3),
    " s"
  )

/** A count or rate: grouped digits from 100 on, one decimal below. */
export const formatNumber = (value: number) =>
  value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(1)

export const formatRatio = (ratio: number) => (ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2))

/** A ratio over the rounds: `0.85x [0.80–0.91]`. */
export const formatRatios = (s: Spread) => `${formatRatio(s.median)}x [${formatRatio(s.min)}–${formatRatio(s.max)}]`

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/** RSS growth over the rounds: median [min–max]. */
export const formatRss = (m: Measurement) =>
  formatSpread(spread(m.rssRuns), (b) => (b / 1024 / 1024).toFixed(1), " MiB")

export const machine = () =>
  `${os.cpus()[0]?.model ?? "unknown CPU"} x ${os.cpus().length}, ${mib(os.totalmem())} RAM, Node ${process.version}, ${os.platform()} ${os.release()}`

// -----------------------------------------------------------------------------
// Request scenarios (both editions): the app's JSON, and rows of requests per second.
// -----------------------------------------------------------------------------

/** What GET /json answers in every edition's bench app. */
export const payload = { ok: true, id: 42, name: "effect-http-testkit", tags: ["a", "b", "c"] }

/** The headers a real client sends besides `host` (the same as TestClient's defaults). */
export const clientHeaders: Readonly<Record<string, string>> = {
  "user-agent": "bench-client/1.0",
  accept: "*/*",
  "accept-encoding": "gzip, deflate, br, zstd"
}

/** Throws unless `body` is the /json payload. */
export const checkPayload = (body: unknown, who: string): void => {
  if (typeof body !== "object" || body === null || (body as { id?: unknown }).id !== 42) {
    throw new Error(`${who}: unexpected body ${JSON.stringify(body)}`)
  }
}

/** About `bytes` of JSON: an array of small records (the POST scenario's body). */
export const makeBody = (bytes: number) => {
  const items: Array<{ id: number; name: string; tags: ReadonlyArray<string>; active: boolean }> = []
  let size = 2
  for (let id = 0; size < bytes; id++) {
    const item = { id, name: `item-${id}-${"x".repeat(id % 17)}`, tags: ["alpha", "beta"], active: id % 2 === 0 }
    size += JSON.stringify(item).length + 1
    items.push(item)
  }
  return { items }
}

export const perSecond = (n: number, seconds: number) => n / seconds

export const formatRate = (rate: number) => `${formatNumber(rate)} req/s`

/** Requests per second over the rounds, `median [min–max]`, with a `unit` ("req/s"). */
export const formatRates = (s: { median: number; min: number; max: number }, unit = "req/s") =>
  `${formatNumber(s.median)} ${unit} [${formatNumber(s.min)}–${formatNumber(s.max)}]`

/** How many seconds one run of the measurements took, as shown beside each figure. */
export const runNote = (n: number, seconds: number) =>
  `${n.toLocaleString("en-US")} per run, median ${seconds.toFixed(3)} s`

/** A subject of a request scenario: `n` requests per run. */
export interface RateSubject {
  readonly name: string
  readonly n: number
  readonly run: () => Promise<void>
  /** The minimum ratio of ours to this subject (requests per second), if it is a target. */
  readonly target?: number
}

/**
 * The rows of a request scenario: each subject's requests per second, and for every subject
 * but ours (`subjects[0]`) the ratio of ours to it, paired per round, with its target.
 */
export const rateRows = <S extends Pick<RateSubject, "name" | "n" | "target">>(
  scenario: string,
  subjects: ReadonlyArray<S>,
  measured: ReadonlyArray<Measurement>,
  ratioLabel: (subject: S) => string = () => "",
  /**
   * The index of the pipeline floor among `subjects`: each peer with a target then also
   * shows the floor's own ratio to it, the most any client running the real pipeline
   * could reach against that peer.
   */
  floorIndex?: number,
  /**
   * The index of the pipeline floor with the kit's span recorder as its tracer: each peer
   * with a target then also shows that floor's ratio to it, the most a client that records
   * every span (as the kit's layers do) could reach.
   */
  recordedIndex?: number
): Array<Row> => {
  const ours = measured[0]
  const n0 = subjects[0].n
  /** Subject `index`'s own ratio to peer `i`, labelled; "" when `index` is not given or is the peer. */
  const ceilingOf = (index: number | undefined, i: number, label: string): string => {
    if (index === undefined || index === i) return ""
    const floor = subjects[index]
    return `${label}: ${formatRatios(
      paired(measured[index], measured[i], (a, b) => perSecond(floor.n, a) / perSecond(subjects[i].n, b))
    )}`
  }
  return measured.map((m, i) => {
    const subject = subjects[i]
    const value = `${formatRates(perRun(m, (s) => perSecond(subject.n, s)))} (${subject.n.toLocaleString("en-US")} per run)`
    if (i === 0) return { scenario, subject: m.name, value }
    const ratio = paired(ours, m, (a, b) => perSecond(n0, a) / perSecond(subject.n, b))
    const label = ratioLabel(subject)
    const ceiling =
      subject.target === undefined
        ? ""
        : ceilingOf(floorIndex, i, "; the pipeline floor itself") +
          ceilingOf(recordedIndex, i, "; that floor recording spans as the kit does")
    return {
      scenario,
      subject: m.name,
      value,
      ratio: `ours ${formatRatios(ratio)}${label === "" ? "" : ` ${label}`}${ceiling}`,
      ...(subject.target === undefined ? {} : { target: `>= ${subject.target}x`, met: ratio.median >= subject.target })
    }
  })
}

/**
 * The floor-first pair of a two-subject request scenario (`subjects[0]` ours, `[1]` the
 * pipeline floor): the floor's row, then ours with its ratio to the floor.
 */
export const floorPair = (
  scenario: string,
  subjects: ReadonlyArray<RateSubject>,
  measured: ReadonlyArray<Measurement>
): Array<Row> => {
  const [oursRow, floorRow] = rateRows(scenario, subjects, measured)
  const ratio = floorRow.ratio?.replace(/^ours /, "") ?? ""
  return [
    { scenario, subject: floorRow.subject, value: floorRow.value },
    { ...oursRow, ratio: `${ratio} pipeline floor` }
  ]
}
