/**
 * The kit's streamed exchange: returns at the response headers, then hands the body to the
 * test through a bounded buffer (the handler waits for a slow reader), content-decoded.
 */
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { codings, streamDecoder, unsupportedCoding } from "@effect-http-testkit/core"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { StreamResponse } from "../Client.js"
import type { Config } from "./config.js"
import {
  ClientClosed,
  type ConnectionReset,
  type InvalidRequest,
  type TestClientError,
  type ServerError as TestServerError
} from "./errors.js"
import {
  awaitHead,
  disconnect,
  isUnhandled,
  judge,
  reportStuck,
  startScoped,
  streamBuffer,
  timedOut,
  timedOutError,
  toClientRequest
} from "./exchange.js"
import type { Hop } from "./prepare.js"
import type { Reporter } from "./report.js"
import { bodyAllowed } from "./request.js"
import { StreamingSink, StreamResponseImpl } from "./response.js"
import type { InProcessServer } from "./server.js"

/** @internal */
export const openStream = (
  server: InProcessServer,
  config: Config,
  reporter: Reporter,
  hop: Hop & { readonly timeout: Duration.Duration },
  lines: ReadonlyArray<readonly [string, string]>
): Effect.Effect<StreamResponse, TestClientError, Scope.Scope> =>
  Effect.gen(function* () {
    const url = hop.url.href
    const mailbox = yield* Mailbox.make<Uint8Array>(streamBuffer)
    const sink = new StreamingSink(mailbox)
    let disconnected = false
    // Dispatch and the scope's disconnect are one step: no interruption can separate them.
    // Once the client's own scope has closed, its server disconnected (and reported) every
    // handler still running: nothing is left to do here.
    const fiber = yield* Effect.acquireRelease(startScoped(server, config, hop, lines, sink), (fiber) => {
      disconnected = true
      return fiber.unsafePoll() !== null || server.closed
        ? Effect.void
        : Effect.flatMap(disconnect(fiber, config), reportStuck(server, fiber, config, `streamed ${hop.method} ${url}`))
    })
    // A failure after the headers must fail the body stream, never end it short.
    let failure: ConnectionReset | TestServerError | InvalidRequest | ClientClosed | undefined
    fiber.addObserver((exit) => {
      failure =
        (disconnected || server.closed) && Exit.isFailure(exit) && !isUnhandled(exit.cause)
          ? new ClientClosed({ method: hop.method, url, reason: "Disconnected" })
          : judge(config, hop, sink, exit)
      mailbox.unsafeDone(Exit.void)
    })

    const ready = yield* awaitHead(sink, fiber, hop.timeout)
    if (ready === timedOut) {
      return yield* Effect.flip(timedOutError(server, fiber, config, hop.method, url, hop.timeout))
    }
    if (ready !== "head") {
      const error = judge(config, hop, sink, ready)
      if (error !== undefined) return yield* Effect.fail(error)
    }
    const headers = sink.headers!
    // HEAD, 204 and 304 carry no body whatever their Content-Encoding says: nothing to decode.
    const list = hop.method === "HEAD" || !bodyAllowed(sink.status) ? [] : codings(headers["content-encoding"])
    const trailer = Stream.suspend(() =>
      failure === undefined
        ? Stream.empty
        : Stream.fail(
            new HttpClientError.ResponseError({
              request: response.request,
              response,
              reason: "Decode",
              cause: failure,
              description: failure.message
            })
          )
    )
    let body: Stream.Stream<Uint8Array, HttpClientError.ResponseError> = Stream.concat(
      Mailbox.toStream(mailbox),
      trailer
    )
    const response = new StreamResponseImpl(
      () => toClientRequest(hop, lines),
      sink.status,
      headers,
      sink.setCookie,
      url,
      sink.spanId,
      Stream.suspend(() => body)
    )
    for (let i = list.length - 1; i >= 0; i--) {
      const decoder = streamDecoder(list[i])
      if (decoder === undefined) {
        return yield* Effect.fail(
          new HttpClientError.ResponseError({
            request: response.request,
            response,
            reason: "Decode",
            description: unsupportedCoding(list[i])
          })
        )
      }
      body = NodeStream.pipeThroughDuplex(
        body,
        decoder,
        (cause) =>
          new HttpClientError.ResponseError({
            request: response.request,
            response,
            reason: "Decode",
            cause,
            description: `corrupt ${list[i]} body: ${cause instanceof Error ? cause.message : String(cause)}`
          })
      )
    }
    reporter.response(hop.method, url, sink.status, headers, sink.spanId, "streamed")
    return response
  }).pipe(Effect.tapError((error) => Effect.sync(() => reporter.failure(hop.method, hop.url.href, "", error))))
