/**
 * `TestClient` for Effect 4: serve your real app in process, with no socket, and send it
 * requests from the test's own fiber world. Requests go through the same pipeline
 * platform-node serves in production (`HttpEffect.toHandled` with the app's middleware, one
 * fiber per request in the server's scope); responses come back as a client reads them:
 * Set-Cookie stored in an RFC 6265 cookie jar, redirects followed, bodies decoded.
 *
 * @since 0.1.0
 */

import * as NodeChildProcessSpawner from "@effect/platform-node/NodeChildProcessSpawner"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpPlatform from "@effect/platform-node/NodeHttpPlatform"
import * as NodePath from "@effect/platform-node/NodePath"
import type * as NodeServices from "@effect/platform-node/NodeServices"
import * as NodeStdio from "@effect/platform-node/NodeStdio"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import {
  cookieLine,
  describe,
  encodeCookieValue,
  FailureReporter,
  isOptionBag,
  Jar,
  type JarCookie,
  maxAgeSeconds,
  Ring
} from "@effect-http-testkit/core"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import {
  Cookies,
  Etag,
  HttpClient,
  HttpClientError,
  HttpClientRequest,
  type HttpClientResponse,
  type HttpPlatform,
  HttpRouter,
  HttpServer
} from "effect/http"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Path from "effect/Path"
import * as Result from "effect/Result"
import * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as Socket from "effect/socket/Socket"
import * as internal from "./internal/client.js"
import * as connect from "./internal/connect.js"
import * as errors from "./internal/errors.js"
import * as httpClient from "./internal/httpClient.js"
import { resolveUrl } from "./internal/options.js"
import * as server from "./internal/server.js"
import * as socketClient from "./internal/socketClient.js"
import * as socketServer from "./internal/socketServer.js"
import * as streamed from "./internal/stream.js"
import * as tasks from "./internal/tasks.js"
import { splitTransport } from "./internal/transport.js"
import type * as TestStream from "./Stream.js"
import { TaskQueue } from "./TaskQueue.js"
import * as TestTracer from "./Tracer.js"
import type * as TestWebSocket from "./WebSocket.js"

/**
 * Client-wide settings. A bad option does not fail the layer: every request fails with
 * {@link InvalidRequest} naming it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Origin of every relative request URL. Default `"http://testserver"`. */
  readonly baseUrl?: string | undefined
  /** Headers sent with every request; a request's own headers of the same name replace them. */
  readonly headers?: Readonly<Record<string, string | undefined>> | undefined
  /** Cookies put in the jar at the start, for the base URL's host on every path. */
  readonly cookies?: Readonly<Record<string, string>> | undefined
  /** Bound on each request, on the wall clock (it fires under `TestClock`). Default 30 seconds. */
  readonly timeout?: string | number | undefined
  /**
   * What an unhandled failure or defect in the app does to the request: `"fail"` (default)
   * fails it with {@link ServerError} holding the app's `Cause`; `"respond"` returns the
   * response production sends (usually a 500).
   */
  readonly serverErrors?: "fail" | "respond" | undefined
  /** Follow 301/302/303/307/308 responses. Default `true`. */
  readonly followRedirects?: boolean | undefined
  /** How many redirects one request may follow. Default 20. */
  readonly maxRedirects?: number | undefined
  /** The `accept-encoding` sent with every request; `""` sends none. Default `"gzip, deflate, br, zstd"`. */
  readonly acceptEncoding?: string | undefined
  /**
   * The client's address, as the app's `request.remoteAddress` sees it (a proxy's, to test
   * `X-Forwarded-For` handling). An IPv4 or IPv6 address. Default `"127.0.0.1"`.
   */
  readonly remoteAddress?: string | undefined
  /** How many spans the layer's `TestTracer` keeps (the newest). Default 10,000. */
  readonly spanLimit?: number | undefined
  /** How many exchanges {@link exchanges} keeps (the newest; 0 keeps none). Default 100. */
  readonly exchangeLimit?: number | undefined
  /**
   * `"onFailure"` (default): when a test fails, print its last exchanges (status, headers, a
   * body excerpt, the error of a failed request) with their span trees to stderr. `"never"`.
   */
  readonly report?: "onFailure" | "never" | undefined
  /**
   * Bound on {@link drainTasks} and on each wait for the app's background work at scope
   * close, on the wall clock (it fires under `TestClock`). Positive, or `Duration.infinity`
   * for no bound. Default 5 seconds.
   */
  readonly drainTimeout?: Duration.Input | undefined
  /**
   * What the client's scope close does with background work still running (fibers the app's
   * handlers forked, the kit's `TaskQueue` tasks): `"drain"` (default) waits up to
   * `drainTimeout`, then interrupts what is left and fails the test with {@link DrainTimeout}
   * naming it; `"interrupt"` interrupts it at once, as a production shutdown does.
   */
  readonly backgroundWork?: "drain" | "interrupt" | undefined
  /**
   * How requests reach the app. `"in-process"` (default): in memory, no socket. `"socket"`:
   * the app is served on platform-node's `NodeHttpServer` at 127.0.0.1 and every request,
   * stream and WebSocket travels over a real connection, through the same API;
   * {@link address} gives its URL for other tools. Given no option, the environment
   * variable `EFFECT_HTTP_TESTKIT_TRANSPORT` (`in-process` or `socket`) decides, so a whole
   * suite switches with it.
   */
  readonly transport?: "in-process" | "socket" | undefined
  /** With transport `"socket"`: the port to listen on; 0 (default) picks a free one. */
  readonly port?: number | undefined
}

