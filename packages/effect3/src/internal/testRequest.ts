import * as HttpRouter from "@effect/platform/HttpRouter"
import * as ServerError from "@effect/platform/HttpServerError"
import * as ServerRequest from "@effect/platform/HttpServerRequest"
import * as Respondable from "@effect/platform/HttpServerRespondable"
import * as ServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { describe, encodeCookieValue } from "@effect-http-testkit/core"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { RequestOptions } from "../Client.js"
import type { Options, Provided } from "../TestRequest.js"
import { makeConfig } from "./config.js"
import { InvalidRequest } from "./errors.js"
import { prepare } from "./prepare.js"
import { concatChunks, foldHeaderLines, InProcessRequest, type ResponseSink } from "./request.js"

// The client's defaults (origin http://testserver, user-agent, accept, accept-encoding,
// remote address), so a handler sees the request `TestClient` would have sent it.
const config = makeConfig()

/**
 * Where a response would go. Nothing is served here: the handler's response is handed back
 * to the test as a value, so the sink only absorbs what the request itself may report (a
 * body over `MaxBodySize` resets the connection in a server; here the read just fails).
 */
const detachedSink = (): ResponseSink => ({
  spanId: "",
  headersSent: false,
  ended: false,
  failure: undefined,
  head() {},
  write() {
    return undefined
  },
  end() {},
  abort() {},
  reset() {}
})

const catchAll: HttpRouter.Route<unknown, unknown> = HttpRouter.makeRoute(
  "*",
  "*",
  Effect.dieMessage("TestRequest: this route only describes the request; the effect under test is its handler")
)

/** What the platform router hands a handler, built from the request and the options. @internal */
export const context = (
  rawMethod: string,
  rawUrl: string,
  options: Options = {}
): Effect.Effect<Context.Context<Provided>, InvalidRequest> =>
  Effect.gen(function* () {
    if (typeof options !== "object" || options === null) {
      return yield* new InvalidRequest({
        method: String(rawMethod),
        url: String(rawUrl),
        reason: `the options must be an object such as { headers: { ... } }, got ${describe(options)}`
      })
    }
    const prepared = yield* prepare(config, rawMethod, rawUrl, requestOptions(options))
    const invalid = (reason: string, cause?: unknown) =>
      new InvalidRequest({
        method: prepared.method,
        url: String(rawUrl),
        reason,
        ...(cause === undefined ? {} : { cause })
      })

    if (options.remoteAddress !== undefined && typeof options.remoteAddress !== "string") {
      return yield* invalid(`remoteAddress must be a string, got ${describe(options.remoteAddress)}`)
    }
    const routeParams = options.routeParams
    if (routeParams !== undefined) {
      if (typeof routeParams !== "object" || routeParams === null) {
        return yield* invalid('routeParams must be a record of strings, e.g. { id: "1" }')
      }
      for (const [name, value] of Object.entries(routeParams)) {
        if (value !== undefined && typeof value !== "string") {
          return yield* invalid(`route param ${describe(name)} must be a string, got ${describe(value)}`)
        }
      }
    }

    // As the client builds a hop: `host` from the URL first, the call's cookies last.
    const lines: Array<readonly [string, string]> = [["host", prepared.url.host], ...prepared.headerLines]
    if (options.cookies !== undefined && Object.keys(options.cookies).length > 0) {
      const pairs = Object.entries(options.cookies).map(([name, value]) => `${name}=${encodeCookieValue(value)}`)
      lines.push(["cookie", pairs.join("; ")])
    }
    const request = new InProcessRequest({
      method: prepared.method,
      url: prepared.url.pathname + prepared.url.search,
      headers: foldHeaderLines(lines),
      lines,
      body: prepared.body,
      remoteAddress: options.remoteAddress ?? config.remoteAddress,
      sink: detachedSink()
    })

    let route = catchAll
    let params: Readonly<Record<string, string | undefined>> = {}
    let searchParams = ServerRequest.searchParamsFromURL(prepared.url)
    if (options.route !== undefined) {
      const matched = yield* match(request, options.route, invalid)
      route = matched.route
      params = matched.params
      searchParams = matched.searchParams
    }
    if (routeParams !== undefined) params = { ...params, ...routeParams }

    const routeContext: HttpRouter.RouteContext = {
      [HttpRouter.RouteContextTypeId]: HttpRouter.RouteContextTypeId,
      params,
      route
    }
    return Context.make(ServerRequest.HttpServerRequest, request).pipe(
      Context.add(HttpRouter.RouteContext, routeContext),
      Context.add(ServerRequest.ParsedSearchParams, searchParams)
    )
  })

/** Only what `prepare` understands: the options of our own are not the client's. */
const requestOptions = (options: Options): RequestOptions => {
  const { route: _route, routeParams: _routeParams, remoteAddress: _remoteAddress, ...rest } = options
  return rest
}

/**
 * Matches the request against `route` with the platform's own router (a one-route
 * `HttpRouter`), so path params are decoded and the query parsed exactly as when routed.
 */
const match = (
  request: ServerRequest.HttpServerRequest,
  path: string,
  invalid: (reason: string, cause?: unknown) => InvalidRequest
): Effect.Effect<
  {
    readonly route: HttpRouter.Route<unknown, unknown>
    readonly params: Readonly<Record<string, string | undefined>>
    readonly searchParams: Readonly<Record<string, string | Array<string>>>
  },
  InvalidRequest
