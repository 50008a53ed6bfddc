/**
 * Scenario 2: a fresh client per test. Each iteration builds the client, sends one GET,
 * reads the JSON and closes the scope: ours (`TestClient.layer(app)`) against
 * `NodeHttpServer.layerTest` + `HttpServer.serve(app)` + `HttpClient` (a real server on a
 * random port, started and stopped each time).
 */
import { HttpClient, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as TestClient from "../src/Client.js"
import { app, checkPayload, formatRatio, perSecond, runNote, times } from "./app.js"
import { compare, type Row } from "./harness.js"

/** Iterations per run. */
export const counts = { ours: 100, layerTest: 40 }

export const run = async (runs: number): Promise<ReadonlyArray<Row>> => {
  const ours = Effect.scoped(
    Effect.provide(
      Effect.flatMap(TestClient.get("/json"), (r) => Effect.map(r.json, (body) => checkPayload(body, "TestClient"))),
      TestClient.layer(app)
    )
  )
  const socket = Effect.scoped(
    Effect.provide(
      Effect.flatMap(HttpClient.get("/json"), (r) => Effect.map(r.json, (body) => checkPayload(body, "layerTest"))),
      HttpServer.serve(app).pipe(Layer.provideMerge(NodeHttpServer.layerTest))
    )
  )
  const subjects = [
    { name: "TestClient.layer(app) per test", n: counts.ours, run: () => Effect.runPromise(times(counts.ours, ours)) },
    {
      name: "NodeHttpServer.layerTest + serve(app) per test",
      n: counts.layerTest,
      run: () => Effect.runPromise(times(counts.layerTest, socket))
    }
  ]
  const [a, b] = await compare(subjects, runs)
  const rateA = perSecond(subjects[0].n, a.seconds)
  const rateB = perSecond(subjects[1].n, b.seconds)
  const ratio = rateA / rateB
  const value = (rate: number, n: number, seconds: number) =>
    `${rate.toFixed(0)} tests/s, ${((1000 * seconds) / n).toFixed(3)} ms each (${runNote(n, seconds)})`
  return [
    { scenario: "fresh client per test", subject: b.name, value: value(rateB, subjects[1].n, b.seconds) },
    {
      scenario: "fresh client per test",
      subject: a.name,
      value: value(rateA, subjects[0].n, a.seconds),
      ratio: `${formatRatio(ratio)}x layerTest`,
      target: ">= 20x",
      met: ratio >= 20
    }
  ]
}