/**
 * One request's options. At most one of `json`, `body`, `form` and `multipart`.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  /** Headers of this request (or a web `Headers`); `undefined` removes a default of that name. */
  readonly headers?: Readonly<Record<string, string | undefined>> | globalThis.Headers | undefined
  /** Query parameters appended to the URL's own (or `URLSearchParams`). */
  readonly params?:
    | Readonly<Record<string, string | number | boolean | ReadonlyArray<string | number | boolean>>>
    | URLSearchParams
    | undefined
  /** Cookies of this request, replacing the jar's of the same name. */
  readonly cookies?: Readonly<Record<string, string>> | undefined
  /** A JSON body (`content-type: application/json`). */
  readonly json?: unknown
  /**
   * A text (`text/plain;charset=UTF-8`) or binary body, or a Stream of bytes (sent chunked;
   * the kit reads it whole before sending, so the app sees the body once it is complete).
   */
  readonly body?: string | Uint8Array | Stream.Stream<Uint8Array, unknown> | undefined
  /**
   * A `multipart/form-data` body: FormData, or a record of field name to string or Blob (or
   * arrays of them), encoded as fetch encodes FormData.
   */
  readonly multipart?: FormData | Readonly<Record<string, string | Blob | ReadonlyArray<string | Blob>>> | undefined
  /** A urlencoded form body. */
  readonly form?: Readonly<Record<string, string>> | URLSearchParams | undefined
  readonly timeout?: string | number | undefined
  readonly followRedirects?: boolean | undefined
  readonly maxRedirects?: number | undefined
}

/**
 * A buffered response: the platform's `HttpClientResponse` (so `json`, `text`,
 * `HttpClientResponse.schemaBodyJson` work on it) with what a test also wants to see. Its
 * `headers` have lower-case names, repeated ones joined with `", "` (Set-Cookie lines are in
 * `setCookie`).
 *
 * @since 0.1.0
 * @category models
 */
export interface TestResponse extends HttpClientResponse.HttpClientResponse {
  /** The URL that answered (the last one, after redirects). */
  readonly url: string
  /** The body, decoded from its `content-encoding`. */
  readonly body: Uint8Array
  /** The `Set-Cookie` lines, in order. */
  readonly setCookie: ReadonlyArray<string>
  /** The redirect responses followed to get here, oldest first. */
  readonly history: ReadonlyArray<TestResponse>
  /**
   * The id of the request's server span (`""` when it was not traced): with `TestTracer`,
   * `TestTracer.getSpan(response.spanId)` and `findSpan(name, { rootId: response.spanId })`.
   */
  readonly spanId: string
}

/**
 * A streamed response, returned as soon as the handler has sent its headers: the platform's
 * `HttpClientResponse` whose `stream` is the body as the handler writes it, content-decoded.
 * The body can be read once: `text`, `json` and `arrayBuffer` read it to the end and share
 * that one read; reading it again (`stream` or `events` twice, `stream` after `text`) fails
 * with a `DecodeError` saying it was already read, never with an empty body. Its `headers`
 * have lower-case names, repeated ones joined with `", "` (Set-Cookie lines are in
 * `setCookie`).
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamResponse extends HttpClientResponse.HttpClientResponse {
  /** The URL requested (streams do not follow redirects). */
  readonly url: string
  /** The `Set-Cookie` lines, in order. */
  readonly setCookie: ReadonlyArray<string>
  /** The body parsed as Server-Sent Events: `stream.pipe(TestStream.sse)`. */
  readonly events: Stream.Stream<TestStream.SseEvent, HttpClientError.HttpClientError>
  /**
   * The id of the request's server span (`""` when it was not traced): with `TestTracer`,
   * `TestTracer.getSpan(response.spanId)` and `findSpan(name, { rootId: response.spanId })`.
   */
  readonly spanId: string
}

/**
 * One round trip with the app, as {@link exchanges} keeps it: the request as sent (with the
 * headers the kit added) and its response. A redirect followed is an exchange of its own.
 *
 * @since 0.1.0
 * @category models
 */
export interface Exchange {
  readonly request: HttpClientRequest.HttpClientRequest
  readonly response: TestResponse | StreamResponse | HttpClientResponse.HttpClientResponse
}

/**
 * Attributes of a cookie put into the jar by the test ({@link setCookie}).
 *
 * @since 0.1.0
 * @category models
 */
export interface CookieOptions {
  /** The URL the cookie is set from (default: the client's `baseUrl`); a relative one is joined to `baseUrl`. */
  readonly url?: string | undefined
  /** A host name such as `"example.com"` (no `;`, whitespace or control characters). */
  readonly domain?: string | undefined
  /** Default `/`. Must start with `/`; no `;` or control characters. */
  readonly path?: string | undefined
  /** A valid `Date`. */
  readonly expires?: Date | undefined
  /** A whole number of seconds as a Duration (`0` deletes the cookie). */
  readonly maxAge?: Duration.Input | undefined
  readonly secure?: boolean | undefined
  readonly httpOnly?: boolean | undefined
  /** The `SameSite` attribute. */
  readonly sameSite?: "lax" | "strict" | "none" | undefined
}

/**
 * A request the kit refuses to send, or a bad option: the message says what to fix.
 *
 * @since 0.1.0
 * @category errors
 */
export import InvalidRequest = errors.InvalidRequest
/**
 * The app failed (an unhandled failure or a defect): `cause` is the handler's `Cause`,
 * `status` what production sends.
 *
 * @since 0.1.0
 * @category errors
 */
export import ServerError = errors.ServerError
/**
 * No response within `timeout`, on the wall clock; the handler was interrupted as a client abort.
 *
 * @since 0.1.0
 * @category errors
 */
