/**
 * One exchange with the in-process server, whatever the client: dispatching a request to a
 * handler fiber (after Node's own refusals), waiting for it bounded on the wall clock,
 * disconnecting it as a closed socket does, and judging what its end means for the client
 * (a response, a reset connection, a server error, a failed request body). Also the log of
 * recent exchanges every client writes to.
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type { HttpMethod } from "@effect/platform/HttpMethod"
import * as ServerError from "@effect/platform/HttpServerError"
import * as Respondable from "@effect/platform/HttpServerRespondable"
import * as ServerResponse from "@effect/platform/HttpServerResponse"
import { Ring } from "@effect-http-testkit/core"
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Exchange } from "../Client.js"
import { setWallTimer } from "./clock.js"
import type { Config } from "./config.js"
import {
  ClientClosed,
  ConnectionReset,
  DrainTimeout,
  InvalidRequest,
  RequestTimeout,
  type SocketUnavailable,
  ServerError as TestServerError
} from "./errors.js"
import type { Hop } from "./prepare.js"
import { foldHeaderLines, type RequestBody, type RequestSource } from "./request.js"
import type { BufferedSink, StreamingSink } from "./response.js"
import type { InProcessServer } from "./server.js"

/**
 * The recent round trips of every client of one app (the kit's own and the platform
 * `HttpClient` it provides), oldest first, bounded by `exchangeLimit`.
 *
 * @internal
 */
export class Exchanges extends Ring<Exchange> {}

/** @internal */
export const timedOut = Symbol("timedOut")

/** Waits for the handler fiber, bounded on the wall clock so TestClock cannot stall it. */
/** @internal */
export const awaitFiber = <A>(
  fiber: Fiber.RuntimeFiber<A, unknown>,
  timeout: Duration.Duration
): Effect.Effect<Exit.Exit<A, unknown> | typeof timedOut> =>
  Effect.async((resume) => {
    const cancel = setWallTimer(timeout, () => resume(Effect.succeed(timedOut)))
    const observer = (exit: Exit.Exit<A, unknown>) => {
      cancel()
      resume(Effect.succeed(exit))
    }
    fiber.addObserver(observer)
    return Effect.sync(() => {
      cancel()
      fiber.removeObserver(observer)
    })
  })

/**
 * Disconnects a handler the way a closed socket does in platform-node (interruption by
 * `clientAbortFiberId`) and waits for it to stop, at most `drainTimeout`.
 *
 * @internal
 */
export const disconnect = (fiber: Fiber.RuntimeFiber<unknown, unknown>, config: Config): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    fiber.unsafeInterruptAsFork(ServerError.clientAbortFiberId)
    return Effect.map(awaitFiber(fiber, config.drainTimeout), (result) => result !== timedOut)
  })

/**
 * Time ran out waiting for the handler: note where it was, disconnect it, and say so.
 *
 * @internal
 */
export const timedOutError = (
  server: InProcessServer,
  fiber: Fiber.RuntimeFiber<void>,
  config: Config,
  method: string,
  url: string,
  timeout: Duration.Duration
): Effect.Effect<RequestTimeout> =>
  Effect.suspend(() => {
    const waitingIn = server.whereIs(fiber)
    return Effect.map(disconnect(fiber, config), (handlerStopped) =>
      waitingIn === undefined
        ? new RequestTimeout({ method, url, timeout, handlerStopped, reachedApp: false })
        : new RequestTimeout({ method, url, timeout, handlerStopped, waitingIn })
    )
  })

/**
 * Starts the handler for one hop, or says why it cannot. A Stream body that fails while the
 * app reads it aborts the exchange as a real client aborts its connection: the handler is
 * disconnected and the failure recorded on the sink for `judge`.
 *
 * @internal
 */
export const start = (
  server: InProcessServer,
  config: Config,
  hop: Pick<Hop, "method" | "url" | "body">,
  lines: ReadonlyArray<readonly [string, string]>,
  sink: BufferedSink | StreamingSink,
  connection?: RequestSource["connection"]
): Fiber.RuntimeFiber<void> | ClientClosed | SocketUnavailable => {
  const url = hop.url.href
  if (server.closed) return new ClientClosed({ method: hop.method, url, reason: "ScopeClosed" })
  if (server.listenFailure !== undefined) return server.listenFailure
  let fiber: Fiber.RuntimeFiber<void> | undefined
  const body: RequestBody =
    hop.body._tag !== "Stream"
      ? hop.body
      : {
          _tag: "Stream",
          stream: Stream.tapErrorCause(hop.body.stream, (cause) =>
            Effect.sync(() => {
              if (Cause.isInterruptedOnly(cause)) return
              sink.requestFailure ??= cause
              fiber?.unsafeInterruptAsFork(ServerError.clientAbortFiberId)
            })
          )
        }
  fiber = server.dispatch({
    method: hop.method,
    url: hop.url.pathname + hop.url.search,
    headers: foldHeaderLines(lines),
    lines,
    body,
    remoteAddress: config.remoteAddress,
    sink,
    connection
  })
  return fiber ?? new ClientClosed({ method: hop.method, url, reason: "NotServing" })
}

/** `start` as an effect, for `acquireRelease`: dispatch and the release are one step. */
/** @internal */
export const startScoped = (
  ...args: Parameters<typeof start>
): Effect.Effect<Fiber.RuntimeFiber<void>, ClientClosed | SocketUnavailable> =>
  Effect.suspend(() => {
    const started = start(...args)
    return "await" in started ? Effect.succeed(started) : Effect.fail(started)
  })

