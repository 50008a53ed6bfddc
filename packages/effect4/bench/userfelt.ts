/**
 * Scenario: what a user feels. Three vitest files of 200 `it.effect` tests each (Effect 4's
 * `it.effect` provides a Scope: the counterpart of the Effect 3 edition's `it.scoped`), run
 * by a fresh vitest 5 process each on this Node (scripts/bench/userfelt.ts has the method):
 *
 * - kit: every test provides a fresh `TestClient.layer(app)` and does one GET + JSON assertion;
 * - layerTest: the same with `HttpRouter.serve(app)` over `NodeHttpServer.layerTest` (a real
 *   server on a random port per test) and `HttpClient.get`;
 * - empty: `Effect.void` and a trivial `expect` (the floor of an `it.effect` test);
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
const packageDir = path.dirname(benchDir)
/** This package's vitest 5 CLI. */
const vitestBin = path.join(path.dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs")

const loop = (body: string) => userfelt.loop(count, body)

const kitHead = `import { expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect } from "effect"
import { app, payload } from "../app.js"

const TestApp = TestClient.layer(app)
`
const kitTest = userfelt.kitTest("it.effect")
const emptyTest = userfelt.emptyTest("it.effect")

const files = {
  kit: `${kitHead}
${loop(kitTest)}`,
  mixed: `${kitHead}
${loop(`${kitTest}\n${emptyTest}`)}`,
  layerTest: `import { NodeHttpServer } from "@effect/platform-node"
import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { HttpClient, HttpRouter } from "effect/http"
import { app, payload, serveOptions } from "../app.js"

const TestServer = HttpRouter.serve(app, serveOptions).pipe(Layer.provideMerge(NodeHttpServer.layerTest))

${loop(`  it.effect(\`GET /json \${i}\`, () =>
    Effect.gen(function* () {
      const r = yield* HttpClient.get("/json")
      expect(r.status).toBe(200)
      expect(yield* r.json).toEqual(payload)
    }).pipe(Effect.provide(TestServer)))`)}`,
  // One test touching every module the others import: the unmeasured warm-up run.
  warmup: `import { NodeHttpServer } from "@effect/platform-node"
import { expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect } from "effect"
import { HttpClient } from "effect/http"
import { app } from "../app.js"

it.effect("warm-up", () =>
  Effect.sync(() => expect([app, NodeHttpServer.layerTest, TestClient.layer, HttpClient.get]).toHaveLength(4)))
`,
  empty: `import { expect, it } from "@effect/vitest"
import { Effect } from "effect"

${loop(emptyTest)}`
}

const config = (dir: string) => `import { defineConfig } from "vitest/config"
import base from ${JSON.stringify(path.join(packageDir, "vitest.config.ts"))}

export default defineConfig({
  root: ${JSON.stringify(dir)},
  // The kit and its core resolve to their sources, as in the package's own tests.
  resolve: base.resolve,
  test: {
    include: ["*.test.ts"],
    pool: "forks",
    maxWorkers: 1,
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
      testKind: "it.effect",
      benchDir,
      cwd: packageDir,
      vitest: { command: process.execPath, args: [vitestBin] },
      config,
      files,
      names: {
        kit: "kit: Effect.provide(TestClient.layer(app)) per test",
        layerTest: "layerTest: serve(app) + NodeHttpServer.layerTest per test",
        empty: "empty it.effect (Effect.void + expect)"
      }
    },
    runs
  )
