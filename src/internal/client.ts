import * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type { HttpMethod } from "@effect/platform/HttpMethod"
import * as ServerError from "@effect/platform/HttpServerError"
import * as Respondable from "@effect/platform/HttpServerRespondable"
import * as ServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Exchange, RequestOptions, Service, StreamResponse, TestResponse } from "../Client.js"
import { type TestWebSocket, WebSocketRejected } from "../WebSocket.js"
import { setWallTimer, wallClockSleep } from "./clock.js"
import { type Config, encodeCookieValue } from "./config.js"
import { Jar } from "./cookies.js"
import { codings, decodeBody, streamDecoder, unsupportedCoding } from "./decode.js"
import {
  ClientClosed,
  ConnectionReset,
  DrainTimeout,
  InvalidRequest,
  RequestTimeout,
  type TestClientError,
  ServerError as TestServerError,
  TooManyRedirects
} from "./errors.js"
import { cookieHeaderFor, cookieToSet, type Hop, type Prepared, prepare, refuseAsNode } from "./prepare.js"
import { nextHop } from "./redirect.js"
import type { Reporter } from "./report.js"
import { bodyAllowed, foldHeaderLines, type RequestBody, type RequestSource } from "./request.js"
import { BufferedSink, StreamingSink, StreamResponseImpl, TestResponseImpl } from "./response.js"
import type { InProcessServer } from "./server.js"
import type { Tracker } from "./tasks.js"
import { Connection, handshake, makeTestWebSocket } from "./websocket.js"

/** @internal */
export class TestClient extends Context.Tag("effect-http-testkit/TestClient")<TestClient, Service>() {}

/**
 * The recent round trips of every client of one app (the kit's own and the platform
 * `HttpClient` it provides), oldest first, bounded by `exchangeLimit`.
 *
 * @internal
 */
export class Exchanges {
  private readonly ring: Array<Exchange> = []
  constructor(private readonly limit: number) {}
  push(exchange: Exchange): void {
    if (this.limit === 0) return
    if (this.ring.length >= this.limit) this.ring.shift()
    this.ring.push(exchange)
  }
  list(): ReadonlyArray<Exchange> {
    return this.ring.slice()
  }
}

const internals = Symbol.for("effect-http-testkit/TestClient/internals")

/** What the layers built around a client (its WebSocket constructor) need of it. @internal */
export interface Internals {
  readonly server: InProcessServer
  readonly config: Config
  readonly reporter: Reporter
}

/** @internal */
export const internalsOf = (service: Service): Internals => (service as Service & { [internals]: Internals })[internals]

/** @internal */
export const make = (
  server: InProcessServer,
  config: Config,
  tracker: Tracker,
  exchanges: Exchanges,
  reporter: Reporter
): Service =>
  Object.assign(makeService(server, config, tracker, exchanges, reporter), {
    [internals]: { server, config, reporter }
  })

