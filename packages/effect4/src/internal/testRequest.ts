/**
 * `TestRequest`: the request a default `TestClient` would send, built by the client's own
 * preparation (`prepare`, `loadBody`, `frame`) and made into the app's request class
 * (`request.ts`), with the route context the platform's router gives a handler.
 *
 * @internal
 */
import { describe, isOptionBag, Jar, unknownKeys } from "@effect-http-testkit/core"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { Handler, Options, Provided } from "../TestRequest.js"
import { frame, loadBody, loadStreamWhole, makeConfig, prepare } from "./client.js"
import { InvalidRequest } from "./errors.js"
import * as ServerRequest from "./request.js"
import { bodyBytes as responseBytes } from "./server.js"

const optionNames = [
  "params",
  "headers",
  "cookies",
  "json",
  "form",
  "multipart",
  "body",
  "route",
  "routeParams",
  "remoteAddress"
]

/** Why Node's server answers a request itself, by the status it answers with. */
const refusals: Readonly<Record<number, string>> = {
  400:
    "Node's HTTP server answers 400 before any app sees this request (a method its parser does not know, or " +
    "framing its strict parser rejects: content-length with transfer-encoding, several or non-numeric " +
    "content-lengths, a transfer-encoding not ending in chunked)",
  417: "Node's HTTP server answers 417 before any app sees this request (an expect header other than 100-continue)",
  431:
    "Node's HTTP server answers 431 before any app sees this request (the URL and headers reach its " +
    "maxHeaderSize, 16 KiB by default)"
}

/** The route the handler is described as mounted at, in `RouteContext.route`; it is not meant to be run. */
const describedRoute = (path: HttpRouter.PathInput): HttpRouter.Route<unknown, unknown> =>
  HttpRouter.route(
    "*",
    path,
    Effect.die(new Error("TestRequest: this route only describes the request; the effect under test is its handler"))
  )

interface Matched {
  readonly params: Readonly<Record<string, string | undefined>>
  readonly searchParams: HttpServerRequest.ParsedSearchParams["Service"]
}

/**
 * Matches the request against `path` with the platform's own router (a one-route
 * `HttpRouter`, built with the current `HttpRouter.RouterConfig`), so path params are decoded
 * and the query parsed exactly as when routed.
 */
const match = (
  request: HttpServerRequest.HttpServerRequest,
  path: HttpRouter.PathInput,
  refuse: (reason: string) => InvalidRequest
): Effect.Effect<Matched, InvalidRequest> =>
  Effect.gen(function* () {
    const router = yield* HttpRouter.make
    let matched: Matched | undefined
    const capture = Effect.map(
      Effect.context<HttpRouter.RouteContext | HttpServerRequest.ParsedSearchParams>(),
      (context) => {
        matched = {
          params: Context.get(context, HttpRouter.RouteContext).params,
          searchParams: Context.get(context, HttpServerRequest.ParsedSearchParams)
        }
        return HttpServerResponse.empty()
      }
    )
    // The router's matcher throws on a pattern it cannot parse: the test's input, not a defect.
    const added = yield* Effect.exit(router.add("*", path, capture))
    if (added._tag === "Failure") {
      const error = Cause.squash(added.cause)
      const why = error instanceof Error ? error.message : String(error)
      return yield* refuse(`invalid route ${describe(path)}: ${why}; give a pattern such as "/users/:id"`)
    }
    const routed = yield* Effect.exit(
      Effect.scoped(router.asHttpEffect()).pipe(Effect.provideService(HttpServerRequest.HttpServerRequest, request))
    )
    if (routed._tag === "Failure" || matched === undefined) {
      const failure = routed._tag === "Failure" ? Cause.squash(routed.cause) : undefined
      const notFound =
        HttpServerError.isHttpServerError(failure) && failure.reason._tag === "RouteNotFound"
          ? failure.reason
          : undefined
      const detail = notFound?.description === undefined ? "" : ` (${notFound.description})`
      return yield* refuse(
        `the URL path ${describe(request.url.split("?")[0])} does not match the route ${describe(path)}${detail}`
      )
    }
    return matched
  })

