/**
 * The bench's entry point both editions share: runs the scenarios given (all, or those
 * named on the command line), prints one table and, for a full run, writes the results file.
 *
 * Environment: `BENCH_RUNS` (rounds, default 7); `BENCH_RESULTS` (where the results file goes,
 * default the edition's bench/RESULTS.md: e.g. to keep a run on another Node beside it).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { machine, type Row } from "./harness.js"

export interface Scenario {
  readonly name: string
  readonly run: (runs: number) => Promise<ReadonlyArray<Row>>
}

export interface Bench {
  readonly scenarios: ReadonlyArray<Scenario>
  /** The results file of a full run. */
  readonly results: string
  /** The paragraph under the header: the method, the floors, how to reproduce. */
  readonly method: ReadonlyArray<string>
}

export const table = (rows: ReadonlyArray<Row>): string => {
  const header = "| scenario | subject | measured | ratio | target | met |\n|---|---|---|---|---|---|"
  const lines = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.subject} | ${r.value} | ${r.ratio ?? ""} | ${r.target ?? ""} | ${r.met === undefined ? "" : r.met ? "yes" : "**no**"} |`
  )
  return [header, ...lines].join("\n")
}

export const runBench = async (bench: Bench): Promise<void> => {
  const runs = Number(process.env.BENCH_RUNS ?? 7)
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`BENCH_RUNS must be a whole number >= 1, got ${runs}`)
  const only = process.argv.slice(2)
  const unknown = only.filter((name) => !bench.scenarios.some((s) => s.name === name))
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario ${unknown.join(", ")}: pick from ${bench.scenarios.map((s) => s.name).join(", ")}`
    )
  }
  const rows: Array<Row> = []
  const started = Date.now()
  for (const scenario of bench.scenarios) {
    if (only.length > 0 && !only.includes(scenario.name)) continue
    process.stderr.write(`running ${scenario.name}...\n`)
    const began = Date.now()
    rows.push(...(await scenario.run(runs)))
    process.stderr.write(`  ${scenario.name}: ${((Date.now() - began) / 1000).toFixed(1)} s\n`)
  }
  const result = table(rows)
  console.log(result)
  const report = [
    "# Benchmark results",
    "",
    `- machine: ${machine()}`,
    `- date: ${new Date().toISOString()}`,
    `- rounds: ${runs} (BENCH_RUNS) after one warm-up run of each subject; each round runs every subject once, the order rotating from round to round`,
    `- total time: ${((Date.now() - started) / 1000).toFixed(1)} s`,
    "",
    ...bench.method,
    "",
    result,
    ""
  ].join("\n")
  const target = process.env.BENCH_RESULTS ?? (only.length === 0 ? bench.results : undefined)
  if (target !== undefined) {
    fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true })
    fs.writeFileSync(path.resolve(target), report)
    process.stderr.write(`wrote ${path.relative(process.cwd(), path.resolve(target))}\n`)
  }
}

/** Runs the bench, exiting non-zero on any failure. */
export const main = (bench: Bench): void => {
  runBench(bench).catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