const makeService = (
  server: InProcessServer,
  config: Config,
  tracker: Tracker,
  exchanges: Exchanges,
  reporter: Reporter
): Service => {
  const jar = new Jar()
  for (const [name, value] of Object.entries(config.cookies)) {
    jar.set(`${name}=${encodeCookieValue(value)}; Path=/`, config.baseUrl)
  }

  /**
   * The header lines of one hop: `cookie` is computed for each, and so is `host`, unless the
   * test gave its own (Node's client sends the caller's) and the hop stays on its origin.
   */
  const hopLines = (prepared: Prepared, hop: Hop): ReadonlyArray<readonly [string, string]> => {
    const sameOrigin = hop.url.origin === prepared.url.origin
    const explicitHost = hop.headerLines.some(([name]) => name === "host")
    const lines: Array<readonly [string, string]> =
      explicitHost && sameOrigin
        ? [...hop.headerLines]
        : [
            ["host", hop.url.host],
            ...(explicitHost ? hop.headerLines.filter(([name]) => name !== "host") : hop.headerLines)
          ]
    const cookie = cookieHeader(jar.header(hop.url.href), sameOrigin ? prepared.cookies : undefined)
    if (cookie !== "") lines.push(["cookie", cookie])
    return lines
  }

  /** One buffered round trip. */
  const send = (prepared: Prepared, hop: Hop, history: ReadonlyArray<TestResponse>) =>
    Effect.tap(
      exchange(server, config, reporter, prepared.timeout, hop, hopLines(prepared, hop), history),
      (response) =>
        Effect.sync(() => {
          jar.store(response.setCookie, response.url)
          // The request object is built only if someone looks at it: not on the hot path.
          exchanges.push({
            get request() {
              return response.request
            },
            response
          })
        })
    )

  const follow = (
    prepared: Prepared,
    hop: Hop,
    history: ReadonlyArray<TestResponse>
  ): Effect.Effect<TestResponse, TestClientError> =>
    Effect.flatMap(send(prepared, hop, history), (response) => {
      if (!prepared.followRedirects) return Effect.succeed(response)
      const next = nextHop(hop, response.status, response.headers.location)
      if (next === undefined) return Effect.succeed(response)
      const hops = [...history, response]
      if (history.length >= prepared.maxRedirects) {
        return Effect.fail(
          new TooManyRedirects({
            method: prepared.method,
            url: prepared.url.href,
            maxRedirects: prepared.maxRedirects,
            history: hops
          })
        )
      }
      if ("problem" in next) {
        return Effect.fail(
          new InvalidRequest({ method: prepared.method, url: prepared.url.href, reason: next.problem })
        )
      }
      return follow(prepared, next, hops)
    })

  const request = (method: string, url: string, options: RequestOptions = {}) =>
    Effect.flatMap(prepare(config, method, url, options), (prepared) => follow(prepared, prepared, []))
  const bind = (method: string) => (url: string, options?: RequestOptions) => request(method, url, options)

  return {
    request,
    get: bind("GET"),
    head: bind("HEAD"),
    post: bind("POST"),
    put: bind("PUT"),
    patch: bind("PATCH"),
    del: bind("DELETE"),
    options: bind("OPTIONS"),
    stream: (method, url, options = {}) =>
      Effect.flatMap(prepare(config, method, url, options), (prepared) =>
        Effect.tap(openStream(server, config, reporter, prepared, hopLines(prepared, prepared)), (response) =>
          Effect.sync(() => jar.store(response.setCookie, response.url))
        )
      ),
    websocket: (url, options) => {
      const request = handshake(options)
      if ("problem" in request) {
        return Effect.fail(new InvalidRequest({ method: "GET", url: String(url), reason: request.problem }))
      }
      // The handshake is an http(s) request: ws:// and wss:// name the same origins.
      const httpUrl = typeof url === "string" ? url.replace(/^ws(s?):/i, "http$1:") : url
      return Effect.flatMap(prepare(config, "GET", httpUrl, request.requestOptions), (prepared) =>
        openWebSocket(server, config, reporter, prepared, hopLines(prepared, prepared), request.protocols)
      )
    },
    exchanges: Effect.sync(() => exchanges.list()),
    cookies: Effect.sync(() => jar.cookies(config.baseUrl)),
    cookieHeader: (url) => cookieHeaderFor(config, (target) => jar.header(target), url),
    setCookie: (name, value, options) =>
      Effect.suspend(() => {
        const cookie = cookieToSet(config, name, value, options)
        const fail = (reason: string) =>
          Effect.fail(new InvalidRequest({ method: "SET-COOKIE", url: cookie.url, reason }))
        if ("problem" in cookie) return fail(cookie.problem)
        const problem = jar.set(cookie.header, cookie.url)
        return problem === undefined ? Effect.void : fail(`the jar refused cookie ${JSON.stringify(name)}: ${problem}`)
      }),
    clearCookies: (name) => Effect.sync(() => jar.clear(name)),
    // Read at each call: an unset drainTimeout fits the time the current test has left.
    drainTasks: Effect.suspend(() => tracker.drain(config.drainTimeout))
  }
}

/** The jar's cookies for this hop, with the call's own cookies replacing those of the same name. */
const cookieHeader = (fromJar: string, call: Readonly<Record<string, string>> | undefined): string => {
  if (call === undefined) return fromJar
  const names = new Set(Object.keys(call))
  const pairs = fromJar === "" ? [] : fromJar.split("; ").filter((pair) => !names.has(pair.slice(0, pair.indexOf("="))))
  for (const [name, value] of Object.entries(call)) pairs.push(`${name}=${encodeCookieValue(value)}`)
  return pairs.join("; ")
}

// ---------------------------------------------------------------------------
// the exchange
// ---------------------------------------------------------------------------

/** @internal */
export const timedOut = Symbol("timedOut")

/** Waits for the handler fiber, bounded on the wall clock so TestClock cannot stall it. */
const awaitFiber = <A>(
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
    return Effect.map(
      disconnect(fiber, config),
      (handlerStopped) => new RequestTimeout({ method, url, timeout, handlerStopped, waitingIn })
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
  upgrade?: RequestSource["upgrade"]
): Fiber.RuntimeFiber<void> | ClientClosed => {
  const url = hop.url.href
  if (server.closed) return new ClientClosed({ method: hop.method, url, reason: "ScopeClosed" })
  const refused = refuseAsNode(hop, lines, sink)
  if (refused !== undefined) return refused
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
    body,
    remoteAddress: config.remoteAddress,
    sink,
    upgrade
  })
  return fiber ?? new ClientClosed({ method: hop.method, url, reason: "NotServing" })
}

/** `start` as an effect, for `acquireRelease`: dispatch and the release are one step. */
const startScoped = (...args: Parameters<typeof start>): Effect.Effect<Fiber.RuntimeFiber<void>, ClientClosed> =>
  Effect.suspend(() => {
    const started = start(...args)
    return "await" in started ? Effect.succeed(started) : Effect.fail(started)
  })

/**
 * After a disconnect: a handler that did not stop within `drainTimeout` fails the scope
 * close, reported here once (the server no longer waits for it).
 */
