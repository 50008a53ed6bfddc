/**
 * `TestClient`: send requests to an Effect HTTP app in process, with no socket, and
 * assert on what comes back.
 *
 * @since 0.1.0
 */
import type * as Cookies from "@effect/platform/Cookies"
import type * as Headers from "@effect/platform/Headers"
import type * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as Socket from "@effect/platform/Socket"
import type * as UrlParams from "@effect/platform/UrlParams"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/client.js"
import type { TestClientError } from "./internal/errors.js"
import * as errors from "./internal/errors.js"
import * as TestLayer from "./Layer.js"
import type * as TestStream from "./Stream.js"
import type * as TestWebSocket from "./WebSocket.js"

// ---------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------

/**
 * Client-wide settings, given to {@link layer} or {@link layerServer}.
 *
 * Every option is checked for its type and range, never coerced: a bad one (an unknown name,
 * a `timeout` of `NaN`, `-1`, `"-5 seconds"` or `0`, `serverErrors: "Fail"`, a header value
 * with CR/LF, ...) does not fail the layer, but every request then fails with
 * {@link InvalidRequest} naming each bad option. Durations (`timeout`, `drainTimeout`) must
 * be positive; `Duration.infinity` (or `Infinity` millis) means no bound. A `0` bound is
 * refused: it would fail every exchange before the app could answer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Origin (and optional path prefix) of every relative request URL: an absolute http(s) URL
   * with no query, fragment or credentials. Default `"http://testserver"`.
   */
  readonly baseUrl?: string | undefined
  /**
   * Headers sent with every request; a request's own headers of the same name replace them.
   * Whitespace around a value is trimmed, as Node's parser trims it before the app sees it.
   */
  readonly headers?: HeadersInput | undefined
  /** Cookies sent with every request. */
  readonly cookies?: Readonly<Record<string, string>> | undefined
  /**
   * Bound on each exchange, measured on the wall clock (it fires under `TestClock`): a
   * positive Duration, or `Duration.infinity` for none. Default 30 seconds.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * What an unhandled failure or defect in the app does to the request: `"fail"` (default)
   * fails it with {@link ServerError} holding the app's `Cause`; `"respond"` returns the
   * response production would send (usually a 500).
   */
  readonly serverErrors?: "fail" | "respond" | undefined
  /**
   * Bound on waiting for a handler to stop after it was disconnected, and on draining
   * background work: a positive Duration, or `Duration.infinity`. Default 5 seconds.
   */
  readonly drainTimeout?: Duration.DurationInput | undefined
  /**
   * The client address the app sees in `request.remoteAddress`: an IPv4 or IPv6 address, as
   * Node reports a socket's peer. Default `"127.0.0.1"`.
   */
  readonly remoteAddress?: string | undefined
  /** Follow 301/302/303/307/308 responses. Default `true`. */
  readonly followRedirects?: boolean | undefined
  /**
   * How many redirects one request may follow before failing with {@link TooManyRedirects}: a
   * whole number >= 0. Default 20.
   */
  readonly maxRedirects?: number | undefined
  /**
   * The `accept-encoding` sent with every request; `""` sends none. Default
   * `"gzip, deflate, br, zstd"`. Encoded bodies are decoded whatever this says.
   */
  readonly acceptEncoding?: string | undefined
  /** How many recent round trips {@link exchanges} keeps. Default 100; 0 keeps none. */
  readonly exchangeLimit?: number | undefined
  /**
   * How many spans the client's `TestTracer` keeps. Default 10,000; past it the oldest
   * finished spans are dropped (a long-lived client stays bounded: about 5 MiB for 10,000
   * request spans). Raise it for a test that looks up spans of many earlier requests.
   */
  readonly spanLimit?: number | undefined
  /**
   * `"onFailure"` (default): when the scope that owns the client closes with a failure,
   * print the last exchanges and their span trees to stderr. `"never"`: stay quiet.
   */
  readonly report?: "onFailure" | "never" | undefined
  /**
   * What happens, when the client's scope closes, to background work still running (fibers
   * the app's handlers forked): `"drain"` (default) waits up to `drainTimeout`, then
   * interrupts what is left and fails the test with {@link DrainTimeout} naming it;
   * `"interrupt"` interrupts it at once without failing, as a production shutdown does.
   */
  readonly backgroundWork?: "drain" | "interrupt" | undefined
  /**
   * How requests reach the app. `"in-process"` (default): in memory, no socket. `"socket"`:
   * the app is served on `NodeHttpServer` at 127.0.0.1 and every request, stream and
   * WebSocket travels over a real connection, through the same API; `TestClient.address`
   * gives its URL for other tools. Given no option, the environment variable
   * `EFFECT_HTTP_TESTKIT_TRANSPORT` (`in-process` or `socket`) decides, so a whole suite
   * switches with it.
   */
  readonly transport?: "in-process" | "socket" | undefined
  /** With transport `"socket"`: the port to listen on; 0 (default) picks a free one. */
  readonly port?: number | undefined
}

