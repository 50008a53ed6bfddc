/**
 * Streaming 256 MiB through TestClient.stream, against the direct floor: the same app's
 * response body Stream run to its end inside the handler fiber, as platform-node's server
 * writes it (the pipeline floor of app.ts: a fresh request, a fiber, `toHandled`). The body
 * read through `HttpEffect.toWebHandler`'s ReadableStream is kept as a reference line.
 */
import { TestClient } from "@effect-http-testkit/effect4"
import * as Effect from "effect/Effect"
import { HttpEffect, HttpRouter, HttpServerResponse } from "effect/http"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Stream from "effect/Stream"
import {
  compare,
  formatRss,
  formatSpread,
  type Measurement,
  mib,
  paired,
  perRun,
  type Row
} from "../../../scripts/bench/harness.js"
import { formatRatios, freshRequest, makePipeline } from "./app.js"

const chunkSize = 64 * 1024
const total = 256 * 1024 * 1024
const rssLimit = 64 * 1024 * 1024
// A fresh chunk each time, as a real producer allocates: an unbounded buffer between the
// handler and the reader would then show up as RSS growth.
const produce = Effect.sync(() => new Uint8Array(chunkSize))

const app = HttpRouter.add(
  "GET",
  "/big",
  Effect.sync(() =>
    HttpServerResponse.stream(Stream.fromEffectRepeat(produce).pipe(Stream.take(total / chunkSize)), {
      contentType: "application/octet-stream"
    })
  )
)

export const run = async (runs: number): Promise<ReadonlyArray<Row>> => {
  const runtime = ManagedRuntime.make(TestClient.layer(app))
  const pipeline = await makePipeline(app)
  const webHandler = HttpEffect.toWebHandlerWith(pipeline.served.context)(
    pipeline.served.httpEffect,
    pipeline.served.middleware
  )

  const viaTestClient = async () => {
    const received = await runtime.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const r = yield* TestClient.stream("GET", "/big")
          let bytes = 0
          yield* Stream.runForEachArray(r.stream, (chunks) =>
            Effect.sync(() => {
              for (const piece of chunks) bytes += piece.length
            })
          )
          return bytes
        })
      )
    )
    if (received !== total) throw new Error(`TestClient.stream read ${received} bytes, expected ${total}`)
  }

  const viaDirect = async () => {
    const sink = await Effect.runPromise(pipeline.handle(freshRequest("/big")))
    if (sink.status !== 200 || sink.streamed !== total) {
      throw new Error(`direct floor: status ${sink.status}, read ${sink.streamed} bytes, expected ${total}`)
    }
  }

  const viaWebHandler = async () => {
    const response = await webHandler(new Request("http://bench/big"))
    const reader = response.body!.getReader()
    let bytes = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      bytes += value.length
    }
    if (bytes !== total) throw new Error(`toWebHandler read ${bytes} bytes, expected ${total}`)
  }

  let measured: ReadonlyArray<Measurement>
  try {
    measured = await compare(
      [
        { name: "TestClient.stream", run: viaTestClient },
        { name: "direct floor: the body Stream run in the handler fiber (toHandled)", run: viaDirect },
        { name: "HttpEffect.toWebHandler ReadableStream (reference)", run: viaWebHandler }
      ],
      runs
    )
  } finally {
    await runtime.dispose()
    await pipeline.dispose()
  }
  const [ours, direct, web] = measured
  const throughput = (m: Measurement) =>
    formatSpread(
      perRun(m, (s) => total / s),
      (b) => (b / 1024 / 1024).toFixed(0),
      " MiB/s"
    )
  const ratio = (base: Measurement) => paired(ours, base, (a, b) => b / a)
  const toDirect = ratio(direct)
  const scenario = "stream 256 MiB"
  return [
    { scenario, subject: direct.name, value: throughput(direct) },
    {
      scenario,
      subject: web.name,
      value: throughput(web),
      ratio: `ours ${formatRatios(ratio(web))}`
    },
    {
      scenario,
      subject: ours.name,
      value: throughput(ours),
      ratio: `${formatRatios(toDirect)} direct floor`,
      target: ">= 0.95x",
      met: toDirect.median >= 0.95
    },
    {
      scenario,
      subject: `${ours.name} peak RSS growth`,
      value: `${formatRss(ours)}, max ${mib(ours.rssGrowth)}`,
      target: `<= ${mib(rssLimit)}`,
      met: ours.rssGrowth <= rssLimit
    },
    { scenario, subject: `${direct.name} peak RSS growth`, value: formatRss(direct) },
    { scenario, subject: `${web.name} peak RSS growth`, value: formatRss(web) }
  ]
}