const reportStuck =
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
const describeCause = (cause: Cause.Cause<unknown>): string => {
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
        "the connection was aborted, as a real client aborts it, and the app saw a client abort",
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

const exchange = (
  server: InProcessServer,
  config: Config,
  reporter: Reporter,
  timeout: Duration.Duration,
  hop: Hop,
  lines: ReadonlyArray<readonly [string, string]>,
  history: ReadonlyArray<TestResponse>
): Effect.Effect<TestResponse, TestClientError> =>
  Effect.suspend((): Effect.Effect<TestResponse, TestClientError> => {
    const sink = new BufferedSink()
    const fiber = start(server, config, hop, lines, sink)
    if (!("await" in fiber)) return Effect.fail(fiber)
    const url = hop.url.href
    return awaitFiber(fiber, timeout).pipe(
      Effect.onInterrupt(() => disconnect(fiber, config)),
      Effect.flatMap((exit): Effect.Effect<TestResponse, TestClientError> => {
        if (exit === timedOut) {
          return Effect.flip(timedOutError(server, fiber, config, hop.method, url, timeout))
        }
        const error = judge(config, hop, sink, exit)
        if (error !== undefined) return Effect.fail(error)
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
          return Effect.fail(
            new HttpClientError.ResponseError({
              request: response.request,
              response,
              reason: "Decode",
              description: decoded.problem
            })
          )
        }
        reporter.response(hop.method, url, response.status, headers, response.spanId, response.body)
        return Effect.succeed(response)
      }),
      Effect.tapError((error) => Effect.sync(() => reporter.failure(hop.method, url, sink.spanId, error)))
    )
  })

/** How many body chunks may wait for the test to read them before the handler must wait. */
/** @internal */
export const streamBuffer = 16

const openStream = (
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

/**
 * Opens a WebSocket: sends the handshake through the app and waits for it to upgrade
 * (`request.upgrade` run), answer with a plain response (a rejection), or fail.
 */
const openWebSocket = (
  server: InProcessServer,
  config: Config,
  reporter: Reporter,
  hop: Prepared,
  lines: ReadonlyArray<readonly [string, string]>,
  protocols: ReadonlyArray<string>
): Effect.Effect<TestWebSocket, TestClientError | WebSocketRejected, Scope.Scope> =>
  Effect.gen(function* () {
    const url = hop.url.href
    const { connection, incoming } = yield* Connection.make(url.replace(/^http/, "ws"), protocols[0] ?? "")
    const sink = new BufferedSink()
    // Once upgraded, the app's eventual HTTP response goes nowhere, as on a Node socket.
    connection.onAccept = () => sink.upgraded()
    const fiber = yield* Effect.acquireRelease(
      startScoped(server, config, hop, lines, sink, connection.upgrade),
      (fiber) =>
        Effect.suspend(() => {
          if (fiber.unsafePoll() !== null) return Effect.void
          // Closed cleanly: the handler is finishing by itself. Still open: the connection
          // drops (1006 for the app) and the handler is interrupted as a client abort.
          const wasOpen = connection.closeInfo === undefined
          connection.closedBy(1006, "")
          // The client's own scope closed first: its server disconnected and reported the handler.
          if (server.closed) return Effect.void
          const stop = wasOpen
            ? disconnect(fiber, config)
            : Effect.flatMap(awaitFiber(fiber, config.drainTimeout), (exit) =>
                exit === timedOut ? disconnect(fiber, config) : Effect.succeed(true)
              )
          return Effect.flatMap(stop, reportStuck(server, fiber, config, `WebSocket ${url}`))
        })
    )
    const outcome = yield* Deferred.await(connection.accepted).pipe(
      Effect.as("accepted" as const),
      Effect.raceFirst(Effect.map(fiber.await, (exit) => exit)),
      Effect.raceFirst(Effect.as(wallClockSleep(hop.timeout), timedOut))
    )
    if (outcome === "accepted") {
      reporter.websocket(url.replace(/^http/, "ws"), "")
      return makeTestWebSocket(connection, incoming, hop.timeout)
    }
    if (outcome === timedOut) {
      return yield* Effect.flip(timedOutError(server, fiber, config, "GET", url, hop.timeout))
    }
    const error = judge(config, hop, sink, outcome)
    if (error !== undefined) return yield* Effect.fail(error)
    return yield* Effect.fail(
      new WebSocketRejected({ url, status: sink.status, headers: sink.headers!, body: sink.body() })
    )
  }).pipe(Effect.tapError((error) => Effect.sync(() => reporter.failure("GET", hop.url.href, "", error))))

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
const withoutResponseMarker = (cause: Cause.Cause<unknown>): Cause.Cause<unknown> =>
  Option.getOrElse(
    Cause.stripSomeDefects(cause, (defect) =>
      ServerResponse.isServerResponse(defect) ? Option.some(Cause.empty) : Option.none()
    ),
    () => cause
  )

const toClientRequest = (
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