export import RequestTimeout = errors.RequestTimeout
/**
 * More redirects than `maxRedirects`.
 *
 * @since 0.1.0
 * @category errors
 */
export import TooManyRedirects = errors.TooManyRedirects

/**
 * A response the client cannot read: a body whose `content-encoding` is unknown or corrupt.
 *
 * @since 0.1.0
 * @category errors
 */
export import ResponseError = errors.ResponseError

/**
 * The app's background work did not end within `drainTimeout` (on the wall clock, also under
 * `TestClock`), in {@link drainTasks} or at scope close: `running` names each fiber still
 * running, the request that started it, its open span and the TestClock sleep it waits on.
 *
 * @since 0.1.0
 * @category errors
 */
export import DrainTimeout = tasks.DrainTimeout

/**
 * {@link drainTasks} was called from inside the app's own tracked work, where it would wait
 * for itself.
 *
 * @since 0.1.0
 * @category errors
 */
export import DrainDeadlock = tasks.DrainDeadlock

/**
 * The socket transport has no socket to offer: its server could not listen (a port in use:
 * every request fails with it, naming the port), or {@link address} was asked of an
 * in-process client, or of one whose options are invalid.
 *
 * @since 0.1.0
 * @category errors
 */
export import SocketUnavailable = errors.SocketUnavailable

/**
 * Every error a request can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type TestClientError =
  | InvalidRequest
  | ServerError
  | RequestTimeout
  | TooManyRedirects
  | ResponseError
  | SocketUnavailable

/**
 * The client service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly request: (
    method: string,
    url: string,
    options?: RequestOptions
  ) => Effect.Effect<TestResponse, TestClientError>
  /** The `Cookie` header the jar would send to `url` (default: the base URL). */
  readonly cookieHeader: (url?: string) => Effect.Effect<string, InvalidRequest>
  /** The recent exchanges, oldest first (see {@link exchanges}). */
  readonly exchanges: Effect.Effect<ReadonlyArray<Exchange>>
  /** The jar's cookies for the base URL (see {@link cookies}). */
  readonly cookies: Effect.Effect<Cookies.Cookies>
  /** Puts a cookie into the jar (see {@link setCookie}). */
  readonly setCookie: (name: string, value: string, options?: CookieOptions) => Effect.Effect<void, InvalidRequest>
  /** Removes every cookie, or those named `name` (see {@link clearCookies}). */
  readonly clearCookies: (name?: string) => Effect.Effect<void>
  /**
   * Opens a streamed exchange in the current scope. Succeeds once the headers are sent
   * (bounded by `timeout`); reading the body is bounded by the test (e.g. `Stream.timeout`).
   * Closing the scope ends the handler as a client abort.
   */
  readonly stream: (
    method: string,
    url: string,
    options?: RequestOptions
  ) => Effect.Effect<StreamResponse, TestClientError, Scope.Scope>
  /**
   * Waits until the app's background work has ended: every fiber its handlers forked
   * (however: `forkChild`, `forkDetach`, `forkIn`, `TaskQueue.fork`, and their forks) and
   * every task of the kit's `TaskQueue`. Bounded by `drainTimeout`.
   */
  readonly drainTasks: Effect.Effect<void, DrainTimeout | DrainDeadlock>
  /** Connects to the app's WebSocket handler (see {@link websocket}). */
  readonly websocket: (
    url: string,
    options?: TestWebSocket.WebSocketOptions
  ) => Effect.Effect<TestWebSocket.TestWebSocket, TestClientError | TestWebSocket.WebSocketRejected, Scope.Scope>
  /**
   * With transport `"socket"`: the URL the app is served at, e.g. `http://127.0.0.1:53117`
   * (see {@link address}).
   */
  readonly address: Effect.Effect<string, SocketUnavailable>
}

/**
 * The client, provided by {@link layer} and {@link layerServer}.
 *
 * @since 0.1.0
 * @category services
 */
export class TestClient extends Context.Service<TestClient, Service>()("@effect-http-testkit/effect4/TestClient") {}

/** The jar's cookies as platform Cookies. */
const cookiesOf = (list: ReadonlyArray<JarCookie>): Cookies.Cookies =>
  Cookies.fromIterable(
    list.flatMap((cookie) => {
      const made = Cookies.makeCookie(cookie.name, cookie.value, {
        ...(cookie.domain === undefined ? {} : { domain: cookie.domain }),
        ...(cookie.path === undefined ? {} : { path: cookie.path }),
        ...(cookie.expires === undefined ? {} : { expires: cookie.expires }),
        ...(cookie.maxAgeSeconds === undefined ? {} : { maxAge: Duration.seconds(cookie.maxAgeSeconds) }),
        ...(cookie.secure ? { secure: true } : {}),
        ...(cookie.httpOnly ? { httpOnly: true } : {}),
        ...(cookie.sameSite === undefined ? {} : { sameSite: cookie.sameSite })
      })
      return Result.isSuccess(made) ? [made.success] : []
    })
  )