/** What the platform router hands a handler, built from the request and the options. */
export const context = (
  method: string,
  url: string,
  input: Options | undefined
): Effect.Effect<Context.Context<Provided>, InvalidRequest> =>
  Effect.suspend(() => {
    const refuse = (reason: string) =>
      new InvalidRequest({
        method: typeof method === "string" ? method : describe(method),
        url: typeof url === "string" ? url : describe(url),
        reason
      })
    if (input !== undefined && !isOptionBag(input)) {
      return Effect.fail(refuse(`the options must be an object such as { headers: { ... } }, got ${describe(input)}`))
    }
    const options: Options = input ?? {}
    const unknown = unknownKeys(options as Readonly<Record<string, unknown>>, optionNames, "option")
    if (unknown !== undefined) return Effect.fail(refuse(unknown))
    const { route, routeParams, remoteAddress, ...requestOptions } = options

    // The client's defaults (origin http://testserver, user-agent, accept, accept-encoding),
    // and the client's rule for the address the app sees.
    const config = makeConfig(remoteAddress === undefined ? undefined : { remoteAddress })
    if (typeof config === "string") return Effect.fail(refuse(config))
    if (routeParams !== undefined) {
      if (!isOptionBag(routeParams)) {
        return Effect.fail(
          refuse(`routeParams must be a record of strings, e.g. { id: "1" }, got ${describe(routeParams)}`)
        )
      }
      for (const [name, value] of Object.entries(routeParams)) {
        if (value !== undefined && typeof value !== "string") {
          return Effect.fail(refuse(`route param ${describe(name)} must be a string, got ${describe(value)}`))
        }
      }
    }
    if (route !== undefined && (typeof route !== "string" || (route !== "*" && !route.startsWith("/")))) {
      return Effect.fail(refuse(`invalid route ${describe(route)}: give a path pattern such as "/users/:id"`))
    }

    const checked = prepare(config, method, url, requestOptions)
    if (checked instanceof InvalidRequest) return Effect.fail(checked)
    const loaded = Effect.flatMap(loadBody(checked, method, url), (prepared) => loadStreamWhole(prepared, method, url))
    return Effect.flatMap(loaded, (prepared) => {
      // The first hop as the client frames it: host first, the call's cookies, content-length
      // or transfer-encoding, header lines folded as Node's parser folds them.
      const framed = frame(new Jar(), prepared.first, prepared.callCookies, config.remoteAddress)
      if (framed._tag === "Refused") {
        return Effect.fail(
          refuse(refusals[framed.response.status] ?? `Node's HTTP server answers ${framed.response.status}`)
        )
      }
      const outgoing = framed.outgoing
      const request = ServerRequest.make(
        outgoing.method,
        outgoing.url.pathname + outgoing.url.search,
        outgoing.headers,
        outgoing.body,
        undefined,
        outgoing.remoteAddress
      )
      return Effect.map(match(request, route ?? "*", refuse), (matched) => {
        // Without a route, the params are the given ones only (not the catch-all's "*").
        const params = { ...(route === undefined ? {} : matched.params), ...routeParams }
        return Context.make(HttpServerRequest.HttpServerRequest, request).pipe(
          Context.add(HttpRouter.RouteContext, { params, route: describedRoute(route ?? "*") }),
          Context.add(HttpServerRequest.ParsedSearchParams, matched.searchParams)
        )
      })
    })
  })

