/**
 * `TestRequest`: run one handler against a request built in memory, with no router, server
 * or HTTP bytes in between — the Effect counterpart of aiohttp's `make_mocked_request`. For
 * unit tests of a handler, of a helper that reads the request (authentication, content
 * negotiation), and of conditions that are hard to produce over HTTP.
 *
 * The handler gets what `HttpRouter` gives a routed handler: the
 * `HttpServerRequest.HttpServerRequest`, the `HttpRouter.RouteContext` (so `HttpRouter.params`
 * and `HttpRouter.schemaPathParams` work) and `HttpServerRequest.ParsedSearchParams` (so
 * `HttpServerRequest.schemaSearchParams` and `HttpRouter.schemaParams` work). The request is
 * the one a `TestClient` with default options would send for the same method, URL and
 * options, prepared by the client's own code: same validation, body encoding, default headers
 * (`host`, `user-agent`, `accept`, `accept-encoding`), framing, header folding and Node's
 * refusals; and it is the same kind of request the app gets from `TestClient` (platform-node's
 * request class over an in-memory Node `IncomingMessage`).
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { RequestOptions } from "./Client.js"
import * as errors from "./internal/errors.js"
import * as internal from "./internal/testRequest.js"

// ---------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------

/**
 * How to build the request. The body and header options are `TestClient`'s (see
 * `TestClient.RequestOptions`): `params` are appended to the URL's query; at most one of
 * `json`, `form`, `multipart` and `body`, each setting its `content-type` unless a header
 * gives one; `cookies` become the `cookie` header (as with `TestClient`, a `cookie` header
 * given in `headers` replaces them). Any other option fails with {@link InvalidRequest}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options
  extends Pick<RequestOptions, "params" | "headers" | "cookies" | "json" | "form" | "multipart" | "body"> {
  /**
   * The route pattern the handler is mounted at, e.g. `"/users/:id"`. The URL is matched
   * against it by the platform's own router (built with the current
   * `HttpRouter.RouterConfig`), so path params are decoded and the query parsed exactly as
   * when routed, and a URL that does not match fails with {@link InvalidRequest}.
   * `RouteContext.route.path` is this pattern (`"*"` when none is given).
   */
  readonly route?: HttpRouter.PathInput | undefined
  /** Path params as the router would pass them; they replace params of the same name matched by `route`. */
  readonly routeParams?: Readonly<Record<string, string | undefined>> | undefined
  /**
   * What the handler sees as `request.remoteAddress`: an IPv4 or IPv6 address, as with
   * `TestClient`'s option. Default `"127.0.0.1"`.
   */
  readonly remoteAddress?: string | undefined
}

/**
 * A handler in any of the forms `HttpRouter.add` takes: a response, an effect producing one,
 * or a function from the request to such an effect.
 *
 * @since 0.1.0
 * @category models
 */
export type Handler<E = never, R = never> =
  | HttpServerResponse.HttpServerResponse
  | Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  | ((request: HttpServerRequest.HttpServerRequest) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>)

/**
 * The services `TestRequest` provides to the effect under test: what `HttpRouter` provides
 * a routed handler (`HttpRouter.Provided`), minus the request `Scope`.
 *
 * @since 0.1.0
 * @category models
 */
export type Provided =
  | HttpServerRequest.HttpServerRequest
  | HttpRouter.RouteContext
  | HttpServerRequest.ParsedSearchParams

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

/**
 * The request could not be built as given (two bodies, a bad method, header, URL, cookie or
 * body value, an unknown option, a request Node's server would refuse before any app sees
 * it, a URL that does not match `route`), or the handler is not a handler. The same class as
 * `TestClient.InvalidRequest`; its `reason` says what to fix.
 *
 * @since 0.1.0
 * @category errors
 */
export const InvalidRequest = errors.InvalidRequest

/**
 * @since 0.1.0
 * @category errors
 */
export type InvalidRequest = errors.InvalidRequest

// ---------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------

/**
 * Builds the request object alone, for code that takes an `HttpServerRequest` as an
 * argument. Its `url` is path and query (`/users?page=2`), as Node gives it; its body is
 * in memory, read by platform-node's own code; `upgrade` fails, as a request that is not a
 * WebSocket handshake does. Route and search params are not part of the request object: use
 * {@link provide} or {@link run} for code that reads them.
 *
 * @example
 * ```ts
 * const request = yield* TestRequest.make("POST", "/users", { json: { name: "Ada" } })
 * expect(request.headers["content-type"]).toBe("application/json")
 * expect(yield* request.json).toEqual({ name: "Ada" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  method: string,
  url: string,
  options?: Options
) => Effect.Effect<HttpServerRequest.HttpServerRequest, InvalidRequest> = internal.make

// ---------------------------------------------------------------------------
// running
// ---------------------------------------------------------------------------

/**
 * Whether a call is data-first, `(self, method, url, options?)`, rather than data-last,
 * `(method, url, options?)`: only data-first has a string third argument (the URL) or four
 * arguments, and only data-last starts with a string (the method).
 */
const isDataFirst = (args: IArguments): boolean =>
  args.length >= 4 || typeof args[0] !== "string" || typeof args[2] === "string"

