/**
 * The small app every request scenario runs against, Effect 4's own in-process floors, and
 * the Effect helpers shared by the scenarios (the Effect-free ones are
 * scripts/bench/harness.ts's, shared with the Effect 3 edition's bench).
 *
 * - The pipeline floor (`makePipeline`): what `@effect/platform-node` 4.1's server pays per
 *   request minus the socket. The app is served by `HttpRouter.serve` as `TestClient.layer`
 *   serves it (no request logger) over an `HttpServer` that keeps what `serve` hands it, with
 *   the services `NodeHttpServer.layerHttpServices` gives; each request is then run as
 *   `NodeHttpServer.makeHandler` runs it: `HttpEffect.toHandled(app, handleResponse,
 *   middleware)` (error mapping, the tracer, a request scope) forked with `Effect.runForkWith`
 *   in the serve fiber's context plus a fresh request object carrying the headers a real
 *   client sends, the fiber added to the serve scope with `Fiber.runIn`. `handleResponse`
 *   takes the status, headers and body (a Stream body is run to its end inside the handler
 *   fiber, as platform-node writes it to the socket). `toHandled` applies the tracer itself;
 *   with Effect's native tracer (whose spans nothing can observe) and no middleware it skips
 *   the span, in production as here: bench/tracing.ts measures a tracer that records.
 * - The bare floor (`floor`): `toHandled` run inline with one prebuilt request, reused. No
 *   fiber, no request object per request: a reference line only.
 */
import { NodeHttpServer } from "@effect/platform-node"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import {
  HttpEffect,
  type HttpMiddleware,
  HttpRouter,
  HttpServer,
  HttpServerRequest,
  HttpServerResponse
} from "effect/http"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { NetAddress } from "effect/net"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { clientHeaders, payload } from "../../../scripts/bench/harness.js"

export {
  checkPayload,
  formatRates,
  formatRatio,
  formatRatios,
  payload,
  perSecond,
  type RateSubject,
  rateRows
} from "../../../scripts/bench/harness.js"

/** GET /json answers the payload; POST /echo answers the JSON it got. */
export const app = Layer.mergeAll(
  HttpRouter.add("GET", "/json", HttpServerResponse.json(payload)),
  HttpRouter.add("POST", "/echo", (request) => Effect.flatMap(request.json, (body) => HttpServerResponse.json(body)))
)

/** How every bench serves an app with `HttpRouter.serve`: as `TestClient.layer` does, no request logger. */
export const serveOptions = { disableListenLog: true, disableLogger: true } as const

/** A fresh request object for `path`, as a server gets one per request. */
export const freshRequest = (
  path: string,
  init: { readonly method?: string; readonly body?: string; readonly headers?: Record<string, string> } = {}
): HttpServerRequest.HttpServerRequest =>
  HttpServerRequest.fromWeb(
    new Request(`http://127.0.0.1${path}`, {
      method: init.method ?? "GET",
      headers: { host: "127.0.0.1", ...clientHeaders, ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body })
    })
  )

/** A response body as the floors' `handleResponse` takes it. */
export interface FloorSink {
  status: number
  headers: Readonly<Record<string, string>>
  /** A Uint8Array body's bytes. */
  bytes: Uint8Array
  /** How many bytes a Stream body delivered. */
  streamed: number
}

const newSink = (): FloorSink => ({ status: 0, headers: {}, bytes: new Uint8Array(0), streamed: 0 })

const sinkKey = Symbol.for("effect-http-testkit/bench/sink")
interface WithSink {
  [sinkKey]?: FloorSink
}

/** `handleResponse` for the pipeline floor: fills the sink attached to the request. */
const takeResponse = (
  request: HttpServerRequest.HttpServerRequest,
  response: HttpServerResponse.HttpServerResponse
): Effect.Effect<void> => {
  const sink = (request as WithSink)[sinkKey]
  if (sink === undefined) return Effect.die(new Error("pipeline floor: a request without a sink"))
  sink.status = response.status
  sink.headers = response.headers
  const body = response.body
  switch (body._tag) {
    case "Uint8Array":
      sink.bytes = body.body
      return Effect.void
    case "Empty":
      return Effect.void
    case "Stream":
      // As platform-node writes a Stream body: chunk by chunk, inside the handler fiber.
      return body.stream.pipe(
        Stream.orDie,
        Stream.runForEachArray((chunks) =>
          Effect.sync(() => {
            for (let i = 0; i < chunks.length; i++) sink.streamed += chunks[i].length
          })
        )
      )
    default:
      return Effect.die(new Error(`pipeline floor: unexpected ${body._tag} body`))
  }
}

