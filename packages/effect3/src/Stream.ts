/**
 * `TestStream`: pipeable operators that turn any byte stream into Server-Sent Events,
 * lines or NDJSON values, whatever its chunk boundaries.
 *
 * @since 0.1.0
 */

import { LineSplitter, NdjsonParser, SseParser } from "@effect-http-testkit/core"
import type * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/**
 * One event-stream frame, holding only the fields present in it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SseEvent {
  readonly event?: string
  /** `data` lines of the frame, joined with `"\n"`. */
  readonly data?: string
  readonly id?: string
  /** Present only when the frame's `retry` value is all ASCII digits. */
  readonly retry?: number
}

/**
 * A line of an NDJSON stream is not valid JSON. Its tag is its own, distinct from
 * `@effect/platform`'s `Ndjson.NdjsonError`, so `Effect.catchTag("NdjsonParseError", ...)`
 * catches only this kit's parse failures.
 *
 * @since 0.2.0
 * @category errors
 */
export class NdjsonParseError extends Data.TaggedError("NdjsonParseError")<{
  /** 1-based, counting every line including blank ones. */
  readonly line: number
  readonly text: string
  readonly cause: unknown
}> {
  override get message(): string {
    const excerpt = this.text.length > 80 ? `${this.text.slice(0, 80)}…` : this.text
    return (
      `NDJSON line ${this.line} is not valid JSON (${String(this.cause)}): ${JSON.stringify(excerpt)}. ` +
      "Each non-blank line must hold one complete JSON value: a JSON document spread over several lines " +
      "(pretty-printed) is not NDJSON."
    )
  }
}

/**
 * The old name of {@link NdjsonParseError}, the same class.
 *
 * @deprecated Since 0.2.0: use `NdjsonParseError`. Its `_tag` is now `"NdjsonParseError"`
 * (it was `"NdjsonError"`, the tag `@effect/platform`'s `Ndjson.NdjsonError` also uses).
 * @since 0.1.0
 * @category errors
 */
export const NdjsonError: typeof NdjsonParseError = NdjsonParseError

/**
 * @deprecated Since 0.2.0: use `NdjsonParseError`.
 * @since 0.1.0
 * @category errors
 */
export type NdjsonError = NdjsonParseError

/**
 * An NDJSON operator was given something it cannot work with: `ndjson` or the operator
 * `ndjsonSchema(schema)` returns something other than a byte stream (or a stream emitting
 * something other than `Uint8Array`), `ndjsonSchema` something other than a Schema. The
 * stream fails with it, never dies; the message says what to pass instead.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidStreamArgument extends Data.TaggedError("InvalidStreamArgument")<{
  /** The operator that was misused, e.g. `"TestStream.ndjsonSchema"`. */
  readonly operator: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.operator}: ${this.reason}`
  }
}

/**
 * Parses a byte stream as `text/event-stream` (WHATWG rules: LF, CRLF or CR line ends, a
 * leading BOM dropped, one space after the colon stripped, `data` lines joined with
 * `"\n"`, comments ignored, `retry` only when all digits, a frame with no fields yields
 * nothing, an unterminated last frame is dropped). Events are emitted as their frames end: one
 * chunk of events for each byte chunk that completes any.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServerResponse } from "@effect/platform"
 * import { expect, it } from "@effect/vitest"
 * import { Chunk, Effect, Stream } from "effect"
 * import { TestClient, TestStream } from "effect-http-testkit"
 *
 * const app = HttpRouter.empty.pipe(
 *   HttpRouter.get(
 *     "/feed",
 *     HttpServerResponse.text("event: tick\ndata: 1\n\ndata: 2\n\n", { contentType: "text/event-stream" })
 *   )
 * )
 *
 * it.scoped("the feed's first two events", () =>
 *   Effect.gen(function* () {
 *     const r = yield* TestClient.stream("GET", "/feed")
 *     const events = yield* r.stream.pipe(TestStream.sse, Stream.take(2), Stream.runCollect)
 *     expect(Chunk.toArray(events)).toEqual([{ event: "tick", data: "1" }, { data: "2" }])
 *   }).pipe(Effect.provide(TestClient.layer(app)))
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const sse = <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<SseEvent, E, R> =>
  Stream.suspend(() => Stream.pipeThroughChannel(self, sseChannel<E>()))

/**
 * Parses each byte chunk as it is read and writes the events it completes: one Stream chunk per
 * byte chunk that completes any, none for one that completes none. Events go out as their frames
 * end, however many byte chunks a Stream chunk holds, and no array grows with the stream.
 */
const sseChannel = <E>(): Channel.Channel<Chunk.Chunk<SseEvent>, Chunk.Chunk<Uint8Array>, E, E, unknown, unknown> => {
  type Parsing = Channel.Channel<Chunk.Chunk<SseEvent>, Chunk.Chunk<Uint8Array>, E, E, unknown, unknown>
  const parser = new SseParser()
  /** Parses `chunks` from `index` up to the first one that completes events, writes those, and so on. */
  const from = (chunks: ReadonlyArray<Uint8Array>, index: number): Parsing => {
    const out: Array<SseEvent> = []
    while (index < chunks.length) {
      parser.push(chunks[index++], out)
      if (out.length !== 0) {
        const next = index
        const rest = next === chunks.length ? loop : Channel.suspend(() => from(chunks, next))
        return Channel.zipRight(Channel.write(Chunk.unsafeFromArray(out)), rest)
      }
    }
    return loop
  }
  const loop: Parsing = Channel.readWithCause({
    onInput: (chunk: Chunk.Chunk<Uint8Array>) => from(Chunk.toReadonlyArray(chunk), 0),
    onFailure: (cause: Cause.Cause<E>) => Channel.failCause(cause),
    onDone: () => Channel.void
  })
  return loop
}

/**
 * Splits a UTF-8 byte stream into lines (LF, CRLF or CR ends; a multi-byte character split
 * across chunks is kept whole). The last line is emitted even without a line end.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { Chunk, Effect, Stream } from "effect"
 * import { TestStream } from "effect-http-testkit"
 *
 * it.effect("lines, whatever the chunks", () =>
 *   Effect.gen(function* () {
 *     const bytes = Stream.make("one\r\ntw", "o\nthree").pipe(Stream.encodeText)
 *     const lines = yield* bytes.pipe(TestStream.lines, Stream.runCollect)
 *     expect(Chunk.toArray(lines)).toEqual(["one", "two", "three"])
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const lines = <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<string, E, R> =>
  Stream.suspend(() => {
    const splitter = new LineSplitter()
    return Stream.concat(
      Stream.mapChunks(self, (chunk) => {
        const out: Array<string> = []
        const onLine = (text: string, start: number, end: number) => {
          out.push(text.slice(start, end))
        }
        for (const bytes of chunk) splitter.push(bytes, onLine)
        return Chunk.unsafeFromArray(out)
      }),
      Stream.suspend(() => {
        const last = splitter.end()
        return last === undefined ? Stream.empty : Stream.succeed(last)
      })
    )
  })

const describe = (value: unknown): string => {
  if (typeof value === "string") {
    return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`
  }
  if (value === null || value === undefined) return String(value)
  if (Schema.isSchema(value)) return "a Schema"
  if (isStream(value)) return "a Stream"
  if (Array.isArray(value)) return "an array"
  if (typeof value === "object") {
    const name = (value as { readonly constructor?: { readonly name?: unknown } }).constructor?.name
    return typeof name === "string" && name !== "" && name !== "Object" ? `a ${name}` : "an object"
  }
  return `a ${typeof value} (${String(value)})`
}

