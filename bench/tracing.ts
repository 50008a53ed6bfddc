/**
 * Scenario 6: what tracing and work tracking cost per request. The same sequential GET
 * round trip on one client, through `TestClient.layer(app)` (every request traced into the
 * recorder) and through `TestClient.layerServer` with the tracer middleware disabled. For
 * scale, the same pair on the floor (`toHandled`, Effect's native tracer, or none).
 */
import { HttpMiddleware, HttpServer, HttpServerRequest } from "@effect/platform"
import { Effect, ManagedRuntime } from "effect"
import * as TestClient from "../src/Client.js"
import { app, checkPayload, floor, formatRate, formatRatio, perSecond, runNote, times } from "./app.js"
import { compare, type Row } from "./harness.js"

export const counts = { traced: 3_000, untraced: 3_000, floor: 8_000 }

export const run = async (runs: number): Promise<ReadonlyArray<Row>> => {
  const traced = ManagedRuntime.make(TestClient.layer(app))
  const untraced = ManagedRuntime.make(
    TestClient.layerServer(HttpServer.serve(app).pipe(HttpMiddleware.withTracerDisabledWhen(() => true)))
  )
  const once = Effect.flatMap(TestClient.get("/json"), (r) => Effect.map(r.json, (b) => checkPayload(b, "TestClient")))
  // Check the premise: the first really traces the request, the second does not.
  const spanIds = Effect.map(TestClient.get("/json"), (r) => r.spanId)
  if ((await traced.runPromise(spanIds)) === "" || (await untraced.runPromise(spanIds)) !== "") {
    throw new Error("tracing: expected a server span with TestClient.layer and none with the tracer disabled")
  }
  const floorOnce = floor(HttpServerRequest.fromWeb(new Request("http://bench/json"))).once
  const floorTraced = times(counts.floor, floorOnce)
  const floorUntraced = Effect.locally(floorTraced, HttpMiddleware.currentTracerDisabledWhen, () => true)
  const [a, b, fa, fb] = await compare(
    [
      { name: "TestClient.layer(app) (traced)", run: () => traced.runPromise(times(counts.traced, once)) },
      {
        name: "TestClient.layerServer(serve(app), tracer disabled)",
        run: () => untraced.runPromise(times(counts.untraced, once))
      },
      { name: "floor: toHandled (native tracer)", run: () => Effect.runPromise(floorTraced) },
      { name: "floor: toHandled, tracer disabled", run: () => Effect.runPromise(floorUntraced) }
    ],
    runs
  )
  await traced.dispose()
  await untraced.dispose()
  const rateA = perSecond(counts.traced, a.seconds)
  const rateB = perSecond(counts.untraced, b.seconds)
  const costMicros = (1 / rateA - 1 / rateB) * 1e6
  const rateFa = perSecond(counts.floor, fa.seconds)
  const rateFb = perSecond(counts.floor, fb.seconds)
  const floorCost = (1 / rateFa - 1 / rateFb) * 1e6
  const scenario = "tracing cost (GET round trip)"
  return [
    { scenario, subject: b.name, value: `${formatRate(rateB)} (${runNote(counts.untraced, b.seconds)})` },
    {
      scenario,
      subject: a.name,
      value: `${formatRate(rateA)} (${runNote(counts.traced, a.seconds)}); tracing costs ${costMicros.toFixed(1)} µs/request`,
      ratio: `${formatRatio(rateA / rateB)}x untraced`
    },
    { scenario, subject: fb.name, value: `${formatRate(rateFb)} (${runNote(counts.floor, fb.seconds)})` },
    {
      scenario,
      subject: fa.name,
      value: `${formatRate(rateFa)} (${runNote(counts.floor, fa.seconds)}); tracing costs ${floorCost.toFixed(1)} µs/request`,
      ratio: `${formatRatio(rateFa / rateFb)}x untraced`
    }
  ]
}
