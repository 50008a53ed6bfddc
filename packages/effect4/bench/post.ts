/**
 * Scenario 3: request bodies and concurrency, as ratios to the pipeline floor (app.ts: what
 * platform-node 4.1's server pays per request minus the socket).
 *
 * - POST /echo with a 64 KiB JSON body: ours sends it with `json:` and reads `r.json`; the
 *   floor gets a fresh request holding the same JSON text (with a client's headers and
 *   `content-type`) each time, runs it in a fiber of its own through `toHandled`, and parses
 *   the echoed bytes.
 * - 1,000 concurrent GET /json on one client (`Effect.forEach`, unbounded concurrency)
 *   against 1,000 concurrent pipeline-floor requests (a fresh request and a fiber each).
 */
import { TestClient } from "@effect-http-testkit/effect4"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { compare, floorPair, makeBody, type Row } from "../../../scripts/bench/harness.js"
import { app, checkPayload, freshRequest, makePipeline, type RateSubject, sinkJson, times } from "./app.js"

/**
 * Requests per run (the concurrent ones: batches of `concurrency`): the Effect 3 edition's,
 * with twice the concurrent batches for the floor's faster runs.
 */
export const counts = { postOurs: 100, postFloor: 100, batchesOurs: 1, batchesFloor: 2 }
const concurrency = 1_000

export const run = async (runs: number): Promise<ReadonlyArray<Row>> => {
  const body = makeBody(64 * 1024)
  const text = JSON.stringify(body)
  const itemCount = body.items.length
  const checkEcho = (echoed: unknown, who: string) => {
    if ((echoed as typeof body).items?.length !== itemCount) throw new Error(`${who}: echo lost the body`)
  }

  const runtime = ManagedRuntime.make(TestClient.layer(app))
  const pipeline = await makePipeline()
  const oursPost = times(
    counts.postOurs,
    Effect.flatMap(TestClient.post("/echo", { json: body }), (r) =>
      Effect.map(r.json, (e) => checkEcho(e, "TestClient"))
    )
  )
  const floorPost = times(
    counts.postFloor,
    Effect.map(
      Effect.suspend(() =>
        pipeline.handle(
          freshRequest("/echo", {
            method: "POST",
            body: text,
            headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) }
          })
        )
      ),
      (sink) => {
        if (sink.status !== 200) throw new Error(`pipeline floor: status ${sink.status}`)
        checkEcho(sinkJson(sink), "pipeline floor")
      }
    )
  )

  const oursGet = Effect.flatMap(TestClient.get("/json"), (r) =>
    Effect.map(r.json, (b) => checkPayload(b, "TestClient"))
  )
  const floorGet = Effect.map(
    Effect.suspend(() => pipeline.handle(freshRequest("/json"))),
    (sink) => checkPayload(sinkJson(sink), "pipeline floor")
  )
  const indices = Array.from({ length: concurrency }, (_, i) => i)
  const oursConcurrent = times(
    counts.batchesOurs,
    Effect.forEach(indices, () => oursGet, { concurrency: "unbounded", discard: true })
  )
  const floorConcurrent = times(
    counts.batchesFloor,
    Effect.forEach(indices, () => floorGet, { concurrency: "unbounded", discard: true })
  )

  const postSubjects: ReadonlyArray<RateSubject> = [
    { name: "TestClient.post json 64 KiB + r.json", n: counts.postOurs, run: () => runtime.runPromise(oursPost) },
    {
      name: "pipeline floor: fresh request with the same JSON + fiber per request",
      n: counts.postFloor,
      run: () => Effect.runPromise(floorPost)
    }
  ]
  const concurrentSubjects: ReadonlyArray<RateSubject> = [
    {
      name: `TestClient.get x ${concurrency} concurrent (one client)`,
      n: counts.batchesOurs * concurrency,
      run: () => runtime.runPromise(oursConcurrent)
    },
    {
      name: `pipeline floor x ${concurrency} concurrent (fresh request + fiber each)`,
      n: counts.batchesFloor * concurrency,
      run: () => Effect.runPromise(floorConcurrent)
    }
  ]
  try {
    const post = await compare(postSubjects, runs)
    const concurrent = await compare(concurrentSubjects, runs)
    return [
      ...floorPair(`POST ${(text.length / 1024).toFixed(0)} KiB JSON`, postSubjects, post),
      ...floorPair(`${concurrency.toLocaleString("en-US")} concurrent GET`, concurrentSubjects, concurrent)
    ]
  } finally {
    await runtime.dispose()
    await pipeline.dispose()
  }
}
