/**
 * `TestStream`: pipeable operators that turn any byte stream into Server-Sent Events,
 * lines or NDJSON values, whatever its chunk boundaries.
 *
 * @since 0.1.0
 */

import { LineSplitter, NdjsonParser, SseParser } from "@effect-http-testkit/core"
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Pull from "effect/Pull"
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
 * A line of an NDJSON stream is not valid JSON. Its tag is its own, distinct from the
 * platform's `Ndjson` errors, so `Effect.catchTag("NdjsonParseError", ...)` catches only
 * this kit's parse failures.
 *
 * @since 0.1.0
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
 * An NDJSON operator was given something it cannot work with: `ndjson` or the operator
 * `ndjsonSchema(schema)` something other than a byte stream (or a stream emitting something
 * other than `Uint8Array`), `ndjsonSchema` something other than a Schema. The stream fails
 * with it, never dies; the message says what to pass instead.
 *
 * @since 0.1.0
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

type Chunk<A> = Arr.NonEmptyReadonlyArray<A>

/**
 * Parses a byte stream as `text/event-stream` (WHATWG rules: LF, CRLF or CR line ends, a
 * leading BOM dropped, one space after the colon stripped, `data` lines joined with
 * `"\n"`, comments ignored, `retry` only when all digits, a frame with no fields yields
 * nothing, an unterminated last frame is dropped). Events are emitted as their frames end: one
 * chunk of events for each byte chunk that completes any. Failures of the source pass through.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { TestClient, TestStream } from "@effect-http-testkit/effect4"
 * import { Effect, Stream } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 *
 * const Feed = HttpRouter.add(
 *   "GET",
 *   "/feed",
 *   HttpServerResponse.text("event: tick\ndata: 1\n\ndata: 2\n\n", { contentType: "text/event-stream" })
 * )
 *
 * it.effect("the feed's first two events", () =>
 *   Effect.gen(function* () {
 *     const r = yield* TestClient.stream("GET", "/feed")
 *     const events = yield* r.stream.pipe(TestStream.sse, Stream.take(2), Stream.runCollect)
 *     expect(events).toEqual([{ event: "tick", data: "1" }, { data: "2" }])
 *   }).pipe(Effect.provide(TestClient.layer(Feed)))
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const sse = <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<SseEvent, E, R> =>
  Stream.transformPull(self, (upstream) =>
    Effect.sync(() => {
      const parser = new SseParser()
      let chunks: ReadonlyArray<Uint8Array> = []
      let index = 0
      // Parses the byte chunks read so far up to the first one that completes events and
      // returns those; none when no chunk left does. No array grows with the stream.
      const parsed = (): Chunk<SseEvent> | undefined => {
        let out: Array<SseEvent> | undefined
        while (index < chunks.length) {
          out ??= []
          parser.push(chunks[index++]!, out)
          if (out.length !== 0) return out as unknown as Chunk<SseEvent>
        }
        return undefined
      }
      // Reads on until a byte chunk completes events, and emits those.
      const read: Pull.Pull<Chunk<SseEvent>, E> = Effect.flatMap(upstream, (next) => {
        chunks = next
        index = 0
        const out = parsed()
        return out === undefined ? read : Effect.succeed(out)
      })
      const pull: Pull.Pull<Chunk<SseEvent>, E> = Effect.suspend(() => {
        const out = parsed()
        return out === undefined ? read : Effect.succeed(out)
      })
      return pull
    })
  )

/**
 * Splits a UTF-8 byte stream into lines (LF, CRLF or CR ends; a multi-byte character split
 * across chunks is kept whole). The last line is emitted even without a line end.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { TestStream } from "@effect-http-testkit/effect4"
 * import { Effect, Stream } from "effect"
 *
 * it.effect("lines, whatever the chunks", () =>
 *   Effect.gen(function* () {
 *     const bytes = Stream.make("one\r\ntw", "o\nthree").pipe(Stream.encodeText)
 *     expect(yield* bytes.pipe(TestStream.lines, Stream.runCollect)).toEqual(["one", "two", "three"])
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const lines = <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<string, E, R> =>
  Stream.transformPull(self, (upstream) =>
    Effect.sync(() => {
      const splitter = new LineSplitter()
      let ended = false
      const out: Array<string> = []
      const onLine = (text: string, start: number, end: number) => {
        out.push(text.slice(start, end))
      }
      const atEnd = Effect.suspend(() => {
        ended = true
        const last = splitter.end()
        return last === undefined ? Cause.done() : Effect.succeed([last] as Chunk<string>)
      })
      const pull: Pull.Pull<Chunk<string>, E> = Effect.suspend(() =>
        ended
          ? Cause.done()
          : Effect.flatMap(
              Pull.catchDone(upstream, () => atEnd),
              (chunk) => {
                if (ended) return Effect.succeed(chunk as Chunk<string>)
                for (const bytes of chunk as ReadonlyArray<Uint8Array>) splitter.push(bytes, onLine)
                if (out.length === 0) return pull
                const lines = out.splice(0, out.length)
                return Effect.succeed(lines as unknown as Chunk<string>)
              }
            )
      )
      return pull
    })
  )

const describe = (value: unknown): string => {
  if (typeof value === "string") {
    return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`
  }
  if (value === null || value === undefined) return String(value)
  if (Schema.isSchema(value)) return "a Schema"
  if (Stream.isStream(value)) return "a Stream"
  if (Effect.isEffect(value)) return "an Effect"
  if (Array.isArray(value)) return "an array"
  if (typeof value === "object") {
    const name = (value as { readonly constructor?: { readonly name?: unknown } }).constructor?.name
    return typeof name === "string" && name !== "" && name !== "Object" ? `a ${name}` : "an object"
  }
  return `a ${typeof value} (${String(value)})`
}

type NdjsonFailure = NdjsonParseError | InvalidStreamArgument

const usage = {
  "TestStream.ndjson": "`stream.pipe(TestStream.ndjson)`",
  "TestStream.ndjsonSchema": "`stream.pipe(TestStream.ndjsonSchema(schema))`"
} as const

/** Parses the bytes to values, one chunk in, at most one chunk out; fails at the first bad line or element. */
const parse = <E, R>(
  self: Stream.Stream<Uint8Array, E, R>,
  operator: keyof typeof usage
): Stream.Stream<unknown, E | NdjsonFailure, R> => {
  if (!Stream.isStream(self)) {
    const reason =
      `expected a byte stream (Stream<Uint8Array>), such as a streamed response's \`stream\`, got ${describe(self)}. ` +
      `Use it as ${usage[operator]}` +
      (operator === "TestStream.ndjson" && Schema.isSchema(self)
        ? "; to decode each line with a Schema, use `stream.pipe(TestStream.ndjsonSchema(schema))`."
        : ".")
    return Stream.fail(new InvalidStreamArgument({ operator, reason }))
  }
  return Stream.transformPull(self, (upstream) =>
    Effect.sync(() => {
      const parser = new NdjsonParser()
      /** The failure to report once the values before it are out. */
      let failure: NdjsonFailure | undefined
      let ended = false
      /** The values parsed so far and the failure that stopped them, if any: values first. */
      const emit = (values: Array<unknown>): Pull.Pull<Chunk<unknown>, NdjsonFailure> => {
        if (failure === undefined && parser.failure !== undefined) failure = new NdjsonParseError(parser.failure)
        if (values.length !== 0) return Effect.succeed(values as unknown as Chunk<unknown>)
        if (failure !== undefined) return Effect.fail(failure)
        return Cause.done()
      }
      const atEnd = Effect.suspend(() => {
        ended = true
        const values: Array<unknown> = []
        parser.end(values)
        return emit(values)
      })
      const pull: Pull.Pull<Chunk<unknown>, E | NdjsonFailure> = Effect.suspend(() => {
        if (failure !== undefined) return Effect.fail(failure)
        if (ended) return Cause.done()
        return Effect.flatMap(
          Pull.catchDone(upstream, () => atEnd),
          (chunk) => {
            if (ended) return Effect.succeed(chunk as Chunk<unknown>)
            const values: Array<unknown> = []
            for (const bytes of chunk as ReadonlyArray<unknown>) {
              if (!(bytes instanceof Uint8Array)) {
                const hint =
                  typeof bytes === "string"
                    ? " NDJSON is read from bytes: encode text first (`Stream.encodeText`)."
                    : " Pass a byte stream, such as a streamed response's `stream`."
                const reason = `the stream emitted ${describe(bytes)} where a Uint8Array was expected.${hint}`
                failure = new InvalidStreamArgument({ operator, reason })
                break
              }
              parser.push(bytes, values)
              if (parser.failure !== undefined) break
            }
            if (values.length === 0 && failure === undefined && parser.failure === undefined) return pull
            return emit(values)
          }
        )
      })
      return pull
    })
  )
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
 * import { expect, it } from "@effect/vitest"
 * import { TestClient, TestStream } from "@effect-http-testkit/effect4"
 * import { Effect, Stream } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 *
 * const Export = HttpRouter.add(
 *   "GET",
 *   "/export",
 *   HttpServerResponse.text('{"id":1}\n{"id":2}\n', { contentType: "application/x-ndjson" })
 * )
 *
 * it.effect("the export is NDJSON", () =>
 *   Effect.gen(function* () {
 *     const r = yield* TestClient.stream("GET", "/export")
 *     expect(yield* r.stream.pipe(TestStream.ndjson, Stream.runCollect)).toEqual([{ id: 1 }, { id: 2 }])
 *   }).pipe(Effect.provide(TestClient.layer(Export)))
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
 * `SchemaError`; a line that is not JSON with {@link NdjsonParseError}. Given something that
 * is not a Schema, the operator's stream fails with {@link InvalidStreamArgument}.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { TestClient, TestStream } from "@effect-http-testkit/effect4"
 * import { Effect, Schema, Stream } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 *
 * const Row = Schema.Struct({ id: Schema.Number, at: Schema.DateFromString })
 *
 * const Export = HttpRouter.add(
 *   "GET",
 *   "/export",
 *   HttpServerResponse.text('{"id":1,"at":"2024-01-02T00:00:00.000Z"}\n', { contentType: "application/x-ndjson" })
 * )
 *
 * it.effect("rows decode with the Schema", () =>
 *   Effect.gen(function* () {
 *     const r = yield* TestClient.stream("GET", "/export")
 *     const rows = yield* r.stream.pipe(TestStream.ndjsonSchema(Row), Stream.runCollect)
 *     expect(rows).toEqual([{ id: 1, at: new Date("2024-01-02T00:00:00.000Z") }])
 *   }).pipe(Effect.provide(TestClient.layer(Export)))
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const ndjsonSchema = <S extends Schema.Constraint>(
  schema: S
): (<E, R>(
  self: Stream.Stream<Uint8Array, E, R>
) => Stream.Stream<
  S["Type"],
  E | NdjsonParseError | Schema.SchemaError | InvalidStreamArgument,
  R | S["DecodingServices"]
>) => {
  const operator = "TestStream.ndjsonSchema"
  if (!Schema.isSchema(schema)) {
    const reason = Stream.isStream(schema)
      ? "got a Stream where a Schema was expected. Pass the Schema, then pipe the stream through the " +
        "operator: `stream.pipe(TestStream.ndjsonSchema(Row))`; for values without a Schema, use " +
        "`stream.pipe(TestStream.ndjson)`."
      : `expected a Schema (e.g. \`Schema.Struct({ id: Schema.Number })\`), got ${describe(schema)}. ` +
        "For values without a Schema, use `stream.pipe(TestStream.ndjson)`."
    return () => Stream.fail(new InvalidStreamArgument({ operator, reason }))
  }
  const decode = Schema.decodeUnknownEffect(schema)
  return (self) => Stream.mapEffect(parse(self, operator), (value) => decode(value))
}