/**
 * Request headers: a record (an array value sends the header once per element), platform
 * `Headers`, or a WHATWG `Headers`.
 *
 * @since 0.1.0
 * @category models
 */
export type HeadersInput =
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  | Headers.Headers
  | globalThis.Headers

/**
 * Per-request settings. At most one of `json`, `form`, `multipart` and `body` may be given.
 * They are checked as the client options are: an unknown name, a value of the wrong type, a
 * `timeout` that is not a positive Duration, a `params`/`form` value the platform would send
 * as `"NaN"`, `"null"` or `"[object Object]"` fails the request with {@link InvalidRequest}.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestOptions {
  /** Query parameters, appended after any query already in the URL. Arrays repeat the key. */
  readonly params?: UrlParams.Input | undefined
  readonly headers?: HeadersInput | undefined
  /** Cookies for this request only; they replace client cookies of the same name. */
  readonly cookies?: Readonly<Record<string, string>> | undefined
  /** A value sent as JSON (`content-type: application/json`). */
  readonly json?: unknown
  /** Fields sent as `application/x-www-form-urlencoded`. */
  readonly form?: UrlParams.Input | undefined
  /** Fields and files sent as `multipart/form-data`. */
  readonly multipart?: FormData | Readonly<Record<string, string | Blob | ReadonlyArray<string | Blob>>> | undefined
  /**
   * A raw body. A string is sent as `text/plain;charset=UTF-8`; a Stream is sent chunked, as
   * it is pulled (a chunk that is not a `Uint8Array` fails the request with `InvalidRequest`).
   */
  readonly body?: string | Uint8Array | Stream.Stream<Uint8Array, unknown> | undefined
  /** Overrides the client's `timeout` for each round trip of this request. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Overrides the client's `followRedirects` for this request. */
  readonly followRedirects?: boolean | undefined
  /** Overrides the client's `maxRedirects` for this request. */
  readonly maxRedirects?: number | undefined
}

/**
 * One round trip: the request as sent (with the `host` and `cookie` headers of that hop)
 * and the response received — a buffered {@link TestResponse} from the kit's own requests,
 * a {@link StreamResponse} from the platform `HttpClient` the layers provide (its body is the
 * caller's to read; tell them apart with `"body" in response`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Exchange {
  readonly request: HttpClientRequest.HttpClientRequest
  readonly response: TestResponse | StreamResponse
}

/**
 * Attributes of a cookie put into the jar by the test.
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
  /** A finite, non-negative whole number of seconds (`0` deletes the cookie). */
  readonly maxAge?: Duration.DurationInput | undefined
  readonly secure?: boolean | undefined
  readonly httpOnly?: boolean | undefined
  /** The `SameSite` attribute. */
  readonly sameSite?: "lax" | "strict" | "none" | undefined
}

/**
 * A buffered response: an `HttpClientResponse` (so `HttpClientResponse.schemaBodyJson`,
 * `matchStatus`, `filterStatusOk`, `r.text`, `r.json` work) with its body already read.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestResponse extends HttpClientResponse.HttpClientResponse {
  /** The URL that produced this response. */
  readonly url: string
  /** The whole body. */
  readonly body: Uint8Array
  /** Earlier hops of a followed redirect, oldest first (empty when there was none). */
  readonly history: ReadonlyArray<TestResponse>
  /** Every `Set-Cookie` header, in order. */
  readonly setCookie: ReadonlyArray<string>
  /** The id of the request's root `http.server` span (`""` if the app disabled tracing for it). */
  readonly spanId: string
}

