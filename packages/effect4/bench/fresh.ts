/**
 * Scenario 2: a fresh client per test. Each iteration builds the client, sends one GET,
 * reads the JSON and closes the scope: ours (`TestClient.layer(app)`), against
 *
 * - Effect's trivial-layer floor: building, using and closing a trivial scoped layer (one
 *   service, one finalizer) in `Effect.scoped`, what any per-test layer costs at least;
 * - `NodeHttpServer.layerTest` + `HttpRouter.serve(app)` + `HttpClient` (a real server on a
 *   random port, started and stopped each time), for reference.
 *
 * Target (the Effect 3 edition's): <= 0.4 ms per test, or <= 3x the trivial-layer floor (met
 * if either holds).
 */
import { NodeHttpServer } from "@effect/platform-node"
import { TestClient } from "@effect-http-testkit/effect4"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { HttpClient, HttpRouter } from "effect/http"
import * as Layer from "effect/Layer"
import { compare, formatSpread, type Measurement, paired, perRun, type Row } from "../../../scripts/bench/harness.js"
import { app, checkPayload, formatRatios, serveOptions, times } from "./app.js"

/** Iterations per run: the Effect 3 edition's 100 / 1,000 / 20, scaled to Effect 4's faster runs. */
export const counts = { ours: 200, trivial: 5_000, layerTest: 50 }

const targets = { millis: 0.4, ratio: 3 }

interface TrivialService {
  readonly value: number
  closed: boolean
}

class Trivial extends Context.Service<Trivial, TrivialService>()("bench/Trivial") {}

export const run = async (runs: number): Promise<ReadonlyArray<Row>> => {
  const ours = Effect.scoped(
    Effect.provide(
      Effect.flatMap(TestClient.get("/json"), (r) => Effect.map(r.json, (body) => checkPayload(body, "TestClient"))),
      TestClient.layer(app)
    )
  )
  // A scoped layer with a finalizer; the test checks the service it got, and after the
  // scope closed, that the finalizer ran.
  let closed = 0
  const trivialLayer = Layer.effect(
    Trivial,
    Effect.acquireRelease(
      Effect.sync((): TrivialService => ({ value: 42, closed: false })),
      (service) =>
        Effect.sync(() => {
          service.closed = true
          closed++
        })
    )
  )
  const trivial = Effect.gen(function* () {
    const before = closed
    yield* Effect.scoped(
      Effect.provide(
        Effect.map(Effect.service(Trivial), (service) => checkPayload({ id: service.value }, "trivial layer")),
        trivialLayer
      )
    )
    if (closed !== before + 1) throw new Error("trivial layer: its finalizer did not run")
  })
  const socket = Effect.scoped(
    Effect.provide(
      Effect.flatMap(HttpClient.get("/json"), (r) => Effect.map(r.json, (body) => checkPayload(body, "layerTest"))),
      HttpRouter.serve(app, serveOptions).pipe(Layer.provideMerge(NodeHttpServer.layerTest))
    )
  )
  const subjects = [
    { name: "TestClient.layer(app) per test", n: counts.ours, run: () => Effect.runPromise(times(counts.ours, ours)) },
    {
      name: "Effect's trivial-layer floor: Layer.effect (a finalizer) built, used, closed in Effect.scoped",
      n: counts.trivial,
      run: () => Effect.runPromise(times(counts.trivial, trivial))
    },
    {
      name: "NodeHttpServer.layerTest + serve(app) per test (reference)",
      n: counts.layerTest,
      run: () => Effect.runPromise(times(counts.layerTest, socket))
    }
  ]
  const measured = await compare(subjects, runs)
  const [a, floor, socketM] = measured
  const millis = (m: Measurement, n: number) => perRun(m, (s) => (1000 * s) / n)
  const value = (m: Measurement, n: number) =>
    `${formatSpread(millis(m, n), (x) => x.toFixed(3), " ms")} per test (${n.toLocaleString("en-US")} per run)`
  const oursMillis = millis(a, counts.ours)
  const toFloor = paired(a, floor, (x, y) => x / counts.ours / (y / counts.trivial))
  const vsSocket = paired(a, socketM, (x, y) => y / counts.layerTest / (x / counts.ours))
  const met = oursMillis.median <= targets.millis || toFloor.median <= targets.ratio
  const scenario = "fresh client per test"
  return [
    { scenario, subject: floor.name, value: value(floor, counts.trivial) },
    {
      scenario,
      subject: socketM.name,
      value: value(socketM, counts.layerTest),
      ratio: `ours ${formatRatios(vsSocket)} faster`
    },
    {
      scenario,
      subject: a.name,
      value: value(a, counts.ours),
      ratio: `${formatRatios(toFloor)} trivial-layer floor's time`,
      target: `<= ${targets.millis} ms or <= ${targets.ratio}x floor`,
      met
    }
  ]
}
