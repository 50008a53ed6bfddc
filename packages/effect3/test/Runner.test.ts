/**
 * The kit speaks before the test runner does: a child vitest runs
 * `test/fixtures/runner/timeouts.fixture.ts` with vitest's defaults (5 s testTimeout) and no
 * kit bound given. Every test there fails on purpose; each must fail with the kit's own tagged
 * error, before vitest's timeout, and print the kit's report — also for a client shared by
 * `it.layer`, whose own scope closes successfully.
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
/** vitest's CLI wherever npm installed it (the workspace hoists it to the repository root). */
const vitestCli = join(dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs")

interface Result {
  readonly fullName: string
  readonly status: string
  readonly duration: number
  readonly failureMessages: ReadonlyArray<string>
}

const runFixtures = Effect.acquireUseRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "kit-runner-"))),
  (dir) =>
    Effect.async<{ readonly results: ReadonlyArray<Result>; readonly stderr: string }>((resume) => {
      const output = join(dir, "results.json")
      const child = execFile(
        process.execPath,
        [
          vitestCli,
          "run",
          "--config",
          "test/fixtures/runner/vitest.config.ts",
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
    "a hung request, a silent WebSocket and a leaked job fail with the kit's errors first, reports printed",
    () =>
      Effect.gen(function* () {
        const { results, stderr } = yield* runFixtures
        const byName = new Map(results.map((result) => [result.fullName, result]))
        const expected: ReadonlyArray<readonly [string, string]> = [
          ["a handler that never answers", "RequestTimeout"],
          ["a silent WebSocket", "WebSocketTimeout"],
          ["a job that never ends", "DrainTimeout"],
          ["a client shared with it.layer an assertion fails after a request", "AssertionError"],
          ["a test whose assertion fails after a request", "AssertionError"],
          ["a test that fails with a stream, a failed request and one in flight", "AssertionError"]
        ]
        const passing = "a passing test whose layer wraps only a request it expects to fail"
        expect(byName.get(passing)?.status).toBe("passed")
        for (const [name, error] of expected) {
          const result = byName.get(name)
          expect(result?.status, name).toBe("failed")
          const message = result?.failureMessages[0] ?? ""
          expect(message, name).toContain(error)
          expect(message, name).not.toContain("timed out in 5000ms")
          expect(result!.duration, name).toBeLessThan(5000)
        }
        // One report per failing test, the it.layer one included, with what the test did: its
        // exchanges, streams, failed requests with their error, requests still in flight, and
        // the span trees.
        expect(stderr.split("effect-http-testkit: the test failed").length - 1).toBe(expected.length)
        expect(stderr).toContain("GET http://testserver/never -> failed: RequestTimeout")
        expect(stderr).toContain("GET http://testserver/ok -> 200")
        expect(stderr).toContain("GET http://testserver/users/1 -> 200")
        expect(stderr).toContain("content-type: application/json")
        expect(stderr).toContain('body: {"id":1,"name":"Ada"}')
        expect(stderr).toContain("http.server GET")
        expect(stderr).toContain("load-user")
        expect(stderr).toContain("GET http://testserver/feed -> 200 (streamed)")
        expect(stderr).toContain("GET http://testserver/boom -> failed: ServerError")
        expect(stderr).toContain("kaboom")
        expect(stderr).toContain("still in flight:")
        expect(stderr).toContain("GET /hang")
        // A passing test prints nothing, though a layer it gave one request closed failing.
        expect(stderr).not.toContain("/expected-boom")
      }),
    { timeout: 60_000 }
  )
})
