/**
 * Streaming 256 MiB through TestClient.stream, against the same app's body read through
 * `HttpApp.toWebHandler`'s ReadableStream (the platform's own in-process path).
 */
import { HttpApp, HttpRouter, HttpServerResponse } from "@effect/platform"
import { Chunk, Effect, Layer, ManagedRuntime, Stream } from "effect"
import * as TestClient from "../src/Client.js"
import { compare, mib, type Row } from "./harness.js"

const chunkSize = 64 * 1024
const total = 256 * 1024 * 1024
// A fresh chunk each time, as a real producer allocates: an unbounded buffer between the
// handler and the reader would then show up as RSS growth.
const produce = Effect.sync(() => new Uint8Array(chunkSize))

const app = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/big",
    Effect.succeed(
      HttpServerResponse.stream(Stream.repeatEffect(produce).pipe(Stream.take(total / chunkSize)), {
        contentType: "application/octet-stream"
      })
    )
  )
)

export const run = async (runs: number): Promise<ReadonlyArray<Row>> => {
  const runtime = ManagedRuntime.make(Layer.mergeAll(TestClient.layer(app)))
  const webHandler = HttpApp.toWebHandler(app)

  const viaTestClient = async () => {
    const received = await runtime.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const r = yield* TestClient.stream("GET", "/big")
          let bytes = 0
          yield* Stream.runForEachChunk(r.stream, (c) =>
            Effect.sync(() => {
              for (const piece of Chunk.toReadonlyArray(c)) bytes += piece.length
            })
          )
          return bytes
        })
      )
    )
    if (received !== total) throw new Error(`TestClient.stream read ${received} bytes, expected ${total}`)
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

  const [ours, web] = await compare(
    [
      { name: "TestClient.stream", run: viaTestClient },
      { name: "HttpApp.toWebHandler ReadableStream", run: viaWebHandler }
    ],
    runs
  )
  await runtime.dispose()
  const throughput = (m: { seconds: number }) => total / m.seconds
  const ratio = throughput(ours) / throughput(web)
  return [
    {
      scenario: "stream 256 MiB",
      subject: web.name,
      value: `${mib(throughput(web))}/s (median ${web.seconds.toFixed(3)} s)`
    },
    {
      scenario: "stream 256 MiB",
      subject: ours.name,
      value: `${mib(throughput(ours))}/s (median ${ours.seconds.toFixed(3)} s)`,
      ratio: `${ratio.toFixed(2)}x toWebHandler`,
      target: ">= 0.8x",
      met: ratio >= 0.8
    },
    {
      scenario: "stream 256 MiB",
      subject: `${ours.name} peak RSS growth`,
      value: mib(ours.rssGrowth),
      target: "<= 64 MiB",
      met: ours.rssGrowth <= 64 * 1024 * 1024
    },
    {
      scenario: "stream 256 MiB",
      subject: `${web.name} peak RSS growth`,
      value: mib(web.rssGrowth)
    }
  ]
}