/** The handler as an effect, as `HttpRouter.route` takes it; `undefined` when it is none of its forms. */
const handlerEffect = <E, R>(
  handler: Handler<E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest> | undefined => {
  if (HttpServerResponse.isHttpServerResponse(handler)) return Effect.succeed(handler)
  if (Effect.isEffect(handler)) return handler
  if (typeof handler === "function") return Effect.flatMap(HttpServerRequest.HttpServerRequest, handler)
  return undefined
}

/**
 * The handler's response, or what is wrong with the handler: a success value that is not a
 * response is the handler's defect, named.
 */
const responseOf = <E, R>(
  handler: Handler<E, R>,
  method: string,
  url: string
):
  | Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | HttpServerRequest.HttpServerRequest>
  | InvalidRequest => {
  const effect = handlerEffect(handler)
  if (effect === undefined) {
    return new InvalidRequest({
      method: String(method),
      url: String(url),
      reason:
        "the handler must be an HttpServerResponse, an Effect of one, or a function from the request to an " +
        `Effect of one (as HttpRouter.add takes it), got ${describe(handler)}`
    })
  }
  return Effect.flatMap(effect, (response) =>
    HttpServerResponse.isHttpServerResponse(response)
      ? Effect.succeed(response)
      : Effect.die(
          new TypeError(`TestRequest: the handler succeeded with ${describe(response)}, not an HttpServerResponse`)
        )
  )
}

export const make = (
  method: string,
  url: string,
  options?: Options
): Effect.Effect<HttpServerRequest.HttpServerRequest, InvalidRequest> =>
  Effect.map(context(method, url, options), (ctx) => Context.get(ctx, HttpServerRequest.HttpServerRequest))

export const provide = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  method: string,
  url: string,
  options?: Options
): Effect.Effect<A, E | InvalidRequest, Exclude<R, Provided>> =>
  Effect.isEffect(self)
    ? Effect.flatMap(context(method, url, options), (ctx) => Effect.provideContext(self, ctx))
    : Effect.fail(
        new InvalidRequest({
          method: String(method),
          url: String(url),
          reason: `provide takes an Effect to run with the request context, got ${describe(self)}`
        })
      )

export const run = <E, R>(
  self: Handler<E, R>,
  method: string,
  url: string,
  options?: Options
): Effect.Effect<HttpServerResponse.HttpServerResponse, E | InvalidRequest, Exclude<R, Provided>> =>
  Effect.suspend(() => {
    const response = responseOf(self, method, url)
    if (response instanceof InvalidRequest) return Effect.fail(response)
    return Effect.flatMap(context(method, url, options), (ctx) => Effect.provideContext(response, ctx))
  })

export const runHandled = <E, R>(
  self: Handler<E, R>,
  method: string,
  url: string,
  options?: Options
): Effect.Effect<HttpServerResponse.HttpServerResponse, InvalidRequest, Exclude<R, Provided>> =>
  Effect.suspend(() => {
    const response = responseOf(self, method, url)
    if (response instanceof InvalidRequest) return Effect.fail(response)
    // Bad input fails before the handler runs: it stays the test's mistake, not a 500.
    return Effect.flatMap(context(method, url, options), (ctx) =>
      response.pipe(
        Effect.catchCause((cause) => Effect.map(HttpServerError.causeResponse(cause), ([answer]) => answer)),
        Effect.provideContext(ctx)
      )
    )
  })

// ---------------------------------------------------------------------------
// reading a response body
// ---------------------------------------------------------------------------

const decoder = new TextDecoder()

export const bodyBytes = (response: HttpServerResponse.HttpServerResponse): Effect.Effect<Uint8Array> =>
  Effect.orDie(responseBytes(response.body))

export const bodyText = (response: HttpServerResponse.HttpServerResponse): Effect.Effect<string> =>
  Effect.map(bodyBytes(response), (bytes) => decoder.decode(bytes))

export const bodyJson = (response: HttpServerResponse.HttpServerResponse): Effect.Effect<unknown> =>
  Effect.flatMap(bodyText(response), (text) =>
    Effect.try({
      try: () => (text === "" ? null : (JSON.parse(text) as unknown)),
      catch: (cause) =>
        new SyntaxError(
          `TestRequest.bodyJson: the response body is not JSON (${String(cause)}): ${describe(text.slice(0, 200))}`
        )
    }).pipe(Effect.orDie)
  )
