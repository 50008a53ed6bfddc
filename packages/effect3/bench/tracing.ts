/**
 * Scenario 6: what tracing and work tracking cost per request. The same sequential GET
 * round trip on one client, through `TestClient.layer(app)` (every request traced into the
 * recorder) and through `TestClient.layerServer` with the tracer middleware disabled. For
 * scale, the same pair on the pipeline floor (app.ts; Effect's native tracer, or none).
 */
import { HttpMiddleware, HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { Effect, ManagedRuntime } from "effect"
import { compare, formatSpread, type Measurement, paired, perRun, type Row } from "../../../scripts/bench/harness.js"
import * as TestClient from "../src/Client.js"
import {
  app,
  checkPayload,
  formatRates,
  formatRatios,
  freshRequest,
  makePipeline,
  perSecond,
  sinkJson,
  times
} from "./app.js"

export const counts = { traced: 600, untraced: 600, floor: 1_500 }

export const run = async (runs: number): Promise<ReadonlyArray<Row>> => {
  const traced = ManagedRuntime.make(TestClient.layer(app))
  const untraced = ManagedRuntime.make(
    TestClient.layerServer(HttpServer.serve(app).pipe(HttpMiddleware.withTracerDisabledWhen(() => true)))
  )
  const floorTraced = await makePipeline(app)
  const floorUntraced = await makePipeline(app, { tracerDisabled: true })
  try {
    const once = Effect.flatMap(TestClient.get("/json"), (r) =>
      Effect.map(r.json, (b) => checkPayload(b, "TestClient"))
    )
    // Check the premise: the first really traces the request, the second does not.
    const spanIds = Effect.map(TestClient.get("/json"), (r) => r.spanId)
    if ((await traced.runPromise(spanIds)) === "" || (await untraced.runPromise(spanIds)) !== "") {
      throw new Error("tracing: expected a server span with TestClient.layer and none with the tracer disabled")
    }
    // The same premise for the floor's two runtimes: a handler sees the server span, or none.
    const probeApp = HttpRouter.empty.pipe(
      HttpRouter.get(
        "/span",
        Effect.map(Effect.option(Effect.currentSpan), (span) => HttpServerResponse.text(span._tag))
      )
    )
    for (const [tracerDisabled, expected] of [
      [false, "Some"],
      [true, "None"]
    ] as const) {
      const probe = await makePipeline(probeApp, { tracerDisabled })
      const sink = await Effect.runPromise(probe.handle(freshRequest("/span")))
      await probe.dispose()
      const got = new TextDecoder().decode(sink.bytes)
      if (got !== expected)
        throw new Error(`tracing: pipeline floor (tracer disabled: ${tracerDisabled}) saw span ${got}`)
    }
    const floorLoop = (pipeline: typeof floorTraced) =>
      times(
        counts.floor,
        Effect.map(
          Effect.suspend(() => pipeline.handle(freshRequest("/json"))),
          (sink) => checkPayload(sinkJson(sink), "pipeline floor")
        )
      )
    const [a, b, fa, fb] = await compare(
      [
        { name: "TestClient.layer(app) (traced)", run: () => traced.runPromise(times(counts.traced, once)) },
        {
          name: "TestClient.layerServer(serve(app), tracer disabled)",
          run: () => untraced.runPromise(times(counts.untraced, once))
        },
        { name: "pipeline floor (native tracer)", run: () => Effect.runPromise(floorLoop(floorTraced)) },
        { name: "pipeline floor, tracer disabled", run: () => Effect.runPromise(floorLoop(floorUntraced)) }
      ],
      runs
    )
    const rate = (m: Measurement, n: number) =>
      `${formatRates(perRun(m, (s) => perSecond(n, s)))} (${n.toLocaleString("en-US")} per run)`
    /** Microseconds per request that tracing adds, per round. */
    const cost = (x: Measurement, nx: number, y: Measurement, ny: number) =>
      formatSpread(
        paired(x, y, (sx, sy) => (sx / nx - sy / ny) * 1e6),
        (v) => v.toFixed(1),
        " µs/request"
      )
    const scenario = "tracing cost (GET round trip)"
    return [
      { scenario, subject: b.name, value: rate(b, counts.untraced) },
      {
        scenario,
        subject: a.name,
        value: `${rate(a, counts.traced)}; tracing costs ${cost(a, counts.traced, b, counts.untraced)}`,
        ratio: `${formatRatios(paired(a, b, (x, y) => perSecond(counts.traced, x) / perSecond(counts.untraced, y)))} untraced`
      },
      { scenario, subject: fb.name, value: rate(fb, counts.floor) },
      {
        scenario,
        subject: fa.name,
        value: `${rate(fa, counts.floor)}; tracing costs ${cost(fa, counts.floor, fb, counts.floor)}`,
        ratio: `${formatRatios(paired(fa, fb, (x, y) => y / x))} untraced`
      }
    ]
  } finally {
    await traced.dispose()
    await untraced.dispose()
    await floorTraced.dispose()
    await floorUntraced.dispose()
  }
}