// An Effect is a Stream of one element, as everywhere in `effect/Stream`.
const isStream = (value: unknown): value is Stream.Stream<unknown, unknown, unknown> =>
  Predicate.hasProperty(value, Stream.StreamTypeId) || Effect.isEffect(value)

type NdjsonFailure = NdjsonParseError | InvalidStreamArgument

/** Parses the bytes to values, one chunk in, at most one chunk out; fails at the first bad line or element. */
const ndjsonChannel = <E>(
  operator: string
): Channel.Channel<Chunk.Chunk<unknown>, Chunk.Chunk<unknown>, E | NdjsonFailure, E, unknown, unknown> => {
  type Parsing = Channel.Channel<Chunk.Chunk<unknown>, Chunk.Chunk<unknown>, E | NdjsonFailure, E, unknown, unknown>
  const parser = new NdjsonParser()
  const emit = (values: Array<unknown>, failure: NdjsonFailure | undefined, next: Parsing): Parsing => {
    const rest = failure === undefined ? next : Channel.fail(failure)
    return values.length === 0 ? rest : Channel.zipRight(Channel.write(Chunk.unsafeFromArray(values)), rest)
  }
  const failureOf = (): NdjsonParseError | undefined =>
    parser.failure === undefined ? undefined : new NdjsonParseError(parser.failure)
  const loop: Parsing = Channel.readWithCause({
    onInput: (chunk: Chunk.Chunk<unknown>) => {
      const values: Array<unknown> = []
      for (const bytes of chunk) {
        if (!ArrayBuffer.isView(bytes)) {
          const hint =
            typeof bytes === "string"
              ? " NDJSON is read from bytes: encode text first (`Stream.encodeText`)."
              : " Pass a byte stream, such as a streamed response's `stream`."
          const reason = `the stream emitted ${describe(bytes)} where a Uint8Array was expected.${hint}`
          return emit(values, new InvalidStreamArgument({ operator, reason }), loop)
        }
        parser.push(bytes as Uint8Array, values)
        if (parser.failure !== undefined) break
      }
      return emit(
        values,
        failureOf(),
        Channel.suspend(() => loop)
      )
    },
    onFailure: (cause: Cause.Cause<E>) => Channel.failCause(cause),
    onDone: () => {
      const values: Array<unknown> = []
      parser.end(values)
      return emit(values, failureOf(), Channel.void)
    }
  })
  return loop
}