/**
 * A streamed response: returned as soon as the handler has sent its headers. `stream` is the
 * body as the handler produces it, content-decoded, and can be read once; `text`, `json` and
 * `arrayBuffer` read it to the end and share that one read. Reading it again (`stream` or
 * `events` twice, `stream` after `text`, `text` after `stream`) fails with a `ResponseError`
 * (reason `"Decode"`) saying the body was already read, never with an empty body. Closing the
 * scope it was opened in disconnects the handler (a client abort) and waits for it.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamResponse extends HttpClientResponse.HttpClientResponse {
  /** The URL requested (streams do not follow redirects). */
  readonly url: string
  /** Every `Set-Cookie` header, in order. */
  readonly setCookie: ReadonlyArray<string>
  /** The id of the request's root `http.server` span (`""` if the app disabled tracing for it). */
  readonly spanId: string
  /** The body parsed as Server-Sent Events: `stream.pipe(TestStream.sse)`. */
  readonly events: Stream.Stream<TestStream.SseEvent, HttpClientError.ResponseError>
}

/**
 * The `TestClient` service.
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
  readonly get: (url: string, options?: RequestOptions) => Effect.Effect<TestResponse, TestClientError>
  readonly head: (url: string, options?: RequestOptions) => Effect.Effect<TestResponse, TestClientError>
  readonly post: (url: string, options?: RequestOptions) => Effect.Effect<TestResponse, TestClientError>
  readonly put: (url: string, options?: RequestOptions) => Effect.Effect<TestResponse, TestClientError>
  readonly patch: (url: string, options?: RequestOptions) => Effect.Effect<TestResponse, TestClientError>
  readonly del: (url: string, options?: RequestOptions) => Effect.Effect<TestResponse, TestClientError>
  readonly options: (url: string, options?: RequestOptions) => Effect.Effect<TestResponse, TestClientError>
  /**
   * Opens a streamed exchange in the current scope. Succeeds once the headers are sent
   * (bounded by `timeout`); reading the body is bounded by the test (e.g. `Stream.timeout`).
   */
  readonly stream: (
    method: string,
    url: string,
    options?: RequestOptions
  ) => Effect.Effect<StreamResponse, TestClientError, Scope.Scope>
  /**
   * Connects to the app's WebSocket handler (`HttpServerRequest.upgrade`) in the current
   * scope; closing the scope closes the connection and waits for the handler.
   */
  readonly websocket: (
    url: string,
    options?: TestWebSocket.WebSocketOptions
  ) => Effect.Effect<TestWebSocket.TestWebSocket, TestClientError | TestWebSocket.WebSocketRejected, Scope.Scope>
  /** Recent round trips, every redirect hop included, oldest first. */
  readonly exchanges: Effect.Effect<ReadonlyArray<Exchange>>
  /** The jar's cookies for the `baseUrl` host, on any path. */
  readonly cookies: Effect.Effect<Cookies.Cookies>
  /**
   * The exact `Cookie` header the jar would send to `url` (default: `baseUrl`; a relative one
   * is joined to it). A `url` that is not a string or not http(s) fails with `InvalidRequest`.
   */
  readonly cookieHeader: (url?: string) => Effect.Effect<string, InvalidRequest>
  /**
   * Puts a cookie into the jar, as if the app at `options.url` (default `baseUrl`) had set it.
   * Every input is checked (a token name; a value, path and domain with no `;` where it would
   * start an attribute and no control characters; a valid `expires`; a whole, finite,
   * non-negative `maxAge`): a bad one fails with `InvalidRequest`, and the jar is unchanged.
   */
  readonly setCookie: (name: string, value: string, options?: CookieOptions) => Effect.Effect<void, InvalidRequest>
  /** Removes every cookie from the jar, or only those named `name`. */
  readonly clearCookies: (name?: string) => Effect.Effect<void>
  /**
   * Waits until the app's background work is done: every fiber its handlers forked (and
   * their forks) has ended, and no span of theirs is open. Bounded by `drainTimeout`.
   */
  readonly drainTasks: Effect.Effect<void, DrainTimeout | DrainDeadlock>
  /**
   * With transport `"socket"`: the URL the app is served at, e.g. `http://127.0.0.1:53117`,
   * for another tool (`fetch`, a `ws` client, a browser). An in-process client has none and
   * fails with `SocketUnavailable`.
   */
  readonly address: Effect.Effect<string, SocketUnavailable>
}

