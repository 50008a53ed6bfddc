/**
 * Streaming 256 MiB through TestClient.stream, against the direct floor: the same app's
 * response body Stream run to its end inside the handler fiber, as platform-node's server
 * writes it (the pipeline floor of app.ts: a fresh request, a fiber, `toHandled`). The body
 * read through `HttpApp.toWebHandler`'s ReadableStream is kept as a reference line. Each
 * subject runs in a process of its own (scripts/bench/streaming.ts; the worker is
 * bench/worker.ts).
 */
import { fileURLToPath } from "node:url"
import { HttpApp, HttpRouter, HttpServerResponse } from "@effect/platform"
import { Chunk, Effect, ManagedRuntime, Stream } from "effect"
import type { Row } from "../../../scripts/bench/harness.js"
import { editionWorker } from "../../../scripts/bench/isolated.js"
import * as streaming from "../../../scripts/bench/streaming.js"
import * as TestClient from "../src/Client.js"
import { freshRequest, makePipeline } from "./app.js"

const { chunkSize, total, streamingSubject } = streaming

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

export const makers: streaming.Makers = {
  ours: async () => {
    const runtime = ManagedRuntime.make(TestClient.layer(app))
    const read = Effect.scoped(
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
    return {
      ...streamingSubject("TestClient.stream", async () => {
        streaming.checkBytes("TestClient.stream", await runtime.runPromise(read))
      }),
      dispose: () => runtime.dispose()
    }
  },
  direct: async () => {
    const pipeline = await makePipeline(app)
    return {
      ...streamingSubject("direct floor: the body Stream run in the handler fiber (toHandled)", async () => {
        streaming.checkDirect(await Effect.runPromise(pipeline.handle(freshRequest("/big"))))
      }),
      dispose: pipeline.dispose
    }
  },
  web: async () => streaming.webSubject("HttpApp.toWebHandler ReadableStream (reference)", HttpApp.toWebHandler(app))
}

export const run = (runs: number): Promise<ReadonlyArray<Row>> =>
  streaming.run(editionWorker(fileURLToPath(new URL(".", import.meta.url)), "worker.ts"), runs)
