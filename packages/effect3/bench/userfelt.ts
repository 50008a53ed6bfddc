/**
 * Scenario: what a user feels. Three vitest files of 200 `it.scoped` tests each, written as
 * users write them, each run by a fresh vitest process (one worker):
 *
 * - kit: every test provides a fresh `TestClient.layer(app)` and does one GET + JSON assertion;
 * - layerTest: the same with `HttpServer.serve(app)` over `NodeHttpServer.layerTest` (a real
 *   server on a random port per test) and `HttpClient.get`;
 * - empty: `Effect.void` and a trivial `expect` (the floor of an `it.scoped` test).
 *
 * Measured: the wall time of the vitest process and the sum of the per-test durations from
 * vitest's JSON report (a test's duration spans its beforeEach hooks, body and afterEach
 * hooks; here the layer is built and released inside the body). The per-test overhead is the
 * difference to the empty file in the same round, divided by the number of tests. Beside it:
 * the median test's duration and the worker's CPU time over the tests, both less sensitive to
 * other processes taking the cores.
 *
 * The files are generated into a temporary directory inside bench/ (so `node_modules`
 * resolves) and removed at the end.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { formatRatio } from "./app.js"
import type { Row } from "./harness.js"

/** Tests per file. */
export const count = 200

const benchDir = path.dirname(fileURLToPath(import.meta.url))
const repoDir = path.dirname(benchDir)
/** vitest's CLI wherever npm installed it (the workspace hoists it to the repository root). */
const vitestBin = path.join(path.dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs")

const scenario = "user-felt: 200 it.scoped tests in vitest"

const loop = (body: string) => `for (let i = 0; i < ${count}; i++) {
${body}
}
`

const files = {
  kit: `import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClient } from "effect-http-testkit"
import { app, payload } from "../app.js"

const TestApp = TestClient.layer(app)

${loop(`  it.scoped(\`GET /json \${i}\`, () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/json")
      expect(r.status).toBe(200)
      expect(yield* r.json).toEqual(payload)
    }).pipe(Effect.provide(TestApp)))`)}`,
  layerTest: `import { HttpClient, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { app, payload } from "../app.js"

const TestServer = HttpServer.serve(app).pipe(Layer.provideMerge(NodeHttpServer.layerTest))

${loop(`  it.scoped(\`GET /json \${i}\`, () =>
    Effect.gen(function* () {
      const r = yield* HttpClient.get("/json")
      expect(r.status).toBe(200)
      expect(yield* r.json).toEqual(payload)
    }).pipe(Effect.provide(TestServer)))`)}`,
  // One test touching every module the others import: the unmeasured warm-up run.
  warmup: `import { NodeHttpServer } from "@effect/platform-node"
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClient } from "effect-http-testkit"
import { app } from "../app.js"

it.scoped("warm-up", () => Effect.sync(() => expect([app, NodeHttpServer.layerTest, TestClient.layer]).toHaveLength(3)))
`,
  empty: `import { expect, it } from "@effect/vitest"
import { Effect } from "effect"

${loop(`  it.scoped(\`empty \${i}\`, () =>
    Effect.gen(function* () {
      yield* Effect.void
      expect(i).toBe(i)
    }))`)}`
} as const

type Subject = Exclude<keyof typeof files, "warmup">
const subjects: ReadonlyArray<Subject> = ["kit", "layerTest", "empty"]

const subjectNames: Record<Subject, string> = {
  kit: "kit: Effect.provide(TestClient.layer(app)) per test",
  layerTest: "layerTest: serve(app) + NodeHttpServer.layerTest per test",
  empty: "empty it.scoped (Effect.void + expect)"
}

const config = (dir: string) => `import { defineConfig } from "vitest/config"
import { alias } from ${JSON.stringify(path.join(repoDir, "vitest.config.ts"))}

export default defineConfig({
  root: ${JSON.stringify(dir)},
  // The kit and its core resolve to their sources, as in the package's own tests.
  resolve: { alias },
  test: {
    include: ["*.test.ts"],
    pool: "forks",
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    setupFiles: ["./cpu.setup.mjs"],
    watch: false
  }
})
`

/**
 * The worker's CPU time from the first test's start to the last one's end (imports excluded):
 * less sensitive than durations to other processes taking the cores.
 */
const cpuSetup = `import { writeFileSync } from "node:fs"
import { afterAll, beforeAll } from "vitest"

let start
beforeAll(() => {
  start = process.cpuUsage()
})
afterAll(() => {
  const usage = process.cpuUsage(start)
  writeFileSync(process.env.USERFELT_CPU_OUT, String((usage.user + usage.system) / 1000))
})
`

interface Report {
  readonly testResults: ReadonlyArray<{
    readonly assertionResults: ReadonlyArray<{
      readonly status: string
      readonly duration?: number | null
      readonly failureMessages: ReadonlyArray<string>
    }>
  }>
}

interface Sample {
  /** Wall time of the vitest process, ms. */
  readonly wall: number
  /** Sum of the tests' durations, ms. */
  readonly sum: number
  /** Median of the tests' durations, ms. */
  readonly median: number
  /** The worker's CPU time over the tests, ms. */
  readonly cpu: number
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const runVitest = async (dir: string, subject: keyof typeof files, expected = count): Promise<Sample> => {
  const output = path.join(dir, `${subject}.json`)
  const cpuOutput = path.join(dir, `${subject}.cpu`)
  await fs.rm(output, { force: true })
  await fs.rm(cpuOutput, { force: true })
  const args = [
    vitestBin,
    "run",
    "--config",
    path.join(dir, "vitest.config.mjs"),
    path.join(dir, `${subject}.test.ts`),
    "--reporter=json",
    `--outputFile=${output}`
  ]
  const start = process.hrtime.bigint()
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: repoDir,
      env: { ...process.env, USERFELT_CPU_OUT: cpuOutput },
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr.setEncoding("utf8")
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk
    })
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stderr }))
  })
  const wall = Number(process.hrtime.bigint() - start) / 1e6
  const report = JSON.parse(await fs.readFile(output, "utf8").catch(() => "null")) as Report | null
  const tests = report?.testResults.flatMap((file) => file.assertionResults) ?? []
  const failed = tests.find((test) => test.status !== "passed")
  if (code !== 0 || tests.length !== expected || failed !== undefined) {
    throw new Error(
      `userfelt: vitest ${subject} exited ${code} with ${tests.length} tests${
        failed ? `, one failed: ${failed.failureMessages.join("\n")}` : ""
      }\n${stderr}`
    )
  }
  const durations = tests.map((test) => test.duration ?? 0)
  return {
    wall,
    sum: durations.reduce((sum, duration) => sum + duration, 0),
    median: median(durations),
    cpu: Number(await fs.readFile(cpuOutput, "utf8"))
  }
}

const stat = (values: ReadonlyArray<number>, digits: number, unit: string) =>
  `${median(values).toFixed(digits)} ${unit} [${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}]`

export const run = async (runs: number): Promise<ReadonlyArray<Row>> => {
  const dir = await fs.mkdtemp(path.join(benchDir, ".userfelt-tmp-"))
  try {
    await fs.writeFile(path.join(dir, "vitest.config.mjs"), config(dir))
    await fs.writeFile(path.join(dir, "cpu.setup.mjs"), cpuSetup)
    for (const [name, text] of Object.entries(files)) await fs.writeFile(path.join(dir, `${name}.test.ts`), text)
    // One unmeasured run of a single test loading every module: warms the disk cache.
    await runVitest(dir, "warmup", 1)
    const samples: Record<Subject, Array<Sample>> = { kit: [], layerTest: [], empty: [] }
    for (let round = 0; round < runs; round++) {
      for (let s = 0; s < subjects.length; s++) {
        const subject = subjects[(s + round) % subjects.length]
        samples[subject].push(await runVitest(dir, subject))
      }
    }
    const walls = (subject: Subject) => samples[subject].map((sample) => sample.wall / 1000)
    const per = (subject: Subject, field: "sum" | "cpu") => samples[subject].map((sample) => sample[field] / count)
    const medians = (subject: Subject) => samples[subject].map((sample) => sample.median)
    // Paired per round: the same round's empty file is the floor.
    const over = (subject: Subject, field: "sum" | "cpu" | "median") =>
      samples[subject].map(
        (sample, round) => (sample[field] - samples.empty[round][field]) / (field === "median" ? 1 : count)
      )
    const overhead = (subject: Subject) =>
      `${stat(over(subject, "sum"), 3, "ms")} (median test ${stat(over(subject, "median"), 3, "ms")}; CPU ${stat(over(subject, "cpu"), 3, "ms")})`
    const wallRatio = samples.layerTest.map((sample, round) => sample.wall / samples.kit[round].wall)
    const kitOverhead = median(over("kit", "sum"))
    const rows: Array<Row> = subjects.map((subject) => ({
      scenario,
      subject: subjectNames[subject],
      value: `wall ${stat(walls(subject), 2, "s")}; per test ${stat(per(subject, "sum"), 3, "ms")} (median test ${stat(medians(subject), 3, "ms")}; CPU ${stat(per(subject, "cpu"), 3, "ms")})`
    }))
    rows.push(
      {
        scenario,
        subject: "kit overhead per test over empty it.scoped",
        value: overhead("kit"),
        target: "<= 1 ms",
        met: kitOverhead <= 1
      },
      {
        scenario,
        subject: "layerTest overhead per test over empty it.scoped",
        value: overhead("layerTest"),
        ratio: kitOverhead > 0 ? `${formatRatio(median(over("layerTest", "sum")) / kitOverhead)}x kit's` : "n/a"
      },
      {
        scenario,
        subject: "wall time of the vitest process, layerTest / kit",
        value: `${stat(wallRatio, 2, "x")} (paired per round)`,
        ratio: `${formatRatio(median(wallRatio))}x`
      }
    )
    return rows
  } finally {
    await fs.rm(dir, { recursive: true, force: true })
  }
}
