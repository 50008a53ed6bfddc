/**
 * A small benchmark harness: every figure is a ratio measured in the same process, because
 * absolute numbers on a shared 2-core machine are noise.
 */
import * as os from "node:os"

export interface Measurement {
  readonly name: string
  /** Median seconds per run. */
  readonly seconds: number
  readonly runs: ReadonlyArray<number>
  /** Peak RSS growth over the run's starting RSS, in bytes (max over runs). */
  readonly rssGrowth: number
}

export interface Row {
  readonly scenario: string
  readonly subject: string
  readonly value: string
  readonly ratio?: string
  readonly target?: string
  readonly met?: boolean
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Samples RSS every few milliseconds while `run` is in flight. */
const withRssSampling = async (run: () => Promise<void>): Promise<number> => {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
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
 * Runs each subject `runs` times, interleaved (A B A B ...) so drift in the machine's speed
 * hits all of them alike, after one warm-up run each.
 */
export const compare = async (
  subjects: ReadonlyArray<{ readonly name: string; readonly run: () => Promise<void> }>,
  runs: number
): Promise<ReadonlyArray<Measurement>> => {
  for (const subject of subjects) await subject.run()
  const times = subjects.map(() => [] as Array<number>)
  const rss = subjects.map(() => 0)
  for (let i = 0; i < runs; i++) {
    for (let s = 0; s < subjects.length; s++) {
      let elapsed = 0
      const growth = await withRssSampling(async () => {
        const start = process.hrtime.bigint()
        await subjects[s].run()
        elapsed = Number(process.hrtime.bigint() - start) / 1e9
      })
      times[s].push(elapsed)
      rss[s] = Math.max(rss[s], growth)
    }
  }
  return subjects.map((subject, s) => ({
    name: subject.name,
    seconds: median(times[s]),
    runs: times[s],
    rssGrowth: rss[s]
  }))
}

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

export const machine = () =>
  `${os.cpus()[0]?.model ?? "unknown CPU"} x ${os.cpus().length}, ${mib(os.totalmem())} RAM, Node ${process.version}, ${os.platform()} ${os.release()}`