/**
 * The service tag. Provide it with {@link layer} or {@link layerServer}.
 *
 * @since 0.1.0
 * @category tags
 */
export import TestClient = internal.TestClient

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

/**
 * The request could not be sent as given (two bodies, a bad header, URL, cookie or body
 * value). The message says what to fix.
 *
 * @since 0.1.0
 * @category errors
 */
export import InvalidRequest = errors.InvalidRequest

/**
 * The client cannot reach an app: its scope has closed, or the bootstrap layer never
 * called `HttpServer.serve`.
 *
 * @since 0.1.0
 * @category errors
 */
export import ClientClosed = errors.ClientClosed

/**
 * The app failed or died while handling the request and nothing turned that into a
 * response (with `serverErrors: "fail"`). `cause` is the app's full `Cause`.
 *
 * @since 0.1.0
 * @category errors
 */
export import ServerError = errors.ServerError

/**
 * No complete response within the `timeout`; the handler was interrupted as a client abort.
 *
 * @since 0.1.0
 * @category errors
 */
export import RequestTimeout = errors.RequestTimeout

/**
 * The app's server closed the connection without answering, as platform-node does when a
 * request body exceeds `MaxBodySize`: a real client sees a socket reset there, not a response.
 *
 * @since 0.1.0
 * @category errors
 */
export import ConnectionReset = errors.ConnectionReset

/**
 * Something the client started did not stop within `drainTimeout`: a disconnected handler
 * that ignores interruption. `running` names each one.
 *
 * @since 0.1.0
 * @category errors
 */
export import DrainTimeout = errors.DrainTimeout

/**
 * `drainTasks` was called from inside the app's own tracked work, where it would wait for
 * itself.
 *
 * @since 0.1.0
 * @category errors
 */
export import DrainDeadlock = errors.DrainDeadlock

/**
 * The socket transport has no socket to offer: its server could not listen (a port in
 * use), or `TestClient.address` was asked of an in-process client.
 *
 * @since 0.2.0
 * @category errors
 */
export import SocketUnavailable = errors.SocketUnavailable

/**
 * A request followed more than `maxRedirects` redirects. `history` holds every response,
 * oldest first.
 *
 * @since 0.1.0
 * @category errors
 */
export import TooManyRedirects = errors.TooManyRedirects

/**
 * Everything a request can fail with. A body whose `content-encoding` is unknown or corrupt
 * fails with platform's `ResponseError` (reason `"Decode"`), naming the encoding.
 *
 * @since 0.1.0
 * @category errors
 */
export type { TestClientError }

// ---------------------------------------------------------------------------
// layers
// ---------------------------------------------------------------------------

