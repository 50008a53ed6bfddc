/**
 * The small app every request scenario runs against, the platform's own in-process floor
 * (`HttpApp.toHandled` with a prebuilt request), and helpers shared by the scenarios.
 */
import { HttpApp, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import { Effect } from "effect"

export const payload = { ok: true, id: 42, name: "effect-http-testkit", tags: ["a", "b", "c"] }

export const app = HttpRouter.empty.pipe(
  HttpRouter.get("/json", HttpServerResponse.json(payload)),
  HttpRouter.post(
    "/echo",
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Effect.flatMap(request.json, (body) => HttpServerResponse.json(body))
    )
  )
)

/** A response body as the floor's `handleResponse` takes it: the bytes of a Uint8Array body. */
export interface FloorSink {
  status: number
  bytes: Uint8Array
}

/**
 * `HttpApp.toHandled(app, handleResponse)` for one prebuilt request: the pipeline
 * `HttpServer.serve` runs behind a socket (tracer middleware, scope, error mapping), with
 * nothing around it. `handleResponse` only takes the body's bytes.
 */
export const floor = (
  request: HttpServerRequest.HttpServerRequest
): { readonly once: Effect.Effect<void>; readonly sink: FloorSink } => {
  const sink: FloorSink = { status: 0, bytes: new Uint8Array(0) }
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

/** Throws unless `body` is the /json payload. */
export const checkPayload = (body: unknown, who: string): void => {
  if (typeof body !== "object" || body === null || (body as { id?: unknown }).id !== 42) {
    throw new Error(`${who}: unexpected body ${JSON.stringify(body)}`)
  }
}

export const perSecond = (n: number, seconds: number) => n / seconds

export const formatRate = (rate: number) =>
  rate >= 100 ? `${Math.round(rate).toLocaleString("en-US")} req/s` : `${rate.toFixed(1)} req/s`

export const formatRatio = (ratio: number) => (ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2))

/** How many seconds one run of the measurements took, as shown beside each figure. */
export const runNote = (n: number, seconds: number) =>
  `${n.toLocaleString("en-US")} per run, median ${seconds.toFixed(3)} s`