> =>
  Effect.suspend(() => {
    if (typeof path !== "string" || (path !== "*" && !path.startsWith("/"))) {
      return Effect.fail(invalid(`invalid route ${describe(path)}: give a path pattern such as "/users/:id"`))
    }
    let matched: Context.Context<HttpRouter.RouteContext | ServerRequest.ParsedSearchParams> | undefined
    const capture = Effect.map(Effect.context<HttpRouter.RouteContext | ServerRequest.ParsedSearchParams>(), (ctx) => {
      matched = ctx
      return ServerResponse.empty()
    })
    const router = HttpRouter.empty.pipe(HttpRouter.all(path as HttpRouter.PathInput, capture))
    const mismatch = () =>
      invalid(`the URL path ${describe(request.url.split("?")[0])} does not match the route ${describe(path)}`)
    return router.pipe(
      Effect.provideService(ServerRequest.HttpServerRequest, request),
      Effect.matchCauseEffect({
        onFailure: (cause) => {
          const failure = Cause.failureOption(cause)
          if (Option.isSome(failure) && failure.value._tag === "RouteNotFound") return Effect.fail(mismatch())
          // find-my-way throws on a pattern it cannot parse: a defect of the router, not the test's handler.
          const error = Cause.squash(cause)
          const why = error instanceof Error ? error.message : String(error)
          return Effect.fail(
            invalid(`invalid route ${describe(path)}: ${why}; give a pattern such as "/users/:id"`, cause)
          )
        },
        onSuccess: () => {
          if (matched === undefined) return Effect.fail(mismatch())
          const routeContext = Context.get(matched, HttpRouter.RouteContext)
          return Effect.succeed({
            route: routeContext.route,
            params: routeContext.params,
            searchParams: Context.get(matched, ServerRequest.ParsedSearchParams)
          })
        }
      })
    )
  })

/** @internal */
export const make = (
  method: string,
  url: string,
  options?: Options
): Effect.Effect<ServerRequest.HttpServerRequest, InvalidRequest> =>
  Effect.map(context(method, url, options), (ctx) => Context.get(ctx, ServerRequest.HttpServerRequest))

/** @internal */
export const provide = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  method: string,
  url: string,
  options?: Options
): Effect.Effect<A, E | InvalidRequest, Exclude<R, Provided>> =>
  Effect.flatMap(context(method, url, options), (ctx) => Effect.provide(self, ctx))

/** @internal */
export const run = <E, R>(
  self: Effect.Effect<Respondable.Respondable, E, R>,
  method: string,
  url: string,
  options?: Options
): Effect.Effect<ServerResponse.HttpServerResponse, E | InvalidRequest, Exclude<R, Provided>> =>
  provide(Effect.flatMap(self, Respondable.toResponse), method, url, options)

/** @internal */
export const runHandled = <E, R>(
  self: Effect.Effect<Respondable.Respondable, E, R>,
  method: string,
  url: string,
  options?: Options
): Effect.Effect<ServerResponse.HttpServerResponse, InvalidRequest, Exclude<R, Provided>> =>
  Effect.flatMap(context(method, url, options), (ctx) =>
    Effect.flatMap(self, Respondable.toResponse).pipe(
      Effect.catchAllCause((cause) => Effect.map(ServerError.causeResponse(cause), ([response]) => response)),
      Effect.provide(ctx)
    )
  )

// ---------------------------------------------------------------------------
// reading a response body
// ---------------------------------------------------------------------------

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const collect = (stream: Stream.Stream<Uint8Array, unknown>): Effect.Effect<Uint8Array> =>
  Effect.map(Stream.runCollect(Stream.orDie(stream)), (chunks) => concatChunks(chunks))

const isNodeReadable = (u: unknown): u is NodeJS.ReadableStream =>
  typeof u === "object" && u !== null && "pipe" in u && typeof u.pipe === "function" && "on" in u

/** @internal */
export const bodyBytes = (response: ServerResponse.HttpServerResponse): Effect.Effect<Uint8Array> => {
  const body = response.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(new Uint8Array(0))
    case "Uint8Array":
      return Effect.succeed(body.body)
    case "Stream":
      return collect(body.stream)
    case "FormData":
      return Effect.promise(() => new Response(body.formData).arrayBuffer()).pipe(
        Effect.map((buffer) => new Uint8Array(buffer))
      )
    case "Raw": {
      const raw = body.body
      if (raw === undefined || raw === null) return Effect.succeed(new Uint8Array(0))
      if (typeof raw === "string") return Effect.succeed(encoder.encode(raw))
      if (raw instanceof Uint8Array) return Effect.succeed(raw)
      if (raw instanceof ArrayBuffer) return Effect.succeed(new Uint8Array(raw))
      if (raw instanceof Response) {
        return Effect.map(
          Effect.promise(() => raw.arrayBuffer()),
          (buffer) => new Uint8Array(buffer)
        )
      }
      if (raw instanceof ReadableStream) {
        return collect(
          Stream.fromReadableStream(
            () => raw as ReadableStream<Uint8Array>,
            (cause) => cause
          )
        )
      }
      if (isNodeReadable(raw)) {
        return collect(
          NodeStream.fromReadable<unknown, Uint8Array>(
            () => raw,
            (cause) => cause
          )
        )
      }
      return Effect.dieMessage(
        `TestRequest: cannot read a Raw body of type ${Object.prototype.toString.call(raw)}; inspect response.body.body`
      )
    }
  }
}

/** @internal */
export const bodyText = (response: ServerResponse.HttpServerResponse): Effect.Effect<string> =>
  Effect.map(bodyBytes(response), (bytes) => decoder.decode(bytes))

/** @internal */
export const bodyJson = (response: ServerResponse.HttpServerResponse): Effect.Effect<unknown> =>
  Effect.flatMap(bodyText(response), (text) =>
    Effect.try({
      try: () => (text === "" ? null : (JSON.parse(text) as unknown)),
      catch: (cause) => cause
    }).pipe(Effect.orDie)
  )
