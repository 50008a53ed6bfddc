/**
 * `TestStream`: pipeable operators that turn any byte stream into Server-Sent Events,
 * lines or NDJSON values, whatever its chunk boundaries.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { LineSplitter, SseParser } from "./internal/text.js"

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
 * A line of an NDJSON stream is not valid JSON.
 *
 * @since 0.1.0
 * @category errors
 */
export class NdjsonError extends Data.TaggedError("NdjsonError")<{
  /** 1-based, counting every line including blank ones. */
  readonly line: number
  readonly text: string
  readonly cause: unknown
}> {
  override get message(): string {
    const excerpt = this.text.length > 80 ? `${this.text.slice(0, 80)}…` : this.text
    return `NDJSON line ${this.line} is not valid JSON (${String(this.cause)}): ${JSON.stringify(excerpt)}`
  }
}

/**
 * Parses a byte stream as `text/event-stream` (WHATWG rules: LF, CRLF or CR line ends, a
 * leading BOM dropped, one space after the colon stripped, `data` lines joined with
 * `"\n"`, comments ignored, `retry` only when all digits, a frame with no fields yields
 * nothing, an unterminated last frame is dropped).
 *
 * @example
 * ```ts
 * const first3 = yield* response.stream.pipe(TestStream.sse, Stream.take(3), Stream.runCollect)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const sse = <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<SseEvent, E, R> =>
  Stream.suspend(() => {
    const parser = new SseParser()
    return Stream.mapChunks(self, (chunk) => {
      const out: Array<SseEvent> = []
      for (const bytes of chunk) parser.push(bytes, out)
      return Chunk.unsafeFromArray(out)
    })
  })

/**
 * Splits a UTF-8 byte stream into lines (LF, CRLF or CR ends; a multi-byte character split
 * across chunks is kept whole). The last line is emitted even without a line end.
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

const parseLines = <E, R>(self: Stream.Stream<Uint8Array, E, R>): Stream.Stream<unknown, E | NdjsonError, R> =>
  Stream.suspend(() => {
    let line = 0
    return lines(self).pipe(
      Stream.mapEffect((text) => {
        line++
        if (text.trim() === "") return Effect.succeed(skip)
        const at = line
        return Effect.try({
          try: () => JSON.parse(text) as unknown,
          catch: (cause) => new NdjsonError({ line: at, text, cause })
        })
      }),
      Stream.filter((value) => value !== skip)
    )
  })

const skip: unique symbol = Symbol("skip")

/**
 * Parses a byte stream as newline-delimited JSON, one value per non-blank line. With a
 * Schema, each value is decoded with it.
 *
 * @example
 * ```ts
 * const rows = yield* response.stream.pipe(TestStream.ndjson(Row), Stream.runCollect)
 * const raw = yield* response.stream.pipe(TestStream.ndjson, Stream.runCollect)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const ndjson: <T extends Schema.Schema.All | Stream.Stream<Uint8Array, unknown, unknown>>(
  schemaOrStream: T
) => T extends Stream.Stream<Uint8Array, infer E, infer R>
  ? Stream.Stream<unknown, E | NdjsonError, R>
  : T extends Schema.Schema<infer A, infer _I, infer RS>
    ? <E, R>(
        self: Stream.Stream<Uint8Array, E, R>
      ) => Stream.Stream<A, E | NdjsonError | ParseResult.ParseError, R | RS>
    : never = ((arg: Schema.Schema<unknown, unknown, unknown> | Stream.Stream<Uint8Array, unknown, unknown>) => {
  if (Schema.isSchema(arg)) {
    const decode = Schema.decodeUnknown(arg)
    return (self: Stream.Stream<Uint8Array, unknown, unknown>) =>
      Stream.mapEffect(parseLines(self), (value) => decode(value))
  }
  return parseLines(arg)
  // One generic signature (not overloads) so `stream.pipe(TestStream.ndjson)` keeps its types.
}) as never
