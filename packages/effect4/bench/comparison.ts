/**
 * `npm run bench` (in packages/effect4): the speed row of the README's comparison table. One
 * app (an `HttpApi` with one JSON endpoint) under each tool, measured two ways:
 *
 * - **per request**: the tool set up once, then sequential GETs whose JSON body is read and
 *   checked;
 * - **per test**: the tool set up, one GET, the tool torn down (what a test that builds its own
 *   pays).
 *
 * Each subject runs once to warm up, then `BENCH_RUNS` rounds (default 7); each round runs every
 * subject once, in an order rotating from round to round, so neither drift in the machine's
 * speed nor what the previous subject left behind favours one. A figure is the median over the
 * rounds with its range [min–max]; a ratio is computed per round from the two subjects' runs in
 * that round. Writes bench/TOOLS.md. Nothing here is asserted by the test suite.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import { NodeHttpServer } from "@effect/platform-node"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Exit, Layer, Schema, Scope } from "effect"
import { HttpClient, HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpApiTest } from "effect/http-api"

// ---------------------------------------------------------------------------
// the app
// ---------------------------------------------------------------------------

class Demo extends HttpApiGroup.make("demo").add(
  HttpApiEndpoint.get("hello", "/hello", { success: Schema.Struct({ greeting: Schema.String }) })
) {}

class Api extends HttpApi.make("bench").add(Demo) {}

const DemoLive = HttpApiBuilder.group(Api, "demo", (handlers) =>
  handlers.handle("hello", () => Effect.succeed({ greeting: "hello" }))
)

const App = HttpApiBuilder.layer(Api).pipe(Layer.provide(DemoLive))

const check = (body: unknown, who: string) => {
  if ((body as { greeting?: unknown } | null)?.greeting !== "hello") {
    throw new Error(`${who}: unexpected body ${JSON.stringify(body)}`)
  }
}

// ---------------------------------------------------------------------------
// the tools: each gives one request, as an Effect, once set up in a Scope
// ---------------------------------------------------------------------------

type OneRequest = Effect.Effect<void, unknown>

interface Tool {
  readonly name: string
  /** Sets the tool up in the scope and returns one request to it. */
  readonly setUp: Effect.Effect<OneRequest, unknown, Scope.Scope>
}

const kit: Tool = {
  name: "kit: TestClient.layer(app) + TestClient.get",
  setUp: Effect.map(Layer.build(TestClient.layer(App)), (context) =>
    Effect.flatMap(TestClient.get("/hello"), (r) => r.json).pipe(
      Effect.map((body) => check(body, "TestClient")),
      Effect.provide(context)
    )
  )
}

const kitLayerTest: Tool = {
  name: "kit: TestClient.layerTest + HttpRouter.serve(app) + HttpClient",
  setUp: Effect.gen(function* () {
    const context = yield* Layer.build(
      HttpRouter.serve(App, { disableListenLog: true, disableLogger: true }).pipe(
        Layer.provideMerge(TestClient.layerTest)
      )
    )
    return Effect.flatMap(HttpClient.get("/hello"), (r) => r.json).pipe(
      Effect.map((body) => check(body, "TestClient.layerTest")),
      Effect.provide(context)
    )
  })
}

const apiTest: Tool = {
  name: "HttpApiTest.groups(Api) typed client",
  setUp: Effect.gen(function* () {
    const client = yield* HttpApiTest.groups(Api, ["demo"]).pipe(
      Effect.provide(Layer.mergeAll(DemoLive, HttpServer.layerServices))
    )
    return Effect.map(client.demo.hello(), (body) => check(body, "HttpApiTest"))
  })
}

const nodeLayerTest: Tool = {
  name: "NodeHttpServer.layerTest + HttpRouter.serve(app) + HttpClient",
  setUp: Effect.gen(function* () {
    const context = yield* Layer.build(
      HttpRouter.serve(App, { disableListenLog: true, disableLogger: true }).pipe(
        Layer.provideMerge(NodeHttpServer.layerTest)
      )
    )
    return Effect.flatMap(HttpClient.get("/hello"), (r) => r.json).pipe(
      Effect.map((body) => check(body, "NodeHttpServer.layerTest")),
      Effect.provide(context)
    )
  })
}

const webHandler: Tool = {
  name: "HttpRouter.toWebHandler(app) + Request/Response",
  setUp: Effect.gen(function* () {
    const web = yield* Effect.acquireRelease(
      Effect.sync(() =>
        HttpRouter.toWebHandler(App.pipe(Layer.provide(HttpServer.layerServices)), { disableLogger: true })
      ),
      (web) => Effect.promise(() => web.dispose())
    )
    return Effect.promise(async () => {
      const response = await web.handler(new Request("http://localhost/hello"))
      check(await response.json(), "toWebHandler")
    })
  })
}