/** The `Set-Cookie` line `setCookie` stores and the URL it is stored from, or what is wrong. */
const cookieToSet = (
  base: URL,
  name: unknown,
  value: unknown,
  rawOptions: unknown
): { readonly url: string; readonly header: string } | { readonly url: string; readonly problem: string } => {
  const options = (isOptionBag(rawOptions) ? rawOptions : {}) as CookieOptions
  let url = base.href
  if (options.url !== undefined) {
    if (typeof options.url !== "string") {
      return { url, problem: `url must be a string such as "/admin", got ${describe(options.url)}` }
    }
    try {
      const resolved = new URL(options.url, base)
      if (resolved.protocol !== "http:" && resolved.protocol !== "https:") {
        return {
          url,
          problem: `unsupported url scheme ${resolved.protocol} in ${describe(options.url)}: use http or https`
        }
      }
      url = resolved.href
    } catch {
      return {
        url,
        problem: `invalid url ${describe(options.url)}: give a path such as "/admin" or an absolute http(s) URL`
      }
    }
  }
  let seconds: number | { readonly problem: string } | undefined
  if (options.maxAge !== undefined) {
    const decoded =
      typeof options.maxAge === "number" && Number.isNaN(options.maxAge)
        ? Option.none()
        : Duration.fromInput(options.maxAge)
    seconds =
      Option.isNone(decoded) || Duration.toMillis(decoded.value) < 0
        ? {
            problem: `maxAge ${describe(options.maxAge)} is not a Duration: give a Duration such as "1 hour" (0 deletes)`
          }
        : maxAgeSeconds(Duration.toMillis(decoded.value), Duration.format(decoded.value))
  }
  return { url, ...cookieLine(name, value, rawOptions, seconds) }
}

