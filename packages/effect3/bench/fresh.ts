/**
 * Scenario 2: a fresh client per test. Each iteration builds the client, sends one GET,
 * reads the JSON and closes the scope: ours (`TestClient.layer(app)`), against
 *
 * - Effect's trivial-layer floor: building, using and closing a trivial scoped layer (one
 *   service, one finalizer) in `Effect.scoped`, what any per-test layer costs at least;
 * - the same trivial layer with one GET through the pipeline floor in its scope (what the
 *   platform's server pays for the request, see app.ts): the least a fresh client that sends
 *   one request can cost, since the trivial floor sends none;
 * - `NodeHttpServer.layerTest` + `HttpServer.serve(app)` + `HttpClient` (a real server on a
 *   random port, started and stopped each time), for reference.
 *
 * Each subject runs in a process of its own (scripts/bench/fresh.ts; the worker is
 * bench/worker.ts). Target: <= 0.4 ms per test, or <= 3x the trivial-layer floor (met if
 * either holds).
 */
import { fileURLToPath } from "node:url"
import { HttpClient, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Context, Effect, Layer } from "effect"
import * as fresh from "../../../scripts/bench/fresh.js"
import type { Row } from "../../../scripts/bench/harness.js"
import { editionWorker } from "../../../scripts/bench/isolated.js"
import * as TestClient from "../src/Client.js"
import { app, checkPayload, freshRequest, makePipeline, sinkJson, times } from "./app.js"

/** Iterations per run (a worker repeats them to fill a run of about half a second). */
export const counts = { ours: 100, trivial: 1_000, trivialGet: 500, layerTest: 20 }

interface TrivialService {
  readonly value: number
  closed: boolean
}

class Trivial extends Context.Tag("bench/Trivial")<Trivial, TrivialService>() {}

/** A scoped layer with a finalizer that counts its closes. */
const makeTrivial = () => {
  const state = { closed: 0 }
  const layer = Layer.scoped(
    Trivial,
    Effect.acquireRelease(
      Effect.sync((): TrivialService => ({ value: 42, closed: false })),
      (service) =>
        Effect.sync(() => {
          service.closed = true
          state.closed++
        })
    )
  )
  return { layer, state }
}

/** Runs `test` in Effect.scoped, checking after it that the trivial layer closed. */
const closing = <A>(state: { closed: number }, test: Effect.Effect<A>) =>
  Effect.gen(function* () {
    const before = state.closed
    yield* Effect.scoped(test)
    if (state.closed !== before + 1) throw new Error("trivial layer: its finalizer did not run")
  })

export const makers: fresh.Makers = {
  ours: async () => {
    const ours = Effect.scoped(
      Effect.provide(
        Effect.flatMap(TestClient.get("/json"), (r) => Effect.map(r.json, (body) => checkPayload(body, "TestClient"))),
        TestClient.layer(app)
      )
    )
    return {
      name: "TestClient.layer(app) per test",
      n: counts.ours,
      run: () => Effect.runPromise(times(counts.ours, ours))
    }
  },
  trivial: async () => {
    const { layer, state } = makeTrivial()
    const test = closing(
      state,
      Effect.provide(
        Effect.map(Trivial, (service) => checkPayload({ id: service.value }, "trivial layer")),
        layer
      )
    )
    return {
      name: "Effect's trivial-layer floor: Layer.scoped (a finalizer) built, used, closed in Effect.scoped",
      n: counts.trivial,
      run: () => Effect.runPromise(times(counts.trivial, test))
    }
  },
  // One pipeline for the process, as the platform's services are built once per process for ours.
  trivialGet: async () => {
    const pipeline = await makePipeline()
    const { layer, state } = makeTrivial()
    const test = closing(
      state,
      Effect.provide(
        Effect.flatMap(Trivial, (service) =>
          Effect.map(pipeline.handle(freshRequest("/json")), (sink) => {
            if (sink.status !== 200 || service.value !== 42) throw new Error("trivial layer + GET: wrong answer")
            checkPayload(sinkJson(sink), "trivial layer + GET")
          })
        ),
        layer
      )
    )
    return {
      name: "the trivial layer + one GET through the pipeline floor in its scope",
      n: counts.trivialGet,
      run: () => Effect.runPromise(times(counts.trivialGet, test)),
      dispose: pipeline.dispose
    }
  },
  layerTest: async () => {
    const socket = Effect.scoped(
      Effect.provide(
        Effect.flatMap(HttpClient.get("/json"), (r) => Effect.map(r.json, (body) => checkPayload(body, "layerTest"))),
        HttpServer.serve(app).pipe(Layer.provideMerge(NodeHttpServer.layerTest))
      )
    )
    return {
      name: "NodeHttpServer.layerTest + serve(app) per test (reference)",
      n: counts.layerTest,
      run: () => Effect.runPromise(times(counts.layerTest, socket))
    }
  }
}

export const run = (runs: number): Promise<ReadonlyArray<Row>> =>
  fresh.run(editionWorker(fileURLToPath(new URL(".", import.meta.url)), "worker.ts"), runs)
