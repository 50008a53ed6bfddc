/**
 * Scenario 6, as far as this edition goes: what tracing costs per request. The Effect 3
 * edition compares its recorded tracing (`TestTracer`, on by default in `TestClient.layer`)
 * with the tracer middleware disabled; so does this one (its layers bundle `TestTracer` too).
 * On the pipeline floor, Effect 4's `toHandled` skips the server span under the native tracer
 * (nothing could observe it), so the floor's untraced run is the default and its traced one
 * installs a tracer that records:
 * `Tracer.make` over Effect's `NativeSpan`, keeping the last 10,000 finished spans (the Effect
 * 3 recorder's limit), as a user's exporter would. The same pair on the pipeline floor.
 */
import { TestClient } from "@effect-http-testkit/effect4"
import * as Effect from "effect/Effect"
import { HttpMiddleware, HttpRouter, HttpServerResponse } from "effect/http"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { compare, formatSpread, type Measurement, paired, perRun, type Row } from "../../../scripts/bench/harness.js"
import {
  app,
  checkPayload,
  formatRates,
  formatRatios,
  freshRequest,
  makePipeline,
  type Pipeline,
  perSecond,
  sinkJson,
  times
} from "./app.js"

export const counts = { traced: 1_000, untraced: 1_000, floor: 3_000 }

const spanLimit = 10_000

/** A tracer keeping the last `spanLimit` finished spans in a ring, and counting them. */
const recordingTracer = () => {
  const ring: Array<Tracer.Span> = []
  let finished = 0
  const tracer = Tracer.make({
    span(options) {
      const span = new Tracer.NativeSpan(options)
      const end = span.end.bind(span)
      span.end = (endTime, exit) => {
        end(endTime, exit)
        ring[finished++ % spanLimit] = span
      }
      return span
    }
  })
  return { tracer, finished: () => finished }
}

export const run = async (runs: number): Promise<ReadonlyArray<Row>> => {
  const recording = recordingTracer()
  // As in the Effect 3 edition: TestClient.layer records every span (its bundled TestTracer);
  // the untraced client serves the same app with the tracer middleware disabled.
  const tracerOff = Layer.succeed(HttpMiddleware.TracerDisabledWhen)(() => true)
  const serveUntraced = (served: typeof app) =>
    TestClient.layerServer(
      HttpRouter.serve(served, { disableListenLog: true, disableLogger: true }).pipe(Layer.provide(tracerOff))
    )
  const traced = ManagedRuntime.make(TestClient.layer(app))
  const untraced = ManagedRuntime.make(serveUntraced(app))
  const floorTraced = await makePipeline(app, { tracer: recording.tracer })
  const floorUntraced = await makePipeline(app)
  try {
    const once = Effect.flatMap(TestClient.get("/json"), (r) =>
      Effect.map(r.json, (b) => checkPayload(b, "TestClient"))
    )
    // Check the premise: a handler sees a server span with the recording tracer, none without.
    const probeApp = HttpRouter.add(
      "GET",
      "/span",
      Effect.map(Effect.option(Effect.currentSpan), (span) =>
        HttpServerResponse.text(Option.isSome(span) ? "Some" : "None")
      )
    )
    const probeText = (runtime: ManagedRuntime.ManagedRuntime<TestClient.TestClient, never>) =>
      runtime.runPromise(Effect.flatMap(TestClient.get("/span"), (r) => r.text))
    const probes = {
      traced: ManagedRuntime.make(TestClient.layer(probeApp)),
      untraced: ManagedRuntime.make(serveUntraced(probeApp))
    }
    const seen = { traced: await probeText(probes.traced), untraced: await probeText(probes.untraced) }
    await probes.traced.dispose()
    await probes.untraced.dispose()
    if (seen.traced !== "Some" || seen.untraced !== "None") {
      throw new Error(`tracing: TestClient.layer saw span ${seen.traced} with the tracer, ${seen.untraced} without`)
    }
    for (const [tracer, expected] of [
      [recording.tracer, "Some"],
      [undefined, "None"]
    ] as const) {
      const probe = await makePipeline(probeApp, { tracer })
      const sink = await Effect.runPromise(probe.handle(freshRequest("/span")))
      await probe.dispose()
      const got = new TextDecoder().decode(sink.bytes)
      if (got !== expected) throw new Error(`tracing: pipeline floor (tracer: ${tracer !== undefined}) saw span ${got}`)
    }
    const floorLoop = (pipeline: Pipeline) =>
      times(
        counts.floor,
        Effect.map(
          Effect.suspend(() => pipeline.handle(freshRequest("/json"))),
          (sink) => checkPayload(sinkJson(sink), "pipeline floor")
        )
      )
    const before = recording.finished()
    const [a, b, fa, fb] = await compare(
      [
        {
          name: "TestClient.layer(app) (traced: its TestTracer records every span)",
          run: () => traced.runPromise(times(counts.traced, once))
        },
        {
          name: "TestClient.layerServer(serve(app), tracer disabled)",
          run: () => untraced.runPromise(times(counts.untraced, once))
        },
        { name: "pipeline floor, a recording tracer installed", run: () => Effect.runPromise(floorLoop(floorTraced)) },
        {
          name: "pipeline floor, Effect's native tracer (untraced)",
          run: () => Effect.runPromise(floorLoop(floorUntraced))
        }
      ],
      runs
    )
    const recorded = recording.finished() - before
    const rate = (m: Measurement, n: number) =>
      `${formatRates(perRun(m, (s) => perSecond(n, s)))} (${n.toLocaleString("en-US")} per run)`
    /** Microseconds per request that tracing adds, per round. */
    const cost = (x: Measurement, nx: number, y: Measurement, ny: number) =>
      formatSpread(
        paired(x, y, (sx, sy) => (sx / nx - sy / ny) * 1e6),
        (v) => v.toFixed(1),
        " µs/request"
      )
    const perRequest = recorded / ((runs + 1) * counts.floor)
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
        value: `${rate(fa, counts.floor)}; tracing costs ${cost(fa, counts.floor, fb, counts.floor)} (${perRequest.toFixed(1)} spans recorded per traced request)`,
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