/**
 * After a disconnect: a handler that did not stop within `drainTimeout` fails the scope
 * close, reported here once (the server no longer waits for it).
 */
/** @internal */
export const reportStuck =
  (server: InProcessServer, fiber: Fiber.RuntimeFiber<void>, config: Config, what: string) =>
  (stopped: boolean): Effect.Effect<void> => {
    if (stopped) return Effect.void
    server.abandon(fiber)
    return Effect.die(
      new DrainTimeout({
        timeout: config.drainTimeout,
        during: "scope close",
        running: [`the handler of ${what}, disconnected but still running`]
      })
    )
  }

/** The first line of a cause, for a message. */
/** @internal */
export const describeCause = (cause: Cause.Cause<unknown>): string => {
  const squashed = Cause.squash(cause)
  return squashed instanceof Error ? squashed.message : String(squashed)
}

/**
 * What a finished handler means for the client: the error a real client would see (a reset
 * connection, a failure before any response, a truncated body) or, with `serverErrors:
 * "fail"`, any failure the app did not turn into a response itself.
 */
export const judge = (
  config: Pick<Config, "serverErrors">,
  hop: Pick<Hop, "method" | "url">,
  sink: BufferedSink | StreamingSink,
  exit: Exit.Exit<void, unknown>
): ConnectionReset | TestServerError | InvalidRequest | undefined => {
  const url = hop.url.href
  if (sink.requestFailure !== undefined) {
    return new InvalidRequest({
      method: hop.method,
      url,
      reason:
        `the request body Stream failed while it was being sent (${describeCause(sink.requestFailure)}); ` +
        "the connection was aborted, as a real client aborts it (an app already reading the request saw a client abort)",
      cause: Cause.squash(sink.requestFailure)
    })
  }
  if (sink.resetReason !== undefined) return new ConnectionReset({ method: hop.method, url, reason: sink.resetReason })
  const cause = exit._tag === "Failure" ? exit.cause : sink.failure
  if (cause === undefined) return undefined
  if (sink.truncated || !sink.headersSent || (config.serverErrors === "fail" && isUnhandled(cause))) {
    return new TestServerError({
      method: hop.method,
      url,
      status: sink.headersSent ? sink.status : 500,
      cause: withoutResponseMarker(cause)
    })
  }
  return undefined
}

/** How many body chunks may wait for the test to read them before the handler must wait. */
/** @internal */
export const streamBuffer = 16

/**
 * Waits until the headers of a streaming body are sent (with `anyBody`, the headers of any
 * response, as a socket client returns at headers), or the handler ends (a complete or failed
 * response), or `timeout` passes on the wall clock.
 *
 * @internal
 */
export const awaitHead = (
  sink: StreamingSink,
  fiber: Fiber.RuntimeFiber<void>,
  timeout: Duration.Duration,
  anyBody = false
): Effect.Effect<"head" | Exit.Exit<void, unknown> | typeof timedOut> =>
  Effect.async((resume) => {
    const done = fiber.unsafePoll()
    if (done !== null) return resume(Effect.succeed(done))
    if (sink.headersSent && (anyBody || sink.streaming)) return resume(Effect.succeed("head"))
    const cancel = setWallTimer(timeout, () => resume(Effect.succeed(timedOut)))
    const observer = (exit: Exit.Exit<void, unknown>) => {
      cancel()
      resume(Effect.succeed(exit))
    }
    sink.onHead = () => {
      if (!anyBody && !sink.streaming) return
      cancel()
      fiber.removeObserver(observer)
      resume(Effect.succeed("head"))
    }
    fiber.addObserver(observer)
    return Effect.sync(() => {
      cancel()
      fiber.removeObserver(observer)
      sink.onHead = undefined
    })
  })

/**
 * Whether a handler's failure is one the app did not turn into a response itself:
 * anything but Respondable errors (404 RouteNotFound, HttpApi errors, responses used as
 * errors) and the client's own disconnect.
 *
 * @internal
 */
export const isUnhandled = (cause: Cause.Cause<unknown>): boolean =>
  Cause.reduce(cause, false, (found, part) => {
    if (found) return Option.some(true)
    switch (part._tag) {
      case "Fail":
        return Respondable.isRespondable(part.error) ? Option.none() : Option.some(true)
      case "Die":
        return Respondable.isRespondable(part.defect) ? Option.none() : Option.some(true)
      case "Interrupt":
        return part.fiberId === ServerError.clientAbortFiberId ? Option.none() : Option.some(true)
      default:
        return Option.none()
    }
  })

// `toHandled` appends the error response it sent as a defect; the user wants their own cause.
/** @internal */
export const withoutResponseMarker = (cause: Cause.Cause<unknown>): Cause.Cause<unknown> =>
  Option.getOrElse(
    Cause.stripSomeDefects(cause, (defect) =>
      ServerResponse.isServerResponse(defect) ? Option.some(Cause.empty) : Option.none()
    ),
    () => cause
  )

/** @internal */
export const toClientRequest = (
  hop: Hop,
  lines: ReadonlyArray<readonly [string, string]>
): HttpClientRequest.HttpClientRequest => {
  const contentType = lines.find(([name]) => name === "content-type")?.[1]
  const body = hop.body
  return HttpClientRequest.make(hop.method as HttpMethod)(hop.url, {
    headers: Headers.fromInput(lines.filter(([name]) => name !== "content-type" && name !== "content-length")),
    body:
      body._tag === "Empty"
        ? HttpBody.empty
        : body._tag === "Bytes"
          ? HttpBody.uint8Array(body.bytes, contentType)
          : HttpBody.stream(body.stream, contentType)
  })
}