const makeService = (options: Options | undefined) =>
  Effect.gen(function* () {
    // The background-work options are the tracker's; the rest are the client's to check.
    const background = tasks.splitOptions(options)
    // ... and so are the transport's.
    const transport = splitTransport(background.rest)
    const config = internal.makeConfig(transport.rest)
    // Every problem with the options, named at once.
    const problem =
      [typeof config === "string" ? config : undefined, background.problem, transport.problem]
        .filter((one) => one !== undefined)
        .join("; ") || undefined
    // Handlers still running when the app stops serving are waited for up to drainTimeout.
    const closeBound = () => Duration.toMillis(background.settings.drainTimeout)
    // The app's background work (its finalizer is added once the server exists, below); the
    // server describes a timed-out handler with it.
    const tracker = new tasks.Tracker(background.settings)
    // The socket transport listens before the app starts and stops listening last, after the
    // app's shutdown, as NodeHttpServer.layer's server outlives the app's layers: its
    // finalizer, registered first, runs last. With invalid options no socket is opened.
    const socket =
      transport.transport === "socket" && problem === undefined
        ? yield* Effect.uninterruptible(
            Effect.tap(socketServer.make(transport.port, closeBound, tracker.whereIs), (made) =>
              Effect.addFinalizer(() => made.stop)
            )
          )
        : undefined
    const listenFailure = socket?.server.listenFailure
    const inProcess: server.InProcessServer = socket?.server ?? (yield* server.makeWith(closeBound, tracker.whereIs))
    // Serving the app drains its background work when it stops serving; registered first,
    // this runs last: once the app has shut down, whatever is left of its work is interrupted.
    yield* Effect.addFinalizer(() => Effect.orDie(tracker.afterShutdown))
    const jar = new Jar()
    // The client option's cookies seed the jar, for the base URL's host on every path.
    if (typeof config !== "string" && config.cookies !== undefined) {
      for (const [name, value] of Object.entries(config.cookies)) {
        jar.set(`${name}=${encodeCookieValue(value)}; Path=/`, config.base.href)
      }
    }
    const invalid = (method: string, url: string, reason: string) =>
      Effect.fail(new errors.InvalidRequest({ method, url, reason }))
    // A socket that could not listen fails every exchange, naming the port.
    const refused = (
      method: string,
      url: string
    ): Effect.Effect<never, errors.InvalidRequest | errors.SocketUnavailable> =>
      listenFailure !== undefined ? Effect.fail(listenFailure) : invalid(method, url, problem ?? "")
    // With bad options every TestClient request fails; layerTest's HttpClient uses the defaults.
    const fallback = typeof config === "string" ? (internal.makeConfig(undefined) as internal.Config) : config
    // The exchange log and the failure report, with the span trees of the client's tracer.
    // A buffered response's request as sent is built when the log is read, not per request.
    const log = new Ring<{ request: Exchange["request"] | undefined; readonly response: Exchange["response"] }>(
      fallback.exchangeLimit
    )
    const tracer = yield* Effect.serviceOption(TestTracer.TestTracer)
    const reporter = new FailureReporter(
      fallback.report !== "never",
      (spanId) => (Option.isSome(tracer) ? Effect.runSync(tracer.value.render(spanId)) : "(no TestTracer)"),
      () => inProcess.inFlight()
    )
    yield* Effect.addFinalizer((exit) => Effect.sync(() => reporter.closed(exit._tag === "Failure")))
    const record = (response: TestResponse, method: string) => {
      log.push({ request: undefined, response })
      reporter.response(method, response.url, response.status, response.headers, response.spanId, response.body)
    }
    const failed =
      (method: string, url: string) =>
      (error: { readonly _tag: string; readonly message: string; readonly url?: string; readonly cause?: unknown }) =>
        Effect.sync(() =>
          reporter.failure(method, error.url ?? url, errors.spanIdOf(error), {
            _tag: error._tag,
            // A server error shows the app's own Cause.
            message: Cause.isCause(error.cause) ? `${error.message}\n${Cause.pretty(error.cause)}` : error.message
          })
        )
    const state = typeof config === "string" ? undefined : { config, server: inProcess, jar, record }
    const service: Service = {
      request: (method, url, requestOptions) => {
        const sent: Effect.Effect<TestResponse, TestClientError> =
          listenFailure !== undefined || problem !== undefined || state === undefined
            ? refused(method, url)
            : internal.request(state, method, url, requestOptions)
        return sent.pipe(Effect.tapError(failed(method, url)))
      },
      cookieHeader: (url) =>
        Effect.suspend(() => {
          if (typeof config === "string") return invalid("GET", String(url ?? ""), config)
          if (url !== undefined && typeof url !== "string") {
            return invalid("COOKIE-HEADER", String(url), `url must be a string such as "/admin", got ${describe(url)}`)
          }
          try {
            const target = resolveUrl(config.base, url ?? "/")
            if (target.protocol !== "http:" && target.protocol !== "https:") {
              return invalid(
                "COOKIE-HEADER",
                String(url),
                `unsupported url scheme ${target.protocol} in ${describe(url)}: use http or https`
              )
            }
            return Effect.succeed(jar.header(target.href))
          } catch {
            return invalid("GET", url ?? "", `the URL does not resolve against the base URL ${config.base.href}`)
          }
        }),
      exchanges: Effect.sync(() => {
        const list = log.list()
        for (const exchange of list) exchange.request ??= exchange.response.request
        return list as ReadonlyArray<Exchange>
      }),
      cookies: Effect.sync(() => cookiesOf(jar.cookies(fallback.base.href))),
      setCookie: (name, value, cookieOptions) =>
        Effect.suspend(() => {
          const base = fallback.base
          const set = cookieToSet(base, name, value, cookieOptions)
          if ("problem" in set) {
            return Effect.fail(new errors.InvalidRequest({ method: "SET-COOKIE", url: set.url, reason: set.problem }))
          }
          const refused = jar.set(set.header, set.url)
          return refused === undefined
            ? Effect.void
            : Effect.fail(
                new errors.InvalidRequest({
                  method: "SET-COOKIE",
                  url: set.url,
                  reason: `the jar refused cookie ${JSON.stringify(name)}: ${refused}`
                })
              )
        }),
      clearCookies: (name) => Effect.sync(() => jar.clear(name)),
      stream: (method, url, requestOptions) =>
        (listenFailure !== undefined || problem !== undefined || state === undefined
          ? refused(method, url)
          : Effect.tap(streamed.open(state, method, url, requestOptions), (response) =>
              Effect.sync(() => {
                log.push({ request: response.request, response })
                reporter.response(
                  response.request.method,
                  response.url,
                  response.status,
                  response.headers,
                  response.spanId,
                  "streamed"
                )
              })
            )
        ).pipe(Effect.tapError(failed(method, url))),
      drainTasks: tracker.drain,
      websocket: (url, wsOptions) =>
        (listenFailure !== undefined || problem !== undefined || state === undefined
          ? refused("GET", url)
          : Effect.tap(connect.openWebSocket(state, url, wsOptions), () =>
              Effect.sync(() => reporter.websocket(url, ""))
            )
        ).pipe(Effect.tapError(failed("GET", url))),
      address: Effect.suspend(() => {
        const address = socket?.server.address
        if (address !== undefined) return Effect.succeed(address)
        return Effect.fail(
          problem !== undefined
            ? new errors.SocketUnavailable({ reason: "InvalidOptions", target: "TestClient.address", cause: problem })
            : (listenFailure ?? new errors.SocketUnavailable({ reason: "InProcess", target: "TestClient.address" }))
        )
      })
    }
    socketClient.targets.set(service, typeof config === "string" ? { problem: config } : { config, server: inProcess })
    const base = fallback.base
    // Read at each request: a default bound fits the time the current test has left.
    const timeoutMillis = () => fallback.timeoutMillis
    // The platform HttpClient: a handler whose whole response it has is background work for drainTasks.
    // Each hop of the platform HttpClient is an exchange in the log and the report, a followed
    // redirect's included.
    const platform = httpClient.make(
      inProcess,
      base,
      timeoutMillis,
      (handler) => tracker.answered(handler),
      (request, response) => {
        log.push({ request, response })
        reporter.response(request.method, request.url, response.status, response.headers, "", "streamed")
      }
    )
    // A response body left unread disconnects its handler when the client's scope closes: with
    // layerTestWith, the app may be served in a scope that outlives the client's.
    yield* Effect.addFinalizer(() => Effect.sync(platform.disconnect))
    // The app is served with the tracker's hooks, and gets the kit's TaskQueue. When it stops
    // serving, once its background work is drained and before its handlers are interrupted,
    // unread bodies are disconnected, so their handlers end as a client abort, as a closed
    // connection ends them, not as a shutdown (what they forked is then interrupted with the
    // rest once the app has shut down).
    const disconnecting: HttpServer.HttpServer["Service"] = HttpServer.make({
      address: inProcess.service.address,
      serve: (httpEffect, middleware) =>
        Effect.andThen(
          middleware === undefined
            ? inProcess.service.serve(httpEffect)
            : inProcess.service.serve(httpEffect, middleware),
          Effect.addFinalizer(() => Effect.sync(platform.disconnect))
        )
    })
    const tracked = {
      server: tracker.server(disconnecting),
      boundShutdown: <A, E, R>(layer: Layer.Layer<A, E, R>) => tracker.boundShutdown(layer),
      taskQueue: yield* tracker.taskQueue,
      hooks: yield* tracker.hooks
    }
    // The platform HttpClient's exchanges go to the log and the report too.
    // Its failures go to the report too (its exchanges are recorded per hop, above).
    const client = (platform: HttpClient.HttpClient) =>
      HttpClient.tapError(platform, (error) =>
        Effect.sync(() => reporter.failure(error.request.method, error.request.url, "", error))
      )
    // A socket that could not listen fails every request of the platform client too.
    const platformClient = (): HttpClient.HttpClient =>
      client(
        listenFailure === undefined
          ? platform.client
          : HttpClient.make((request) =>
              Effect.fail(
                new HttpClientError.HttpClientError({
                  reason: new HttpClientError.TransportError({
                    request,
                    description: listenFailure.message,
                    cause: listenFailure
                  })
                })
              )
            ).pipe(HttpClient.mapRequest(HttpClientRequest.prependUrl(base.origin)))
      )
    return { service, tracked, platformClient }
  })