/**
 * A `TestClient` for an `HttpApp` (an `HttpRouter` is one). The app runs exactly as
 * `HttpServer.serve(app)` runs it in production, minus the socket.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServerResponse } from "@effect/platform"
 * import { TestClient } from "effect-http-testkit"
 *
 * const app = HttpRouter.empty.pipe(HttpRouter.get("/ping", HttpServerResponse.text("pong")))
 * const TestApp = TestClient.layer(app)
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: <E, R>(
  app: HttpApp.Default<E, R>,
  options?: Options
) => Layer.Layer<TestLayer.Outputs, never, TestLayer.AppRequirements<R>> = TestLayer.layer

/**
 * A `TestClient` for the app's production entry layer (`HttpServer.serve(router)`,
 * `HttpApiBuilder.serve()`, ... with the app's own layers provided), minus the platform
 * server layer. The testkit supplies an in-process `HttpServer` and the Node platform
 * services; startup runs when the layer is built, shutdown when its scope closes.
 * The bootstrap's own outputs are kept, so tests can reach the app's services.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer: <A, E, R>(
  bootstrap: Layer.Layer<A, E, R>,
  options?: Options
) => Layer.Layer<TestLayer.Outputs | A, E, TestLayer.ServerRequirements<R>> = TestLayer.layerServer

/**
 * A drop-in for `NodeHttpServer.layerTest`: the same outputs — an `HttpServer` (in process,
 * no socket; serve the app later, from the test body or a layer), a platform `HttpClient`
 * pointed at it, `HttpPlatform`, `Etag.Generator` and `NodeContext` — plus `TestClient` and
 * `TestTracer`. Swapping the identifier is the whole migration.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
 * import { Effect } from "effect"
 * import { TestClient } from "effect-http-testkit"
 *
 * const test = Effect.gen(function* () {
 *   yield* HttpServer.serveEffect(HttpServerResponse.text("hello"))
 *   const client = yield* HttpClient.HttpClient
 *   const response = yield* client.get("/")
 *   return yield* response.text // "hello"
 * }).pipe(Effect.scoped, Effect.provide(TestClient.layerTest))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerTest: Layer.Layer<TestLayer.Outputs | TestLayer.Provided> = TestLayer.layerTest

/**
 * {@link layerTest} with client options (`baseUrl`, `timeout`, `serverErrors`, ...).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerTestWith: (options?: Options) => Layer.Layer<TestLayer.Outputs | TestLayer.Provided> =
  TestLayer.layerTestWith

/**
 * A drop-in for `NodeSocket.layerWebSocket`: a platform `Socket` connected to the app's
 * WebSocket handler in process (any `ws:`/`http:` URL reaches it; a relative one resolves
 * against `baseUrl`). Needs a `TestClient` layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWebSocket: (
  url: string,
  options?: { readonly closeCodeIsError?: ((code: number) => boolean) | undefined }
) => Layer.Layer<Socket.Socket, never, TestClient> = TestLayer.layerWebSocket

/**
 * `Socket.WebSocketConstructor` connecting in process, so `Socket.makeWebSocket` and
 * `RpcClient.layerProtocolSocket` reach the app with no socket. Needs a `TestClient` layer.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWebSocketConstructor: Layer.Layer<Socket.WebSocketConstructor, never, TestClient> =
  TestLayer.layerWebSocketConstructor

// ---------------------------------------------------------------------------
// accessors
// ---------------------------------------------------------------------------

/**
 * Sends a request and reads the whole response.
 *
 * @since 0.1.0
 * @category accessors
 */
export const request = (
  method: string,
  url: string,
  options?: RequestOptions
): Effect.Effect<TestResponse, TestClientError, TestClient> =>
  Effect.flatMap(TestClient, (client) => client.request(method, url, options))

const accessor =
  (method: string) =>
  (url: string, options?: RequestOptions): Effect.Effect<TestResponse, TestClientError, TestClient> =>
    Effect.flatMap(TestClient, (client) => client.request(method, url, options))

/** @since 0.1.0 @category accessors */
export const get = accessor("GET")
/** @since 0.1.0 @category accessors */
export const head = accessor("HEAD")
/** @since 0.1.0 @category accessors */
export const post = accessor("POST")
/** @since 0.1.0 @category accessors */
export const put = accessor("PUT")
/** @since 0.1.0 @category accessors */
export const patch = accessor("PATCH")
/** @since 0.1.0 @category accessors */
export const del = accessor("DELETE")
/** @since 0.1.0 @category accessors */
export const options = accessor("OPTIONS")

