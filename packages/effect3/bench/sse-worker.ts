/**
 * One SSE subject on one chunking, in a process of its own (see scripts/bench/sse.ts):
 *
 *   node --expose-gc ../../node_modules/vite-node/vite-node.mjs --config vitest.config.ts bench/sse-worker.ts <ours|parser> <chunking>
 *
 * `ours` is this edition's `TestStream.sse`; the loop and the parser subject are shared
 * (scripts/bench/sse-worker.ts).
 */
import { Chunk, Effect, Option, Stream } from "effect"
import type { Chunking, Input } from "../../../scripts/bench/sse.js"
import { check } from "../../../scripts/bench/sse.js"
import { serveWorker } from "../../../scripts/bench/sse-worker.js"
import * as TestStream from "../src/Stream.js"

/** The byte chunks as a Stream: all in one Stream chunk, or one per Stream chunk (as a body arrives). */
const source = (chunking: Chunking, chunks: ReadonlyArray<Uint8Array>): Stream.Stream<Uint8Array> =>
  chunking.delivery === "one Stream chunk"
    ? Stream.fromIterable(chunks)
    : Stream.unfoldChunk(0, (i) =>
        i < chunks.length ? Option.some([Chunk.of(chunks[i]), i + 1] as const) : Option.none()
      )

/** TestStream.sse over the chunks, folded over its event chunks: count, data length, ticks. */
const viaOurs = (chunking: Chunking, input: Input) => {
  const stream = source(chunking, input.chunks)
  // Folded over the event chunks: `Stream.runForEachChunk` keeps every chunk reachable until
  // the stream ends in effect 3.22, which would bill the consumer's cost to the parser.
  const parse = Effect.suspend(() =>
    Stream.runFold(Stream.chunks(TestStream.sse(stream)), { events: 0, dataLength: 0, ticks: 0 }, (state, events) => {
      state.events += Chunk.size(events)
      for (const event of events) {
        state.dataLength += event.data?.length ?? 0
        if (event.event === "tick") state.ticks++
      }
      return state
    })
  )
  return async () => check("TestStream.sse", input.expected, await Effect.runPromise(parse))
}

serveWorker(viaOurs)