/**
 * Runs a handler against a request built from `method`, `url` and `options`, and returns the
 * `HttpServerResponse` it produced. The handler takes any form `HttpRouter.add` takes (see
 * {@link Handler}). Nothing else runs: no routing, no middleware, no tracer, no error mapping.
 *
 * The handler's failures and defects pass through unchanged, so a test can assert on its
 * typed error (`Effect.flip`) or cause (`Effect.exit`); use {@link runHandled} for the
 * response a server would send instead. Each run builds a fresh request.
 *
 * What stays required is everything but the request context: the handler's own services,
 * and `Scope` if it uses one (production gives it the request scope; `it.effect` provides
 * one). A handler that reads `request.multipart` needs `Scope`, `FileSystem` and `Path`:
 * provide `NodeServices.layer`.
 *
 * @example
 * ```ts
 * const getUser = Effect.gen(function* () {
 *   const { id } = yield* HttpRouter.schemaPathParams(Schema.Struct({ id: Schema.FiniteFromString }))
 *   return yield* HttpServerResponse.json({ id })
 * })
 *
 * it.effect("getUser", () =>
 *   Effect.gen(function* () {
 *     const response = yield* getUser.pipe(TestRequest.run("GET", "/users/1", { route: "/users/:id" }))
 *     expect(response.status).toBe(200)
 *     expect(yield* TestRequest.bodyJson(response)).toEqual({ id: 1 })
 *   }))
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run: {
  (
    method: string,
    url: string,
    options?: Options
  ): <E = never, R = never>(
    self: Handler<E, R>
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, E | InvalidRequest, Exclude<R, Provided>>
  <E = never, R = never>(
    self: Handler<E, R>,
    method: string,
    url: string,
    options?: Options
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, E | InvalidRequest, Exclude<R, Provided>>
} = dual(isDataFirst, internal.run)

/**
 * {@link run}, with the handler's failures, defects and interruptions turned into the
 * response the server's error handling would send (`HttpServerError.causeResponse`): a
 * `Respondable` error answers for itself (`RouteNotFound` a 404), anything else is a 500.
 * Only the error mapping is applied: no middleware, no pre-response handlers, no logging.
 * Fails only with {@link InvalidRequest}, before the handler runs.
 *
 * @example
 * ```ts
 * const response = yield* TestRequest.runHandled(Effect.die("boom"), "GET", "/")
 * expect(response.status).toBe(500)
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const runHandled: {
  (
    method: string,
    url: string,
    options?: Options
  ): <E = never, R = never>(
    self: Handler<E, R>
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, InvalidRequest, Exclude<R, Provided>>
  <E = never, R = never>(
    self: Handler<E, R>,
    method: string,
    url: string,
    options?: Options
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, InvalidRequest, Exclude<R, Provided>>
} = dual(isDataFirst, internal.runHandled)

/**
 * Provides the request context (see {@link Provided}) to any effect and keeps its result:
 * for code that reads the request without producing a response, such as an authentication
 * helper or a schema-decoding step. Failures pass through unchanged.
 *
 * @example
 * ```ts
 * class Unauthorized extends Data.TaggedError("Unauthorized") {}
 *
 * const currentUser = Effect.flatMap(Effect.service(HttpServerRequest.HttpServerRequest), (request) =>
 *   request.headers.authorization === "Bearer t" ? Effect.succeed("ada") : Effect.fail(new Unauthorized()))
 *
 * const user = yield* currentUser.pipe(TestRequest.provide("GET", "/", { headers: { authorization: "Bearer t" } }))
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const provide: {
  (
    method: string,
    url: string,
    options?: Options
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | InvalidRequest, Exclude<R, Provided>>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    method: string,
    url: string,
    options?: Options
  ): Effect.Effect<A, E | InvalidRequest, Exclude<R, Provided>>
} = dual(isDataFirst, internal.provide)

// ---------------------------------------------------------------------------
// reading responses
// ---------------------------------------------------------------------------

/**
 * The response body as bytes, read as the kit's server writes it: `Uint8Array` (what
 * `HttpServerResponse.text`/`json` produce; also readable directly as `response.body.body`),
 * `Empty`, `Raw` (a string, bytes or a Node `Readable`; another value, such as a web
 * `ReadableStream`, dies as on platform-node, which cannot write it), `Stream` (run to its end
 * in the test's fiber) and `FormData` (encoded with a fresh boundary). A body that fails
 * while being read dies with its error; read `response.body.stream` directly to assert on
 * such a failure.
 *
 * @since 0.1.0
 * @category reading responses
 */
export const bodyBytes: (response: HttpServerResponse.HttpServerResponse) => Effect.Effect<Uint8Array> =
  internal.bodyBytes

/**
 * The response body as UTF-8 text; see {@link bodyBytes}.
 *
 * @since 0.1.0
 * @category reading responses
 */
export const bodyText: (response: HttpServerResponse.HttpServerResponse) => Effect.Effect<string> = internal.bodyText

/**
 * The response body parsed as JSON (`null` for an empty body); a body that is not JSON is a
 * defect naming it. See {@link bodyBytes}.
 *
 * @since 0.1.0
 * @category reading responses
 */
export const bodyJson: (response: HttpServerResponse.HttpServerResponse) => Effect.Effect<unknown> = internal.bodyJson