const tools: ReadonlyArray<Tool> = [kit, kitLayerTest, apiTest, nodeLayerTest, webHandler]

// ---------------------------------------------------------------------------
// the subjects: what one timed run does
// ---------------------------------------------------------------------------

interface Subject {
  readonly scenario: "per request" | "per test"
  readonly tool: Tool
  /** Operations (requests, or tests) per run. */
  readonly count: number
  /** One timed run; `prepared` is the tool set up once, for the per-request scenario. */
  readonly run: (prepared: OneRequest) => Effect.Effect<void, unknown>
}

const perRequestCount = (tool: Tool) => (tool === nodeLayerTest ? 100 : 500)
const perTestCount = (tool: Tool) => (tool === nodeLayerTest ? 20 : 100)

const subjects: ReadonlyArray<Subject> = [
  ...tools.map(
    (tool): Subject => ({
      scenario: "per request",
      tool,
      count: perRequestCount(tool),
      run: (prepared) => Effect.repeat(prepared, { times: perRequestCount(tool) - 1 })
    })
  ),
  ...tools.map(
    (tool): Subject => ({
      scenario: "per test",
      tool,
      count: perTestCount(tool),
      run: () => Effect.repeat(Effect.scoped(Effect.flatten(tool.setUp)), { times: perTestCount(tool) - 1 })
    })
  )
]

// ---------------------------------------------------------------------------
// measuring
// ---------------------------------------------------------------------------

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const spread = (values: ReadonlyArray<number>, digits: number) =>
  `${median(values).toFixed(digits)} [${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}]`

const timeRun = async (subject: Subject, prepared: OneRequest): Promise<number> => {
  const start = process.hrtime.bigint()
  await Effect.runPromise(subject.run(prepared))
  return Number(process.hrtime.bigint() - start) / 1e6 / subject.count
}

const main = async () => {
  const rounds = Number(process.env.BENCH_RUNS ?? 7)
  const started = Date.now()
  const scope = Scope.makeUnsafe()
  try {
    const prepared = new Map<Tool, OneRequest>()
    for (const tool of tools) prepared.set(tool, await Effect.runPromise(Scope.provide(scope)(tool.setUp)))
    const millis = new Map<Subject, Array<number>>(subjects.map((subject) => [subject, []]))
    process.stderr.write("warming up...\n")
    for (const subject of subjects) await timeRun(subject, prepared.get(subject.tool)!)
    for (let round = 0; round < rounds; round++) {
      process.stderr.write(`round ${round + 1} of ${rounds}\n`)
      for (let i = 0; i < subjects.length; i++) {
        const subject = subjects[(i + round) % subjects.length]
        millis.get(subject)!.push(await timeRun(subject, prepared.get(subject.tool)!))
      }
    }
    const rows = subjects.map((subject) => {
      const ours = millis.get(subjects.find((s) => s.scenario === subject.scenario && s.tool === kit)!)!
      const own = millis.get(subject)!
      const ratios = own.map((ms, round) => ms / ours[round])
      return `| ${subject.scenario} | ${subject.tool.name} | ${spread(own, 3)} ms (${subject.count} per run) | ${
        subject.tool === kit ? "" : `${spread(ratios, 2)}x`
      } |`
    })
    const cpus = os.cpus()
    const report = [
      "# Comparison benchmark",
      "",
      `- machine: ${cpus[0]?.model.trim() ?? "unknown CPU"} x ${cpus.length}, Node ${process.version}, ${os.platform()} ${os.release()}`,
      `- date: ${new Date().toISOString()}`,
      `- rounds: ${rounds} (BENCH_RUNS) after one warm-up run of each subject, the order rotating from round to round`,
      `- total time: ${((Date.now() - started) / 1000).toFixed(1)} s`,
      "",
      "Each figure is the median over the rounds with its range [min–max], in milliseconds per",
      "request (per request: the tool set up once) or per test (set up, one GET, torn down). The",
      "last column is that subject's time over the kit's (`TestClient.layer`) in the same round.",
      "Every response's JSON body is read and checked. Reproduce with `npm run bench` in",
      "packages/effect4.",
      "",
      "| scenario | subject | time | vs the kit |",
      "|---|---|---|---|",
      ...rows,
      ""
    ].join("\n")
    console.log(report)
    fs.writeFileSync(new URL("./TOOLS.md", import.meta.url), report)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