/**
 * What the kit provides to the app, as platform-node's `NodeHttpServer.layer` does: the
 * `HttpServer`, `HttpPlatform`, `Etag.Generator` and the Node services (`FileSystem`, `Path`,
 * ...), so a route reading a multipart body or serving a file needs nothing more.
 *
 * @since 0.1.0
 * @category models
 */
export type Provided = HttpServer.HttpServer | HttpPlatform.HttpPlatform | Etag.Generator | NodeServices.NodeServices

/** The recording tracer every TestClient layer brings (bad options fall back to the default: requests say why). */
const tracerLayer = (options: Options | undefined): Layer.Layer<TestTracer.TestTracer> => {
  const spanLimit = options?.spanLimit
  return typeof spanLimit === "number" && Number.isInteger(spanLimit) && spanLimit >= 1
    ? Layer.orDie(TestTracer.layerWith({ spanLimit }))
    : TestTracer.layer
}

/**
 * The platform services that hold no state, acquire nothing when built and read nothing from
 * the context they are built in: `HttpPlatform`, `Etag.Generator`, `ChildProcessSpawner`,
 * `Path` and `Stdio`. They are built once per process, as the Effect 3 edition builds them:
 * building them is about a tenth of what a fresh client costs, which every test pays. They are
 * built in an empty context, with a memo map of their own (left out of what is shared: each
 * client's layers are memoized by its own build), in a scope that is never closed (it holds no
 * finalizer), made on first use, not at import.
 */
const statelessLayer = Layer.mergeAll(
  NodeHttpPlatform.layer,
  Etag.layerWeak,
  NodeChildProcessSpawner.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(NodePath.layer, NodeStdio.layer)),
    Layer.provide(NodeFileSystem.layer)
  )
)
let builtStateless: Context.Context<Layer.Success<typeof statelessLayer>> | undefined
const statelessServices = Layer.effectContext(
  Effect.suspend(() =>
    builtStateless !== undefined
      ? Effect.succeed(builtStateless)
      : Layer.buildWithMemoMap(statelessLayer, Layer.makeMemoMapUnsafe(), Scope.makeUnsafe()).pipe(
          Effect.provideContext(Context.empty()),
          Effect.map((context) => {
            builtStateless = Context.omit(Layer.CurrentMemoMap)(context)
            return builtStateless
          })
        )
  )
)

/**
 * The platform services, as `NodeHttpServer.layerHttpServices` gives them: the stateless ones
 * shared by every client; the `FileSystem` (which takes a `FileSystem.WatchBackend` from the
 * context it is built in) and the `Terminal` (a stdin listener, removed when its scope closes)
 * built with each.
 */
const platformServices: Layer.Layer<HttpPlatform.HttpPlatform | Etag.Generator | NodeServices.NodeServices> =
  Layer.mergeAll(statelessServices, NodeFileSystem.layer, NodeTerminal.layer)

/**
 * Serves the app your production bootstrap layer serves (it calls `HttpServer.serve` or
 * `HttpRouter.serve`), in process: the kit provides the `HttpServer` it needs, the platform
 * services (see {@link Provided}) and a tracked `TaskQueue` (see {@link drainTasks}). Beside
 * the `TestClient`, the layer gives a platform `HttpClient` that reaches the app in process (as
 * `layerTest`'s does), so `HttpApiClient.make(Api)` and `RpcClient`'s HTTP protocol work with
 * relative URLs, and the `TestTracer` the app's server is built with.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer = <A, E, R>(
  bootstrap: Layer.Layer<A, E, R>,
  options?: Options
): Layer.Layer<A | TestClient | HttpClient.HttpClient | TestTracer.TestTracer, E, Exclude<R, Provided | TaskQueue>> =>
  Layer.unwrap(
    Effect.map(makeService(options), ({ service, tracked, platformClient }) =>
      Layer.succeedContext(
        Context.make(TestClient, service).pipe(Context.add(HttpClient.HttpClient, platformClient()))
      ).pipe(
        // Built with the tracker's hooks: a handler that restores its layer's context
        // (HttpApiBuilder's) keeps them, so what it forks is tracked by request.
        // Its shutdown is bounded by drainTimeout on the wall clock.
        Layer.merge(tracked.boundShutdown(bootstrap.pipe(Layer.provide(Layer.succeedContext(tracked.hooks))))),
        Layer.provide(
          Layer.mergeAll(
            Layer.succeed(HttpServer.HttpServer)(tracked.server),
            Layer.succeed(TaskQueue)(tracked.taskQueue),
            platformServices
          )
        )
      )
    )
  ).pipe(
    // The app's server is built with the recording tracer, and the test (and the report) read it.
    Layer.provideMerge(tracerLayer(options))
  ) as Layer.Layer<A | TestClient | HttpClient.HttpClient | TestTracer.TestTracer, E, Exclude<R, Provided | TaskQueue>>

/**
 * What {@link layerTest} provides: the in-process `HttpServer`, a platform `HttpClient` sending
 * to it, the platform services `NodeHttpServer.layerTest` provides, the `TestClient` and a
 * tracked `TaskQueue` for the app.
 *
 * @since 0.1.0
 * @category layers
 */