/**
 * Sends a request and returns as soon as the handler has sent its headers, with the body as
 * an Effect Stream. Leaving the scope disconnects the handler as a client abort and waits for
 * it; a body read to its end needs no disconnect. Redirects are not followed.
 *
 * @example
 * ```ts
 * declare const TestApp: Layer.Layer<TestLayer.Outputs>
 *
 * it.scoped("feed", () =>
 *   Effect.gen(function* () {
 *     const r = yield* TestClient.stream("GET", "/feed")
 *     const events = yield* r.events.pipe(Stream.take(3), Stream.runCollect)
 *   }).pipe(Effect.provide(TestApp)))
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
  Effect.flatMap(TestClient, (client) => client.stream(method, url, options))

/**
 * Connects to the app's WebSocket handler in process: the handshake (with the jar's cookies,
 * `upgrade`/`sec-websocket-*` headers and offered `protocols`) runs through the app, whose
 * `request.upgrade` gets an in-memory socket. Succeeds once the app has upgraded; a plain
 * HTTP answer fails with `WebSocketRejected`. Leaving the scope closes the connection (1006
 * for the app if it was still open), interrupts the handler as a client abort and waits.
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
> => Effect.flatMap(TestClient, (client) => client.websocket(url, options))

/**
 * Waits until the app's background work — every fiber its handlers forked (`forkDaemon`,
 * `forkIn`, `TaskQueue.fork`, and their forks) — has ended and none of its spans is open.
 * Event-driven, bounded by the client's `drainTimeout` (then `DrainTimeout` lists what
 * still runs); from inside the app's own work it fails at once with `DrainDeadlock`.
 *
 * @since 0.1.0
 * @category background work
 */
export const drainTasks: Effect.Effect<void, DrainTimeout | DrainDeadlock, TestClient> = Effect.flatMap(
  TestClient,
  (client) => client.drainTasks
)

/**
 * Recent round trips (every redirect hop), oldest first, bounded by the `exchangeLimit` option.
 *
 * @since 0.1.0
 * @category accessors
 */
export const exchanges: Effect.Effect<ReadonlyArray<Exchange>, never, TestClient> = Effect.flatMap(
  TestClient,
  (client) => client.exchanges
)

/**
 * The URL the app is served at with transport `"socket"` (e.g. `http://127.0.0.1:53117`),
 * to hand to another tool; an in-process client fails with `SocketUnavailable`.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServerResponse } from "@effect/platform"
 * import { it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { TestClient } from "effect-http-testkit"
 *
 * const app = HttpRouter.empty.pipe(HttpRouter.get("/ping", HttpServerResponse.text("pong")))
 *
 * it.layer(TestClient.layer(app, { transport: "socket" }))((it) => {
 *   it.effect("plain fetch reaches the same app", () =>
 *     Effect.gen(function* () {
 *       const address = yield* TestClient.address
 *       const text = yield* Effect.promise(() => fetch(`${address}/ping`).then((r) => r.text()))
 *       // text === "pong"
 *     })
 *   )
 * })
 * ```
 *
 * @since 0.2.0
 * @category accessors
 */
export const address: Effect.Effect<string, SocketUnavailable, TestClient> = Effect.flatMap(
  TestClient,
  (client) => client.address
)

/**
 * The jar's cookies for the `baseUrl` host (any path), as platform `Cookies`.
 *
 * @since 0.1.0
 * @category cookies
 */
export const cookies: Effect.Effect<Cookies.Cookies, never, TestClient> = Effect.flatMap(
  TestClient,
  (client) => client.cookies
)

/**
 * The `Cookie` header the jar would send to `url` (default: `baseUrl`); `InvalidRequest` for
 * a `url` that is not an http(s) URL or path.
 *
 * @since 0.1.0
 * @category cookies
 */
export const cookieHeader = (url?: string): Effect.Effect<string, InvalidRequest, TestClient> =>
  Effect.flatMap(TestClient, (client) => client.cookieHeader(url))

/**
 * Puts a cookie into the jar as if the app had set it (from `options.url`, default `baseUrl`).
 *
 * @since 0.1.0
 * @category cookies
 */
export const setCookie = (
  name: string,
  value: string,
  options?: CookieOptions
): Effect.Effect<void, InvalidRequest, TestClient> =>
  Effect.flatMap(TestClient, (client) => client.setCookie(name, value, options))

/**
 * Removes every cookie from the jar, or only those named `name`.
 *
 * @since 0.1.0
 * @category cookies
 */
export const clearCookies = (name?: string): Effect.Effect<void, never, TestClient> =>
  Effect.flatMap(TestClient, (client) => client.clearCookies(name))