/** What `HttpRouter.serve` handed the server: the app, its middleware, the serve fiber's context and scope. */
export interface Served {
  /** The app (its requirements are the serve fiber's context, the request and the request scope). */
  readonly httpEffect: Effect.Effect<HttpServerResponse.HttpServerResponse, unknown>
  readonly middleware: HttpMiddleware.HttpMiddleware | undefined
  readonly context: Context.Context<never>
  /** The scope request fibers run in (a child of the serve scope, as platform-node forks it). */
  readonly scope: Scope.Scope
}

const address = NetAddress.inetAddressFromIpString("127.0.0.1", 80)

/**
 * Serves `appLayer` with `HttpRouter.serve` over an `HttpServer` that only keeps what it is
 * given, with the platform services platform-node provides (and `tracer`, if given).
 */
export const serveInMemory = async (
  appLayer: Layer.Layer<never, unknown, unknown>,
  options: { readonly tracer?: Tracer.Tracer | undefined } = {}
): Promise<{ readonly served: Served; readonly dispose: () => Promise<void> }> => {
  let served: Served | undefined
  const server = HttpServer.make({
    address: address._tag === "Success" ? address.success : (undefined as never),
    serve: (httpEffect, middleware) =>
      Effect.gen(function* () {
        const serveScope = yield* Effect.scope
        const context = yield* Effect.context<never>()
        served = {
          httpEffect: httpEffect as Served["httpEffect"],
          middleware,
          context,
          scope: Scope.forkUnsafe(serveScope, "parallel")
        }
      })
  })
  const layer = HttpRouter.serve(appLayer, serveOptions).pipe(
    Layer.provide(Layer.succeed(HttpServer.HttpServer)(server)),
    Layer.provide(NodeHttpServer.layerHttpServices),
    Layer.provide(options.tracer === undefined ? Layer.empty : Layer.succeed(Tracer.Tracer)(options.tracer))
  )
  const managed = ManagedRuntime.make(layer as Layer.Layer<never, unknown, never>)
  await managed.context()
  if (served === undefined) throw new Error("serveInMemory: HttpRouter.serve did not serve")
  return { served, dispose: () => managed.dispose() }
}

export interface Pipeline {
  /**
   * Runs `request` through the pipeline in a fiber of its own (as platform-node's
   * `makeHandler` does per request) and waits for that fiber: the response has then been
   * delivered.
   */
  readonly handle: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<FloorSink>
  readonly served: Served
  readonly dispose: () => Promise<void>
}

/** The pipeline floor for `appLayer` (by default the bench app), with `tracer` in place of Effect's native one if given. */
export const makePipeline = async (
  appLayer: Layer.Layer<never, unknown, unknown> = app,
  options: { readonly tracer?: Tracer.Tracer | undefined } = {}
): Promise<Pipeline> => {
  const { served, dispose } = await serveInMemory(appLayer, options)
  const handled = HttpEffect.toHandled(served.httpEffect, takeResponse, served.middleware) as Effect.Effect<
    void,
    never,
    HttpServerRequest.HttpServerRequest
  >
  return {
    handle: (request) =>
      Effect.suspend(() => {
        const sink = newSink()
        ;(request as WithSink)[sinkKey] = sink
        const context = Context.add(served.context, HttpServerRequest.HttpServerRequest, request)
        const fiber = Fiber.runIn(Effect.runForkWith(context)(handled), served.scope)
        return Effect.flatMap(Fiber.await(fiber), (exit) =>
          Exit.isSuccess(exit) ? Effect.succeed(sink) : Effect.die(Cause.squash(exit.cause))
        )
      }),
    served,
    dispose
  }
}

const decoder = new TextDecoder()

/** Parses a floor's JSON body. */
export const sinkJson = (sink: FloorSink): unknown => JSON.parse(decoder.decode(sink.bytes))

/**
 * `HttpEffect.toHandled(app, handleResponse)` for one prebuilt request, run inline in the
 * served context: the pipeline with nothing around it (no fiber of its own, no request object
 * per request). `handleResponse` only takes the body's bytes.
 */
export const floor = (
  served: Served,
  request: HttpServerRequest.HttpServerRequest
): { readonly once: Effect.Effect<void>; readonly sink: FloorSink } => {
  const sink = newSink()
  const handled = HttpEffect.toHandled(
    served.httpEffect,
    (_request, response) =>
      Effect.sync(() => {
        sink.status = response.status
        if (response.body._tag !== "Uint8Array") throw new Error(`floor: unexpected ${response.body._tag} body`)
        sink.bytes = response.body.body
      }),
    undefined
  ) as Effect.Effect<void, never, HttpServerRequest.HttpServerRequest>
  return {
    once: Effect.provideContext(handled, Context.add(served.context, HttpServerRequest.HttpServerRequest, request)),
    sink
  }
}

/** Runs `effect` `n` times in sequence. */
export const times = <A, E, R>(n: number, effect: Effect.Effect<A, E, R>): Effect.Effect<void, E, R> =>
  Effect.gen(function* () {
    for (let i = 0; i < n; i++) yield* effect
  })