export type TestOutputs =
  | HttpServer.HttpServer
  | HttpClient.HttpClient
  | TestClient
  | TestTracer.TestTracer
  | FileSystem.FileSystem
  | Path.Path
  | HttpPlatform.HttpPlatform
  | Etag.Generator
  | TaskQueue

/**
 * A drop-in for `NodeHttpServer.layerTest`: the same services, with no socket. Tests that
 * `HttpServer.serve` their app and talk to it with `HttpClient` run unchanged, in process:
 * swap the identifier. `TestClient` and a tracked `TaskQueue` are provided beside them.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTestWith = (options?: Options): Layer.Layer<TestOutputs> =>
  Layer.effectContext(
    Effect.map(makeService(options), ({ service, tracked, platformClient }) =>
      Context.make(HttpServer.HttpServer, tracked.server).pipe(
        Context.add(TestClient, service),
        Context.add(TaskQueue, tracked.taskQueue),
        // The test builds its app itself: with the tracker's hooks, as layerServer builds it.
        Context.merge(tracked.hooks),
        Context.add(HttpClient.HttpClient, platformClient())
      )
    )
  ).pipe(
    Layer.provideMerge(platformServices),
    // The test serves its app itself: the recording tracer is the test's tracer.
    Layer.provideMerge(tracerLayer(options))
  ) as Layer.Layer<TestOutputs>

/**
 * {@link layerTestWith} with the default options.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest: Layer.Layer<TestOutputs> = layerTestWith()

/**
 * Serves an `HttpRouter` app layer (routes added with `HttpRouter.add`, `HttpApiBuilder`
 * groups, ...) in process, as `HttpRouter.serve` serves it in production, its request logger
 * off.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <A, E, R>(appLayer: Layer.Layer<A, E, R>, options?: Options) =>
  layerServer(HttpRouter.serve(appLayer, { disableListenLog: true, disableLogger: true }), options)

/**
 * `Socket.WebSocketConstructor` connecting in process, so `Socket.makeWebSocket` (and what runs
 * on it, such as `RpcClient.layerProtocolSocket`) reaches the app's WebSocket handler with no
 * socket. Any `ws:`/`wss:`/`http:`/`https:` URL reaches the app; a relative one resolves against
 * `baseUrl`. The handshake has the headers a `ws` client sends (with those given to
 * `Socket.makeWebSocket`; no cookies, no `sec-websocket-extensions`). A refused or failed one
 * fails the socket with `SocketOpenError`, whose `cause.error` is the kit's error
 * (`WebSocketRejected`, `InvalidRequest`, `RequestTimeout`). Needs a `TestClient` layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWebSocketConstructor: Layer.Layer<Socket.WebSocketConstructor, never, TestClient> = Layer.effect(
  Socket.WebSocketConstructor
)(
  Effect.map(Effect.service(TestClient), (service) =>
    socketClient.makeConstructor(
      socketClient.targets.get(service) ?? {
        problem:
          "this TestClient was not built by a TestClient layer: provide TestClient.layer, layerServer or layerTest"
      }
    )
  )
)

/**
 * A drop-in for `NodeSocket.layerWebSocket`: a `Socket.Socket` connected to the app's
 * WebSocket handler in process, with the same arguments (`Socket.makeWebSocket`'s). Needs a
 * `TestClient` layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWebSocket = (
  url: string | Effect.Effect<string>,
  options?: Parameters<typeof Socket.makeWebSocket>[1]
): Layer.Layer<Socket.Socket, never, TestClient> =>
  Layer.effect(Socket.Socket)(Socket.makeWebSocket(url, options)).pipe(Layer.provide(layerWebSocketConstructor))

/**
 * Sends a request.
 *
 * @since 0.1.0
 * @category requests
 */
export const request = (
  method: string,
  url: string,
  options?: RequestOptions
): Effect.Effect<TestResponse, TestClientError, TestClient> =>
  Effect.flatMap(Effect.service(TestClient), (client) => client.request(method, url, options))

/** @since 0.1.0 @category requests */
export const get = (url: string, options?: RequestOptions) => request("GET", url, options)
/** @since 0.1.0 @category requests */
export const head = (url: string, options?: RequestOptions) => request("HEAD", url, options)
/** @since 0.1.0 @category requests */
export const post = (url: string, options?: RequestOptions) => request("POST", url, options)
/** @since 0.1.0 @category requests */
export const put = (url: string, options?: RequestOptions) => request("PUT", url, options)
/** @since 0.1.0 @category requests */
export const patch = (url: string, options?: RequestOptions) => request("PATCH", url, options)
/** @since 0.1.0 @category requests */
export const del = (url: string, options?: RequestOptions) => request("DELETE", url, options)

/**
 * The `Cookie` header the jar would send to `url` (default: the base URL).
 *
 * @since 0.1.0
 * @category cookies
 */
export const cookieHeader = (url?: string): Effect.Effect<string, InvalidRequest, TestClient> =>
  Effect.flatMap(Effect.service(TestClient), (client) => client.cookieHeader(url))