const usage = {
  "TestStream.ndjson": "`stream.pipe(TestStream.ndjson)`",
  "TestStream.ndjsonSchema": "`stream.pipe(TestStream.ndjsonSchema(schema))`"
} as const

const parse = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  operator: keyof typeof usage
): Stream.Stream<unknown, E | NdjsonFailure, R> => {
  if (!isStream(self)) {
    const reason =
      `expected a byte stream (Stream<Uint8Array>), such as a streamed response's \`stream\`, got ${describe(self)}. ` +
      `Use it as ${usage[operator]}` +
      (operator === "TestStream.ndjson" && Schema.isSchema(self)
        ? "; to decode each line with a Schema, use `stream.pipe(TestStream.ndjsonSchema(schema))`."
        : ".")
    return Stream.fail(new InvalidStreamArgument({ operator, reason }))
  }
  return Stream.suspend(() => Stream.pipeThroughChannel(self, ndjsonChannel<E>(operator)))
}

/**
 * Parses a byte stream as newline-delimited JSON, one value per non-blank line (LF, CRLF or
 * CR ends, whatever the chunk boundaries; blank and whitespace-only lines skipped; the last
 * line needs no line end). Values are emitted as their lines complete.
 *
 * A line that is not JSON fails the stream with {@link NdjsonParseError}, after the values
 * of the lines before it; a source that is not a byte stream fails it with
 * {@link InvalidStreamArgument}. To decode each value with a Schema, use
 * {@link ndjsonSchema}.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServerResponse } from "@effect/platform"
 * import { expect, it } from "@effect/vitest"
 * import { Chunk, Effect, Stream } from "effect"
 * import { TestClient, TestStream } from "effect-http-testkit"
 *
 * const app = HttpRouter.empty.pipe(
 *   HttpRouter.get("/export", HttpServerResponse.text('{"id":1}\n{"id":2}\n', { contentType: "application/x-ndjson" }))
 * )
 *
 * it.scoped("the export is NDJSON", () =>
 *   Effect.gen(function* () {
 *     const r = yield* TestClient.stream("GET", "/export")
 *     const rows = yield* r.stream.pipe(TestStream.ndjson, Stream.runCollect)
 *     expect(Chunk.toArray(rows)).toEqual([{ id: 1 }, { id: 2 }])
 *   }).pipe(Effect.provide(TestClient.layer(app)))
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const ndjson = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>
): Stream.Stream<unknown, E | NdjsonParseError | InvalidStreamArgument, R> => parse(self, "TestStream.ndjson")

/**
 * An operator parsing a byte stream as newline-delimited JSON, as {@link ndjson} does, and
 * decoding each value with `schema`. A value the Schema rejects fails the stream with its
 * `ParseError`; a line that is not JSON with {@link NdjsonParseError}. Given something that
 * is not a Schema, the operator's stream fails with {@link InvalidStreamArgument}.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServerResponse } from "@effect/platform"
 * import { expect, it } from "@effect/vitest"
 * import { Chunk, Effect, Schema, Stream } from "effect"
 * import { TestClient, TestStream } from "effect-http-testkit"
 *
 * const Row = Schema.Struct({ id: Schema.Number, at: Schema.DateFromString })
 *
 * const app = HttpRouter.empty.pipe(
 *   HttpRouter.get(
 *     "/export",
 *     HttpServerResponse.text('{"id":1,"at":"2024-01-02T00:00:00.000Z"}\n', { contentType: "application/x-ndjson" })
 *   )
 * )
 *
 * it.scoped("rows decode with the Schema", () =>
 *   Effect.gen(function* () {
 *     const r = yield* TestClient.stream("GET", "/export")
 *     const rows = yield* r.stream.pipe(TestStream.ndjsonSchema(Row), Stream.runCollect)
 *     expect(Chunk.toArray(rows)).toEqual([{ id: 1, at: new Date("2024-01-02T00:00:00.000Z") }])
 *   }).pipe(Effect.provide(TestClient.layer(app)))
 * )
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const ndjsonSchema = <A, I, RS>(
  schema: Schema.Schema<A, I, RS>
): (<E, R>(
  self: Stream.Stream<Uint8Array, E, R>
) => Stream.Stream<A, E | NdjsonParseError | ParseResult.ParseError | InvalidStreamArgument, R | RS>) => {
  const operator = "TestStream.ndjsonSchema"
  if (!Schema.isSchema(schema)) {
    const reason = isStream(schema)
      ? "got a Stream where a Schema was expected. Pass the Schema, then pipe the stream through the " +
        "operator: `stream.pipe(TestStream.ndjsonSchema(Row))`; for values without a Schema, use " +
        "`stream.pipe(TestStream.ndjson)`."
      : `expected a Schema (e.g. \`Schema.Struct({ id: Schema.Number })\`), got ${describe(schema)}. ` +
        "For values without a Schema, use `stream.pipe(TestStream.ndjson)`."
    return () => Stream.fail(new InvalidStreamArgument({ operator, reason }))
  }
  const decode = Schema.decodeUnknown(schema)
  return (self) => Stream.mapEffect(parse(self, operator), (value) => decode(value))
}
