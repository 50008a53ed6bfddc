/**
 * One SSE subject on one chunking, in a process of its own (see scripts/bench/sse.ts):
 *
 *   node --expose-gc ../../node_modules/vite-node/vite-node.mjs --config vitest.config.ts bench/sse-worker.ts <ours|streamParser|parser> <chunking>
 *
 * `ours` is this edition's `TestStream.sse`, `streamParser` eventsource-parser as a stage of
 * the same Stream; the loop and the array-fed parser are shared (scripts/bench/sse-worker.ts).
 */
import { type Cause, Channel, Chunk, Effect, Option, Stream } from "effect"
import type { EventSourceMessage } from "eventsource-parser"
import type { Chunking } from "../../../scripts/bench/sse.js"
import { collectingParser, eventsOfNextChunks, serveWorker, tally } from "../../../scripts/bench/sse-worker.js"
import * as TestStream from "../src/Stream.js"

/** The byte chunks as a Stream: all in one Stream chunk, or one per Stream chunk (as a body arrives). */
const source = (chunking: Chunking, chunks: ReadonlyArray<Uint8Array>): Stream.Stream<Uint8Array> =>
  chunking.delivery === "one Stream chunk"
    ? // One Stream chunk indeed (Stream.fromIterable would cut it every 4,096 elements).
      Stream.fromChunk(Chunk.unsafeFromArray([...chunks]))
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

/**
 * eventsource-parser as a stage of the Stream, in `TestStream.sse`'s shape (a channel that
 * parses each Stream chunk's byte chunks one at a time and writes the events of each that
 * completes any). Every input ends on a complete event and character: nothing is left to
 * flush at the end.
 */
const parserChannel = <E>(): Channel.Channel<
  Chunk.Chunk<EventSourceMessage>,
  Chunk.Chunk<Uint8Array>,
  E,
  E,
  unknown,
  unknown
> => {
  type Parsing = Channel.Channel<Chunk.Chunk<EventSourceMessage>, Chunk.Chunk<Uint8Array>, E, E, unknown, unknown>
  const parser = collectingParser()
  const from = (chunks: ReadonlyArray<Uint8Array>, at: { index: number }): Parsing => {
    const events = eventsOfNextChunks(parser, chunks, at)
    if (events === undefined) return loop
    const rest = at.index === chunks.length ? loop : Channel.suspend(() => from(chunks, at))
    return Channel.zipRight(Channel.write(Chunk.unsafeFromArray(events)), rest)
  }
  const loop: Parsing = Channel.readWithCause({
    onInput: (chunk: Chunk.Chunk<Uint8Array>) => from(Chunk.toReadonlyArray(chunk), { index: 0 }),
    onFailure: (cause: Cause.Cause<E>) => Channel.failCause(cause),
    onDone: () => Channel.void
  })
  return loop
}

serveWorker({
  ours: (chunking, input) => () => fold(TestStream.sse(source(chunking, input.chunks))),
  streamParser: (chunking, input) => () =>
    fold(Stream.suspend(() => Stream.pipeThroughChannel(source(chunking, input.chunks), parserChannel<never>())))
})