/**
 * Sends a request and returns as soon as the handler has sent its headers, with the body as
 * an Effect Stream read as the handler writes it (the handler waits while the test has not
 * read what it wrote). As on Node, a streamed body's headers go with its first chunk, so the
 * wait for the headers, bounded by `timeout`, is the wait for the first byte. Closing the
 * scope, or a body stream that stops being read, ends the handler as a client abort. The
 * request's options are those of {@link request}; redirects are not followed; Set-Cookie
 * lines land in the jar.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { TestClient } from "@effect-http-testkit/effect4"
 * import { Effect, Stream } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 *
 * const Ticks = HttpRouter.add(
 *   "GET",
 *   "/ticks",
 *   HttpServerResponse.stream(
 *     Stream.iterate(0, (n) => n + 1).pipe(Stream.map((n) => `data: ${n}\n\n`), Stream.encodeText),
 *     { contentType: "text/event-stream" }
 *   )
 * )
 *
 * it.effect("the first three ticks of an endless feed", () =>
 *   Effect.gen(function* () {
 *     const r = yield* TestClient.stream("GET", "/ticks")
 *     const events = yield* r.events.pipe(Stream.take(3), Stream.runCollect)
 *     expect(events.map((event) => event.data)).toEqual(["0", "1", "2"])
 *   }).pipe(Effect.provide(TestClient.layer(Ticks)))
 * )
 * ```
 *
 * @since 0.1.0
 * @category streaming
 */
export const stream = (
  method: string,
  url: string,
  options?: RequestOptions
): Effect.Effect<StreamResponse, TestClientError, TestClient | Scope.Scope> =>
  Effect.flatMap(Effect.service(TestClient), (client) => client.stream(method, url, options))

/**
 * Waits until the app's background work has ended: every fiber its handlers forked (however:
 * `forkChild`, `forkDetach`, `forkIn`, `TaskQueue.fork`, and their forks), and every task of
 * the kit's `TaskQueue`, including work that work forks. A request whose handler is still
 * running (a streamed body the test is reading) is not background work yet. Event-driven,
 * bounded by the client's `drainTimeout` on the wall clock (then {@link DrainTimeout} names
 * what still runs, by request); from inside the app's own work it fails at once with
 * {@link DrainDeadlock}.
 *
 * @since 0.1.0
 * @category background work
 */
export const drainTasks: Effect.Effect<void, DrainTimeout | DrainDeadlock, TestClient> = Effect.flatMap(
  Effect.service(TestClient),
  (client) => client.drainTasks
)

/**
 * Connects to the app's WebSocket handler in process: the handshake (with the jar's cookies,
 * the `upgrade`/`sec-websocket-*` headers and the offered `protocols`) runs through the app,
 * whose `request.upgrade` gets an in-memory socket, answered when the app runs it. Succeeds
 * once the app has upgraded; a plain HTTP answer fails with `WebSocketRejected`, no answer
 * within the `timeout` with `RequestTimeout`. Leaving the scope closes the connection (1006
 * for the app if it was still open), interrupts the handler as a client abort and waits for
 * it, at most the `timeout`.
 *
 * @example
 * ```ts
 * const ws = yield* TestClient.websocket("/chat", { protocols: ["chat.v1"] })
 * yield* ws.send("hello")
 * expect(yield* ws.receiveText).toBe("echo: hello")
 * ```
 *
 * @since 0.1.0
 * @category websockets
 */
export const websocket = (
  url: string,
  options?: TestWebSocket.WebSocketOptions
): Effect.Effect<
  TestWebSocket.TestWebSocket,
  TestClientError | TestWebSocket.WebSocketRejected,
  TestClient | Scope.Scope
> => Effect.flatMap(Effect.service(TestClient), (client) => client.websocket(url, options))

/**
 * The recent exchanges of every client of the app (the kit's own requests, streams, and the
 * platform `HttpClient` the layers give), oldest first: each the request as sent and its
 * response, a redirect followed being an exchange of its own. Keeps the newest
 * `exchangeLimit` (default 100).
 *
 * @since 0.1.0
 * @category inspection
 */
export const exchanges: Effect.Effect<ReadonlyArray<Exchange>, never, TestClient> = Effect.flatMap(
  Effect.service(TestClient),
  (client) => client.exchanges
)

/**
 * The jar's cookies for the base URL, as platform `Cookies` (with their attributes).
 *
 * @since 0.1.0
 * @category cookies
 */
export const cookies: Effect.Effect<Cookies.Cookies, never, TestClient> = Effect.flatMap(
  Effect.service(TestClient),
  (client) => client.cookies
)

/**
 * Puts a cookie into the jar as if the app had set it (from `options.url`, default the base
 * URL). Every attribute is checked: bad input fails with `InvalidRequest` saying what to fix.
 *
 * @since 0.1.0
 * @category cookies
 */
export const setCookie = (
  name: string,
  value: string,
  options?: CookieOptions
): Effect.Effect<void, InvalidRequest, TestClient> =>
  Effect.flatMap(Effect.service(TestClient), (client) => client.setCookie(name, value, options))

/**
 * Removes every cookie from the jar, or only those named `name`.
 *
 * @since 0.1.0
 * @category cookies
 */
export const clearCookies = (name?: string): Effect.Effect<void, never, TestClient> =>
  Effect.flatMap(Effect.service(TestClient), (client) => client.clearCookies(name))

/**
 * With transport `"socket"`: the URL the app is served at, e.g. `http://127.0.0.1:53117`, to
 * hand to another tool (plain `fetch`, a `ws` client, a browser, another process). An
 * in-process client has none and fails with {@link SocketUnavailable}, as does a socket
 * client whose server could not listen (naming the port) or whose options are invalid.
 *
 * @example
 * ```ts
 * const address = yield* TestClient.address
 * const text = yield* Effect.promise(() => fetch(`${address}/ping`).then((r) => r.text()))
 * ```
 *
 * @since 0.1.0
 * @category inspection
 */
export const address: Effect.Effect<string, SocketUnavailable, TestClient> = Effect.flatMap(
  Effect.service(TestClient),
  (client) => client.address
)
