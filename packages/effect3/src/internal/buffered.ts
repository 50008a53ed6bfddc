/** The kit's buffered round trip: one hop, the whole response read and content-decoded. */
import * as HttpClientError from "@effect/platform/HttpClientError"
import { decodeBody } from "@effect-http-testkit/core"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type { TestResponse } from "../Client.js"
import type { Config } from "./config.js"
import type { TestClientError } from "./errors.js"
import { awaitFiber, disconnect, judge, start, timedOut, timedOutError, toClientRequest } from "./exchange.js"
import type { Hop } from "./prepare.js"
import type { Reporter } from "./report.js"
import { BufferedSink, TestResponseImpl } from "./response.js"
import type { InProcessServer } from "./server.js"

/**
 * One buffered hop. `onResponse` sees the response before the effect succeeds with it (the
 * client stores its cookies and logs it there, with no step of its own). A handler that
 * finished inside `start` (most do: they run synchronously until they suspend) is settled
 * at once, with no timer, observer or interruption guard.
 *
 * @internal
 */
export const exchange = (
  server: InProcessServer,
  config: Config,
  reporter: Reporter,
  timeout: Duration.Duration,
  hop: Hop,
  lines: ReadonlyArray<readonly [string, string]>,
  history: ReadonlyArray<TestResponse>,
  onResponse: (response: TestResponse) => void
): Effect.Effect<TestResponse, TestClientError> =>
  Effect.suspend((): Effect.Effect<TestResponse, TestClientError> => {
    const sink = new BufferedSink()
    const url = hop.url.href
    // Failures are reported where they arise (no extra step on the success path).
    const fail = (error: TestClientError) => {
      reporter.failure(hop.method, url, sink.spanId, error)
      return Effect.fail(error)
    }
    const settle = (exit: Exit.Exit<void, unknown>): Effect.Effect<TestResponse, TestClientError> => {
      const error = judge(config, hop, sink, exit)
      if (error !== undefined) return fail(error)
      const headers = sink.headers!
      const raw = hop.method === "HEAD" ? new Uint8Array(0) : sink.body()
      const decoded = decodeBody(headers["content-encoding"], raw)
      const response = new TestResponseImpl(
        () => toClientRequest(hop, lines),
        sink.status,
        headers,
        sink.setCookie,
        "bytes" in decoded ? decoded.bytes : raw,
        url,
        sink.spanId,
        history
      )
      if ("problem" in decoded) {
        return fail(
          new HttpClientError.ResponseError({
            request: response.request,
            response,
            reason: "Decode",
            description: decoded.problem
          })
        )
      }
      reporter.response(hop.method, url, response.status, headers, response.spanId, response.body)
      onResponse(response)
      return Effect.succeed(response)
    }
    const fiber = start(server, config, hop, lines, sink)
    if (!("await" in fiber)) return fail(fiber)
    const done = fiber.unsafePoll()
    if (done !== null) return settle(done)
    return awaitFiber(fiber, timeout).pipe(
      Effect.onInterrupt(() => disconnect(fiber, config)),
      Effect.flatMap((exit) =>
        exit === timedOut
          ? Effect.flatMap(timedOutError(server, fiber, config, hop.method, url, timeout), fail)
          : settle(exit)
      )
    )
  })
