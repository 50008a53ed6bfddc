/**
 * `npm run bench`: runs every scenario, prints one table, writes bench/RESULTS.md.
 */
import * as fs from "node:fs"
import * as cookies from "./cookies.js"
import * as fresh from "./fresh.js"
import { machine, type Row } from "./harness.js"
import * as longlines from "./longlines.js"
import * as memory from "./memory.js"
import * as post from "./post.js"
import * as roundtrip from "./roundtrip.js"
import * as sse from "./sse.js"
import * as streaming from "./streaming.js"
import * as tracing from "./tracing.js"
import * as userfelt from "./userfelt.js"

const runs = Number(process.env.BENCH_RUNS ?? 7)

const scenarios: ReadonlyArray<{ readonly name: string; readonly run: (runs: number) => Promise<ReadonlyArray<Row>> }> =
  [
    // First: its RSS target needs a process that has not already grown its heap.
    { name: "streaming", run: streaming.run },
    { name: "roundtrip", run: roundtrip.run },
    { name: "fresh", run: fresh.run },
    { name: "post", run: post.run },
    { name: "sse", run: sse.run },
    { name: "longlines", run: longlines.run },
    { name: "cookies", run: cookies.run },
    { name: "memory", run: memory.run },
    { name: "tracing", run: tracing.run },
    { name: "userfelt", run: userfelt.run }
  ]

const main = async () => {
  const only = process.argv.slice(2)
  const rows: Array<Row> = []
  const started = Date.now()
  for (const scenario of scenarios) {
    if (only.length > 0 && !only.includes(scenario.name)) continue
    process.stderr.write(`running ${scenario.name}...\n`)
    const began = Date.now()
    rows.push(...(await scenario.run(runs)))
    process.stderr.write(`  ${scenario.name}: ${((Date.now() - began) / 1000).toFixed(1)} s\n`)
  }
  const header = "| scenario | subject | measured | ratio | target | met |\n|---|---|---|---|---|---|"
  const lines = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.subject} | ${r.value} | ${r.ratio ?? ""} | ${r.target ?? ""} | ${r.met === undefined ? "" : r.met ? "yes" : "**no**"} |`
  )
  const table = [header, ...lines].join("\n")
  console.log(table)
  const report = [
    "# Benchmark results",
    "",
    `- machine: ${machine()}`,
    `- date: ${new Date().toISOString()}`,
    `- rounds: ${runs} (BENCH_RUNS) after one warm-up run of each subject; each round runs every subject once, the order rotating from round to round`,
    `- total time: ${((Date.now() - started) / 1000).toFixed(1)} s`,
    "",
    "Every figure is the median over the rounds followed by its range [min–max]. Every ratio is",
    "computed per round from the two subjects' runs in that round (same process, or for SSE the",
    "same run, each subject in a child process of its own), then given as median [min–max];",
    "targets are checked against the median. Floors: the pipeline floor is what",
    "`@effect/platform-node` pays per request minus the socket (a fresh request with a client's",
    "headers, a fiber per request, `HttpApp.toHandled` with the tracer middleware and a request",
    "scope); the direct stream floor runs the app's body Stream in the handler fiber. Reproduce",
    "with `npm run bench`.",
    "",
    table,
    ""
  ].join("\n")
  if (only.length === 0) fs.writeFileSync(new URL("./RESULTS.md", import.meta.url), report)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
