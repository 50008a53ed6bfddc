/**
 * The kit speaks before the test runner does: a child vitest runs
 * `test/fixtures/runner/timeouts.fixture.ts` with vitest's defaults (5 s testTimeout) and no
 * kit bound given. Every test there fails on purpose; each must fail with the kit's own tagged
 * error, before vitest's timeout.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"

const root = fileURLToPath(new URL("..", import.meta.url))
/** This package's vitest (vitest 5). */
const vitestCli = join(dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs")

interface Result {
  readonly fullName: string
  readonly status: string
  readonly duration: number
  readonly failureMessages: ReadonlyArray<string>
}

const runFixtures = Effect.acquireUseRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "kit4-runner-"))),
  (dir) =>
    Effect.callback<{ readonly results: ReadonlyArray<Result>; readonly stderr: string }>((resume) => {
      const output = join(dir, "results.json")
      const child = execFile(
        process.execPath,
        [
          vitestCli,
          "run",
          "--config",
          "test/fixtures/runner/vitest.config.ts",
          // The default reporter prints the tests' console (the kit's reports) to stderr.
          "--reporter=default",
          "--reporter=json",
          `--outputFile=${output}`
        ],
        { cwd: root, env: { ...process.env, CI: "true" } },
        (_error, _stdout, stderr) => {
          const json = JSON.parse(readFileSync(output, "utf8")) as {
            readonly testResults: ReadonlyArray<{ readonly assertionResults: ReadonlyArray<Result> }>
          }
          resume(Effect.succeed({ results: json.testResults.flatMap((file) => file.assertionResults), stderr }))
        }
      )
      return Effect.sync(() => child.kill())
    }),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

describe("under vitest's default 5 s testTimeout", () => {
  it.live(
    "a hung request, a silent stream or WebSocket and leaked jobs fail with the kit's errors first",
    () =>
      Effect.gen(function* () {
        const { results, stderr } = yield* runFixtures
        const byName = new Map(results.map((result) => [result.fullName, result]))
        const expected: ReadonlyArray<readonly [string, string]> = [
          ["a handler that never answers", "RequestTimeout"],
          ["a stream whose first byte never comes", "RequestTimeout"],
          ["layerTest's HttpClient, a handler that never answers", "no response within"],
          ["a job that never ends", "DrainTimeout"],
          ["drainTasks on a job that never ends", "DrainTimeout"],
          ["a silent WebSocket", "WebSocketTimeout"],
          ["a test whose assertion fails after its requests", "AssertionError"],
          ["a test that fails with a stream, a failed request and one in flight", "AssertionError"]
        ]
        const passing = "a passing test whose layer wraps only a request it expects to fail"
        expect(byName.get(passing)?.status).toBe("passed")
        expect(results).toHaveLength(expected.length + 1)
        for (const [name, error] of expected) {
          const result = byName.get(name)
          expect(result?.status, name).toBe("failed")
          const message = result?.failureMessages[0] ?? ""
          expect(message, name).toContain(error)
          expect(message, name).not.toContain("Test timed out")
          expect(result!.duration, name).toBeLessThan(5000)
        }
        // One report per failing test, with what it did: the exchanges, the failed request's
        // error, the span trees (Effect 4 names the server span after the method).
        expect(stderr.split("effect-http-testkit: the test failed").length - 1).toBe(expected.length)
        expect(stderr).toContain("GET http://testserver/users/1 -> 200")
        expect(stderr).toContain("content-type: application/json")
        expect(stderr).toContain('body: {"id":1,"name":"Ada"}')
        expect(stderr).toMatch(/\n {4}GET \(/)
        expect(stderr).toContain("load-user")
        expect(stderr).toContain("GET http://testserver/die -> failed: ServerError")
        expect(stderr).toContain("kaboom")
        // A failed request's entry shows its server span (named after the method).
        expect(stderr).toMatch(/-> failed: ServerError[\s\S]*?spans:\n {4}GET \(/)
        expect(stderr).toContain("GET http://testserver/feed -> 200 (streamed)")
        expect(stderr).toContain("still in flight:")
        expect(stderr).toContain("GET http://testserver/hang")
        // A passing test prints nothing, though a layer it gave one request closed failing.
        expect(stderr).not.toContain("/expected-die")
      }),
    { timeout: 60_000 }
  )
})
