/**
 * The small app every request scenario runs against, the platform's own in-process floors,
 * and helpers shared by the scenarios (the Effect-free ones are scripts/bench/harness.ts's,
 * shared with the Effect 4 edition's bench).
 *
 * - The pipeline floor (`makePipeline`): what `@effect/platform-node`'s server pays per
 *   request minus the socket. Like `NodeHttpServer.makeHandler`, it runs the app through
 *   `HttpApp.toHandled` (error mapping, the tracer middleware, a request scope) with
 *   `Runtime.runFork` in the runtime it is served in (`NodeHttpServer.layerContext`'s
 *   services), one fiber per request, each given a fresh request object carrying the headers
 *   a real client sends; `handleResponse` takes the status, headers and body (a Stream body is
 *   run to its end inside the handler fiber, as platform-node writes it to the socket).
 * - The bare floor (`floor`): `toHandled` run inline with one prebuilt request, reused. No
 *   fiber, no request object per request: a reference line only.
 */
import { HttpApp, HttpMiddleware, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import { NodeHttpServer } from "@effect/platform-node"
import { Cause, Chunk, Effect, Exit, Fiber, Layer, ManagedRuntime, Runtime, Stream, type Tracer } from "effect"
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

export const app = HttpRouter.empty.pipe(
  HttpRouter.get("/json", HttpServerResponse.json(payload)),
  HttpRouter.post(
    "/echo",
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Effect.flatMap(request.json, (body) => HttpServerResponse.json(body))
    )
  )
)

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
  if (sink === undefined) return Effect.dieMessage("pipeline floor: a request without a sink")
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
        Stream.runForEachChunk((chunk) =>
          Effect.sync(() => {
            const array = Chunk.toReadonlyArray(chunk)
            for (let i = 0; i < array.length; i++) sink.streamed += array[i].length
          })
        )
      )
    default:
      return Effect.dieMessage(`pipeline floor: unexpected ${body._tag} body`)
  }
}

export interface Pipeline {
  /**
   * Runs `request` through the pipeline in a fiber of its own (`runFork`, as platform-node
   * does per request) and waits for that fiber: the response has then been delivered.
   */
  readonly handle: (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<FloorSink>
  readonly dispose: () => Promise<void>
}

/** The pipeline floor for `target` (by default the bench app), with `tracer` in place of Effect's native one if given. */
export const makePipeline = async (
  target: HttpApp.Default<unknown> = app,
  options: { readonly tracerDisabled?: boolean; readonly tracer?: Tracer.Tracer | undefined } = {}
): Promise<Pipeline> => {
  const managed = ManagedRuntime.make(
    options.tracer === undefined
      ? NodeHttpServer.layerContext
      : Layer.merge(NodeHttpServer.layerContext, Layer.setTracer(options.tracer))
  )
  const base = await managed.runtime()
  const runtime =
    options.tracerDisabled === true
      ? await managed.runPromise(
          Effect.locally(Effect.runtime<never>(), HttpMiddleware.currentTracerDisabledWhen, () => true)
        )
      : base
  const handled = HttpApp.toHandled(target, takeResponse, undefined)
  const runFork = Runtime.runFork(runtime)
  return {
    handle: (request) =>
      Effect.suspend(() => {
        const sink = newSink()
        ;(request as WithSink)[sinkKey] = sink
        const fiber = runFork(Effect.provideService(handled, HttpServerRequest.HttpServerRequest, request))
        return Effect.flatMap(Fiber.await(fiber), (exit) =>
          Exit.isSuccess(exit) ? Effect.succeed(sink) : Effect.die(Cause.squash(exit.cause))
        )
      }),
    dispose: () => managed.dispose()
  }
}

const decoder = new TextDecoder()

/** Parses a floor's JSON body. */
export const sinkJson = (sink: FloorSink): unknown => JSON.parse(decoder.decode(sink.bytes))

/**
 * `HttpApp.toHandled(app, handleResponse)` for one prebuilt request, run inline: the
 * pipeline with nothing around it (no fiber of its own, no request object per request).
 * `handleResponse` only takes the body's bytes.
 */
export const floor = (
  request: HttpServerRequest.HttpServerRequest
): { readonly once: Effect.Effect<void>; readonly sink: FloorSink } => {
  const sink = newSink()
  const handled = HttpApp.toHandled(
    app,
    (_request, response): Effect.Effect<void, HttpServerError.ResponseError> =>
      Effect.sync(() => {
        sink.status = response.status
        if (response.body._tag !== "Uint8Array") throw new Error(`floor: unexpected ${response.body._tag} body`)
        sink.bytes = response.body.body
      }),
    undefined
  )
  return { once: Effect.provideService(handled, HttpServerRequest.HttpServerRequest, request), sink }
}

/** Runs `effect` `n` times in sequence. */
export const times = <A, E, R>(n: number, effect: Effect.Effect<A, E, R>): Effect.Effect<void, E, R> =>
  Effect.gen(function* () {
    for (let i = 0; i < n; i++) yield* effect
  })
