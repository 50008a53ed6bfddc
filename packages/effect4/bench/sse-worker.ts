/**
 * One SSE subject on one chunking, in a process of its own (see scripts/bench/sse.ts):
 *
 *   node --expose-gc ../../node_modules/vite-node/vite-node.mjs --config vitest.config.ts bench/sse-worker.ts <ours|streamParser|parser> <chunking>
 *
 * (on Node >= 22.12). `ours` is this edition's `TestStream.sse`, `streamParser`
 * eventsource-parser as a stage of the same Stream; the loop and the array-fed parser are
 * shared (scripts/bench/sse-worker.ts).
 */
import { TestStream } from "@effect-http-testkit/effect4"
import type * as Arr from "effect/Array"
import * as Effect from "effect/Effect"
import type * as Pull from "effect/Pull"
import * as Stream from "effect/Stream"
import type { EventSourceMessage } from "eventsource-parser"
import type { Chunking } from "../../../scripts/bench/sse.js"
import { collectingParser, eventsOfNextChunks, serveWorker, tally } from "../../../scripts/bench/sse-worker.js"

/** The byte chunks as a Stream: all in one Stream chunk, or one per Stream chunk (as a body arrives). */
const source = (chunking: Chunking, chunks: ReadonlyArray<Uint8Array>): Stream.Stream<Uint8Array> =>
  chunking.delivery === "one Stream chunk" ? Stream.fromArray(chunks) : Stream.fromIterable(chunks, { chunkSize: 1 })

/** Folds a Stream of events over its chunks: count, data length, ticks. */
const fold = <A extends { readonly data?: string | undefined; readonly event?: string | undefined }>(
  events: Stream.Stream<A>
) =>
  Effect.runPromise(
    Effect.suspend(() => Stream.runFold(Stream.chunks(events), () => ({ events: 0, dataLength: 0, ticks: 0 }), tally))
  )

/**
 * eventsource-parser as a stage of `self`, in `TestStream.sse`'s shape: each upstream chunk's
 * byte chunks parsed one at a time, the events of each that completes any emitted, read on
 * while none does. Every input ends on a complete event and character: nothing is left to
 * flush at the end.
 */
const viaParser = (self: Stream.Stream<Uint8Array>) =>
  Stream.transformPull(self, (upstream) =>
    Effect.sync(() => {
      const parser = collectingParser()
      let chunks: ReadonlyArray<Uint8Array> = []
      const at = { index: 0 }
      const emit = (events: Array<EventSourceMessage>) =>
        Effect.succeed(events as Arr.NonEmptyArray<EventSourceMessage>)
      const read: Pull.Pull<Arr.NonEmptyReadonlyArray<EventSourceMessage>> = Effect.flatMap(upstream, (next) => {
        chunks = next
        at.index = 0
        const events = eventsOfNextChunks(parser, chunks, at)
        return events === undefined ? read : emit(events)
      })
      return Effect.suspend(() => {
        const events = eventsOfNextChunks(parser, chunks, at)
        return events === undefined ? read : emit(events)
      })
    })
  )

serveWorker({
  ours: (chunking, input) => () => fold(TestStream.sse(source(chunking, input.chunks))),
  streamParser: (chunking, input) => () => fold(viaParser(source(chunking, input.chunks)))
})
