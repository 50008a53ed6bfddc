/**
 * Scenario: what a user feels. Three vitest files of 200 `it.scoped` tests each, run by a
 * fresh vitest 3 process each (scripts/bench/userfelt.ts has the method):
 *
 * - kit: every test provides a fresh `TestClient.layer(app)` and does one GET + JSON assertion;
 * - layerTest: the same with `HttpServer.serve(app)` over `NodeHttpServer.layerTest` (a real
 *   server on a random port per test) and `HttpClient.get`;
 * - empty: `Effect.void` and a trivial `expect` (the floor of an `it.scoped` test);
 * - and a fourth, mixed: the kit's tests and the empty ones alternating in one file, for an
 *   overhead measured within one process.
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Row } from "../../../scripts/bench/harness.js"
import * as userfelt from "../../../scripts/bench/userfelt.js"

/** Tests per file. */
export const count = 200

const benchDir = path.dirname(fileURLToPath(import.meta.url))
const repoDir = path.dirname(benchDir)
/** vitest's CLI wherever npm installed it (the workspace hoists it to the repository root). */
const vitestBin = path.join(path.dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs")

const loop = (body: string) => userfelt.loop(count, body)

const kitHead = `import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClient } from "effect-http-testkit"
import { app, payload } from "../app.js"

const TestApp = TestClient.layer(app)
`
const kitTest = userfelt.kitTest("it.scoped")
const emptyTest = userfelt.emptyTest("it.scoped")

const files = {
  kit: `${kitHead}
${loop(kitTest)}`,
  mixed: `${kitHead}
${loop(`${kitTest}\n${emptyTest}`)}`,
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

${loop(emptyTest)}`
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

export const run = (runs: number): Promise<ReadonlyArray<Row>> =>
  userfelt.run(
    {
      count,
      testKind: "it.scoped",
      benchDir,
      cwd: repoDir,
      vitest: { command: process.execPath, args: [vitestBin] },
      config,
      files,
      names: {
        kit: "kit: Effect.provide(TestClient.layer(app)) per test",
        layerTest: "layerTest: serve(app) + NodeHttpServer.layerTest per test",
        empty: "empty it.scoped (Effect.void + expect)"
      }
    },
    runs
  )
