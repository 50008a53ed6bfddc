/**
 * Scenario 3: request bodies and concurrency, as ratios to the platform's own floor
 * (`HttpApp.toHandled` with no client around it).
 *
 * - POST /echo with a 64 KiB JSON body: ours sends it with `json:` and reads `r.json`; the
 *   floor gets a fresh web `Request` holding the same JSON text each time (a reused one
 *   would cache its body), runs it through `toHandled`, and parses the echoed bytes.
 * - 1,000 concurrent GET /json on one client (`Effect.forEach`, unbounded concurrency)
 *   against 1,000 concurrent floor runs of the prebuilt request.
 */
import { HttpServerRequest } from "@effect/platform"
import { Effect, ManagedRuntime } from "effect"
import * as TestClient from "../src/Client.js"
import { app, checkPayload, floor, formatRate, formatRatio, perSecond, runNote, times } from "./app.js"
import { compare, type Row } from "./harness.js"

/** Requests per run (the concurrent ones: batches of `concurrency`). */
export const counts = { postOurs: 150, postFloor: 150, batchesOurs: 1, batchesFloor: 2 }
const concurrency = 1_000

/** About 64 KiB of JSON: an array of small records. */
export const makeBody = (bytes: number) => {
  const items: Array<{ id: number; name: string; tags: ReadonlyArray<string>; active: boolean }> = []
  let size = 2
  for (let id = 0; size < bytes; id++) {
    const item = { id, name: `item-${id}-${"x".repeat(id % 17)}`, tags: ["alpha", "beta"], active: id % 2 === 0 }
    size += JSON.stringify(item).length + 1
    items.push(item)
  }
  return { items }
}

const decoder = new TextDecoder()

export const run = async (runs: number): Promise<ReadonlyArray<Row>> => {
  const body = makeBody(64 * 1024)
  const text = JSON.stringify(body)
  const itemCount = body.items.length
  const checkEcho = (echoed: unknown, who: string) => {
    if ((echoed as typeof body).items?.length !== itemCount) throw new Error(`${who}: echo lost the body`)
  }

  const runtime = ManagedRuntime.make(TestClient.layer(app))
  const oursPost = times(
    counts.postOurs,
    Effect.flatMap(TestClient.post("/echo", { json: body }), (r) =>
      Effect.map(r.json, (e) => checkEcho(e, "TestClient"))
    )
  )
  const floorPost = times(
    counts.postFloor,
    Effect.suspend(() => {
      const request = HttpServerRequest.fromWeb(
        new Request("http://bench/echo", {
          method: "POST",
          body: text,
          headers: { "content-type": "application/json" }
        })
      )
      const { once, sink } = floor(request)
      return Effect.map(once, () => checkEcho(JSON.parse(decoder.decode(sink.bytes)), "floor"))
    })
  )

  const oursGet = Effect.flatMap(TestClient.get("/json"), (r) =>
    Effect.map(r.json, (b) => checkPayload(b, "TestClient"))
  )
  const indices = Array.from({ length: concurrency }, (_, i) => i)
  const oursConcurrent = times(
    counts.batchesOurs,
    Effect.forEach(indices, () => oursGet, { concurrency: "unbounded", discard: true })
  )
  const prebuilt = HttpServerRequest.fromWeb(new Request("http://bench/json"))
  const floorOnce = floor(prebuilt).once
  const floorConcurrent = times(
    counts.batchesFloor,
    Effect.forEach(indices, () => floorOnce, { concurrency: "unbounded", discard: true })
  )

  const post = await compare(
    [
      { name: "TestClient.post json 64 KiB + r.json", run: () => runtime.runPromise(oursPost) },
      { name: "floor: toHandled, fresh Request with the same JSON", run: () => Effect.runPromise(floorPost) }
    ],
    runs
  )
  const concurrent = await compare(
    [
      {
        name: `TestClient.get x ${concurrency} concurrent (one client)`,
        run: () => runtime.runPromise(oursConcurrent)
      },
      { name: `floor: toHandled x ${concurrency} concurrent`, run: () => Effect.runPromise(floorConcurrent) }
    ],
    runs
  )
  await runtime.dispose()

  const rows: Array<Row> = []
  const pair = (
    scenario: string,
    [ours, base]: ReadonlyArray<{ name: string; seconds: number }>,
    nOurs: number,
    nBase: number
  ) => {
    const a = perSecond(nOurs, ours.seconds)
    const b = perSecond(nBase, base.seconds)
    rows.push({ scenario, subject: base.name, value: `${formatRate(b)} (${runNote(nBase, base.seconds)})` })
    rows.push({
      scenario,
      subject: ours.name,
      value: `${formatRate(a)} (${runNote(nOurs, ours.seconds)})`,
      ratio: `${formatRatio(a / b)}x floor`
    })
  }
  pair(`POST ${(text.length / 1024).toFixed(0)} KiB JSON`, post, counts.postOurs, counts.postFloor)
  pair(
    `${concurrency.toLocaleString("en-US")} concurrent GET`,
    concurrent,
    counts.batchesOurs * concurrency,
    counts.batchesFloor * concurrency
  )
  return rows
}
