/**
 * One SSE subject on one chunking, in a process of its own (see scripts/bench/sse.ts):
 *
 *   node --expose-gc ../../node_modules/vite-node/vite-node.mjs --config vitest.config.ts bench/sse-worker.ts <ours|streamParser|parser> <chunking>
 *
 * `ours` is this edition's `TestStream.sse`, `streamParser` eventsource-parser as a stage of
 * the same Stream; the loop and the array-fed parser are shared (scripts/bench/sse-worker.ts).
 */
import { Chunk, Effect, Option, Stream } from "effect"
import type { Chunking } from "../../../scripts/bench/sse.js"
import { collectingParser, serveWorker, tally } from "../../../scripts/bench/sse-worker.js"
import * as TestStream from "../src/Stream.js"

/** The byte chunks as a Stream: all in one Stream chunk, or one per Stream chunk (as a body arrives). */
const source = (chunking: Chunking, chunks: ReadonlyArray<Uint8Array>): Stream.Stream<Uint8Array> =>
  chunking.delivery === "one Stream chunk"
    ? Stream.fromIterable(chunks)
    : Stream.unfoldChunk(0, (i) =>
        i < chunks.length ? Option.some([Chunk.of(chunks[i]), i + 1] as const) : Option.none()
      )

/**
 * Folds a Stream of events over its chunks: count, data length, ticks. (`Stream.runForEachChunk`
 * keeps every chunk reachable until the stream ends in effect 3.22, which would bill the
 * consumer's cost to the parser.)
 */
const fold = <A extends { readonly data?: string | undefined; readonly event?: string | undefined }>(
  events: Stream.Stream<A>
) =>
  Effect.runPromise(
    Effect.suspend(() => Stream.runFold(Stream.chunks(events), { events: 0, dataLength: 0, ticks: 0 }, tally))
  )

serveWorker({
  ours: (chunking, input) => () => fold(TestStream.sse(source(chunking, input.chunks))),
  // Every input ends on a complete event and character: nothing is left to flush at the end.
  streamParser: (chunking, input) => () =>
    fold(
      Stream.suspend(() => {
        const parser = collectingParser()
        return Stream.mapChunks(source(chunking, input.chunks), (chunk) => {
          for (const bytes of chunk) parser.feed(bytes)
          return Chunk.unsafeFromArray(parser.take())
        })
      })
    )
})
