/**
 * `TestStream` (`sse`, `lines`, `ndjson`, `ndjsonSchema`) through the public API: event-stream
 * framing (data lines joined, comments ignored, every kind of line end, one leading space
 * stripped), line splitting, NDJSON parsing and its failures, and property tests over random
 * chunk boundaries.
 */
import { describe, expect, it } from "@effect/vitest"
import { TestStream } from "@effect-http-testkit/effect4"
import { Arbitrary, Cause, Effect, Exit, Option, Result, Schema, Stream } from "effect"
import * as Ndjson from "effect/encoding/Ndjson"
import * as gen from "./support/arbitrary.js"
import { concatBytes, utf8 } from "./support/bytes.js"

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** A byte stream made of exactly these chunks (strings are UTF-8 encoded as a whole). */
const bytesOf = (chunks: ReadonlyArray<string | Uint8Array>): Stream.Stream<Uint8Array> =>
  Stream.fromIterable(chunks.map((c) => (typeof c === "string" ? utf8(c) : c)))

const sseOf = (...chunks: ReadonlyArray<string | Uint8Array>) => bytesOf(chunks).pipe(TestStream.sse, Stream.runCollect)

const linesOf = (...chunks: ReadonlyArray<string | Uint8Array>) =>
  bytesOf(chunks).pipe(TestStream.lines, Stream.runCollect)

const ndjsonOf = (...chunks: ReadonlyArray<string | Uint8Array>) =>
  bytesOf(chunks).pipe(TestStream.ndjson, Stream.runCollect)

/** Cuts `buffer` at the given byte offsets (sorted; repeated offsets give empty chunks). */
const cutAt = (buffer: Uint8Array, offsets: ReadonlyArray<number>): Array<Uint8Array> => {
  const sorted = [...offsets].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const offset of sorted) {
    chunks.push(buffer.subarray(start, offset))
    start = offset
  }
  chunks.push(buffer.subarray(start))
  return chunks
}

/** Every way to cut `buffer` in two, plus one byte per chunk. */
const everySplit = (buffer: Uint8Array): Array<Array<Uint8Array>> => [
  ...Array.from({ length: buffer.length + 1 }, (_, i) => cutAt(buffer, [i])),
  Array.from(buffer, (b) => Uint8Array.of(b))
]

// ---------------------------------------------------------------------------------------------
// SSE
// ---------------------------------------------------------------------------------------------

describe("TestStream.sse", () => {
  it.effect("two data lines are joined with LF; event and id are kept", () =>
    Effect.gen(function* () {
      const events = yield* sseOf("event: greet\nid: 7\ndata: a\ndata: b\n\n")
      expect(events).toStrictEqual([{ event: "greet", id: "7", data: "a\nb" }])
    })
  )

  it.effect("only the fields present in the frame are set (no undefined keys)", () =>
    Effect.gen(function* () {
      const events = yield* sseOf("data: x\n\nevent: e\n\nid: 1\n\nretry: 5\n\n")
      expect(events).toStrictEqual([{ data: "x" }, { event: "e" }, { id: "1" }, { retry: 5 }])
      expect(events.map((e) => Object.keys(e))).toStrictEqual([["data"], ["event"], ["id"], ["retry"]])
    })
  )

  it.effect("a comment-only frame yields nothing, and parsing goes on after it", () =>
    Effect.gen(function* () {
      expect(yield* sseOf(": ping\n\n")).toStrictEqual([])
      expect(yield* sseOf(":\n\n: ping\n: pong\n\n")).toStrictEqual([])
      expect(yield* sseOf(": ping\n\ndata: x\n: inside a frame\n\n")).toStrictEqual([{ data: "x" }])
    })
  )

  it.effect("frames ended by LF LF, CRLF CRLF and CR CR in one buffer are separate events", () =>
    Effect.gen(function* () {
      const events = yield* sseOf("data: 1\n\ndata: 2\r\n\r\ndata: 3\r\rdata: 4\n\r\n")
      expect(events).toStrictEqual([{ data: "1" }, { data: "2" }, { data: "3" }, { data: "4" }])
    })
  )

  it.effect("mixed line ends inside one frame", () =>
    Effect.gen(function* () {
      const events = yield* sseOf("event: e\rdata: a\r\ndata: b\nid: 9\r\r")
      expect(events).toStrictEqual([{ event: "e", data: "a\nb", id: "9" }])
    })
  )

  it.effect("a buffer cut at any byte offset, or byte by byte, parses the same", () =>
    Effect.gen(function* () {
      const buffer = utf8(
        "\uFEFFevent: caf\u00e9\r\ndata: \u20ac 1\rdata: \u{1F600}\u{1D11E}\n: c\u00f6mment\r\n\r\n" +
          "id: \u00e9\u00e9\ndata:  two\r\r" +
          "retry: 10\r\ndata\n\n" +
          "data: tail\n"
      )
      const expected = [
        { event: "caf\u00e9", data: "\u20ac 1\n\u{1F600}\u{1D11E}" },
        { id: "\u00e9\u00e9", data: " two" },
        { retry: 10, data: "" }
      ]
      expect(yield* sseOf(buffer)).toStrictEqual(expected)
      for (const chunks of everySplit(buffer)) {
        expect(yield* sseOf(...chunks)).toStrictEqual(expected)
      }
    })
  )

  it.effect("a CRLF split between two chunks is one line end, not two", () =>
    Effect.gen(function* () {
      // Read as CR + LF (two line ends) this would be two frames, "a" and "b".
      expect(yield* sseOf("data: a\r", "\ndata: b\r\n\r\n")).toStrictEqual([{ data: "a\nb" }])
      expect(yield* sseOf("data: a\r\n\r", "\ndata: b\r\n\r\n")).toStrictEqual([{ data: "a" }, { data: "b" }])
      // ... even with empty chunks between the CR and the LF.
      expect(yield* sseOf("data: a\r", "", "", "\ndata: b\r\n\r\n")).toStrictEqual([{ data: "a\nb" }])
    })
  )

  it.effect("a CR at a chunk end followed by a non-LF chunk is a line end on its own", () =>
    Effect.gen(function* () {
      expect(yield* sseOf("data: a\r", "\r")).toStrictEqual([{ data: "a" }])
      expect(yield* sseOf("data: a\r", "data: b\r", "\r")).toStrictEqual([{ data: "a\nb" }])
    })
  )

  it.effect("a multi-byte UTF-8 character split between chunks is kept whole", () =>
    Effect.gen(function* () {
      const euro = utf8("\u20ac") // 3 bytes
      const emoji = utf8("\u{1F600}") // 4 bytes
      const events = yield* sseOf(
        utf8("data: "),
        euro.subarray(0, 1),
        euro.subarray(1, 2),
        concatBytes([euro.subarray(2), emoji.subarray(0, 3)]),
        concatBytes([emoji.subarray(3), utf8("\n\n")])
      )
      expect(events).toStrictEqual([{ data: "\u20ac\u{1F600}" }])
    })
  )

  it.effect("exactly one leading space is stripped from a value", () =>
    Effect.gen(function* () {
      expect(yield* sseOf("data:  x\n\n")).toStrictEqual([{ data: " x" }])
      expect(yield* sseOf("data:x\n\n")).toStrictEqual([{ data: "x" }])
      expect(yield* sseOf("data: \n\n")).toStrictEqual([{ data: "" }])
      expect(yield* sseOf("data:\tx \n\n")).toStrictEqual([{ data: "\tx " }])
      expect(yield* sseOf("event:   e\nid:  1\n\n")).toStrictEqual([{ event: "  e", id: " 1" }])
    })
  )

  it.effect("a leading BOM is dropped, even split across chunks", () =>
    Effect.gen(function* () {
      expect(yield* sseOf("\uFEFFdata: x\n\n")).toStrictEqual([{ data: "x" }])
      const bom = utf8("\uFEFF")
      expect(yield* sseOf(bom.subarray(0, 1), bom.subarray(1, 2), bom.subarray(2), "data: x\n\n")).toStrictEqual([
        { data: "x" }
      ])
    })
  )

  it.effect("a BOM is dropped only at the very start of the stream", () =>
    Effect.gen(function* () {
      // A second BOM makes the field name "\uFEFFdata": an unknown field.
      expect(yield* sseOf("\uFEFF\uFEFFdata: x\n\n")).toStrictEqual([])
      expect(yield* sseOf("data: a\n\n\uFEFFdata: b\n\n")).toStrictEqual([{ data: "a" }])
      expect(yield* sseOf("data: a\n\n", "\uFEFFdata: b\n\n")).toStrictEqual([{ data: "a" }])
      expect(yield* sseOf("data: \uFEFFx\n\n")).toStrictEqual([{ data: "\uFEFFx" }])
    })
  )

  it.effect("a field line with no colon is the field with an empty value", () =>
    Effect.gen(function* () {
      expect(yield* sseOf("data\n\n")).toStrictEqual([{ data: "" }])
      expect(yield* sseOf("data\ndata\n\n")).toStrictEqual([{ data: "\n" }])
      expect(yield* sseOf("data: a\ndata\ndata: b\n\n")).toStrictEqual([{ data: "a\n\nb" }])
      expect(yield* sseOf("event\nid\n\n")).toStrictEqual([{ event: "", id: "" }])
      // "data " (trailing space, no colon) is an unknown field named "data ".
      expect(yield* sseOf("data \n\n")).toStrictEqual([])
    })
  )

  it.effect("unknown fields are ignored; a frame with only unknown fields yields nothing", () =>
    Effect.gen(function* () {
      expect(yield* sseOf("foo: bar\nDATA: x\nEvent: y\n data: z\n\n")).toStrictEqual([])
      expect(yield* sseOf("foo: bar\ndata: y\nbaz\n\n")).toStrictEqual([{ data: "y" }])
    })
  )

  it.effect("retry is set only when its value is all ASCII digits", () =>
    Effect.gen(function* () {
      expect(yield* sseOf("retry: 3000\n\n")).toStrictEqual([{ retry: 3000 }])
      expect(yield* sseOf("retry:0\n\n")).toStrictEqual([{ retry: 0 }])
      expect(yield* sseOf("retry: 3s\n\n")).toStrictEqual([])
      expect(yield* sseOf("retry: -1\n\n")).toStrictEqual([])
      expect(yield* sseOf("retry: 1.5\n\nretry:\n\nretry\n\nretry: +1\n\nretry: 1e3\n\nretry:  1\n\n")).toStrictEqual(
        []
      )
      expect(yield* sseOf("retry: 3s\ndata: x\n\n")).toStrictEqual([{ data: "x" }])
      expect(yield* sseOf("retry: 10\nretry: x\n\n")).toStrictEqual([{ retry: 10 }])
    })
  )

  it.effect("an id containing NUL is ignored", () =>
    Effect.gen(function* () {
      expect(yield* sseOf("id: a\u0000b\n\n")).toStrictEqual([])
      expect(yield* sseOf("id: a\u0000b\ndata: x\n\n")).toStrictEqual([{ data: "x" }])
      expect(yield* sseOf("id: 1\nid: \u0000\n\n")).toStrictEqual([{ id: "1" }])
      // NUL elsewhere is ordinary text.
      expect(yield* sseOf("data: a\u0000b\n\n")).toStrictEqual([{ data: "a\u0000b" }])
    })
  )

  it.effect("an empty event is kept as an empty string; the last event and id in a frame win", () =>
    Effect.gen(function* () {
      expect(yield* sseOf("event:\ndata: x\n\n")).toStrictEqual([{ event: "", data: "x" }])
      expect(yield* sseOf("event: a\nevent: b\nid: 1\nid: 2\n\n")).toStrictEqual([{ event: "b", id: "2" }])
    })
  )

  it.effect("fields do not leak from one frame into the next", () =>
    Effect.gen(function* () {
      expect(yield* sseOf("event: e\nid: 1\nretry: 5\ndata: a\n\ndata: b\n\n")).toStrictEqual([
        { event: "e", id: "1", retry: 5, data: "a" },
        { data: "b" }
      ])
    })
  )

  it.effect("an unterminated last frame is dropped at the end of the stream", () =>
    Effect.gen(function* () {
      expect(yield* sseOf("data: a\n\ndata: b\n")).toStrictEqual([{ data: "a" }])
      expect(yield* sseOf("data: a\n\ndata: b")).toStrictEqual([{ data: "a" }])
      expect(yield* sseOf("data: a\r\n\r\nevent: x\r\n")).toStrictEqual([{ data: "a" }])
      expect(yield* sseOf("data: only\n")).toStrictEqual([])
    })
  )

  it.effect("several events in one chunk, extra blank lines between frames yield nothing", () =>
    Effect.gen(function* () {
      expect(yield* sseOf("\n\ndata: 1\n\n\n\ndata: 2\n\ndata: 3\n\n\n")).toStrictEqual([
        { data: "1" },
        { data: "2" },
        { data: "3" }
      ])
    })
  )

  it.effect("an empty chunk in the middle changes nothing", () =>
    Effect.gen(function* () {
      expect(yield* sseOf("data: a\n", "", "\ndata: b\n\n", "")).toStrictEqual([{ data: "a" }, { data: "b" }])
      expect(yield* sseOf("", "data: a", "", ":b\n\n")).toStrictEqual([{ data: "a:b" }])
      expect(yield* sseOf()).toStrictEqual([])
    })
  )

  it.effect("colons inside a value are kept", () =>
    Effect.gen(function* () {
      expect(yield* sseOf("data: a:b\n\n")).toStrictEqual([{ data: "a:b" }])
      expect(yield* sseOf("data:: x\n\n")).toStrictEqual([{ data: ": x" }])
      expect(yield* sseOf("event: t:u: v\nid: 1:2\n\n")).toStrictEqual([{ event: "t:u: v", id: "1:2" }])
    })
  )

  it.live("events are emitted as their frames complete, not at the end of the stream", () =>
    Effect.gen(function* () {
      // The source never ends: only incremental parsing lets `take(2)` finish.
      const events = yield* bytesOf(["data: 1\n\nda", "ta: 2\n", "\n"]).pipe(
        Stream.concat(Stream.never),
        TestStream.sse,
        Stream.take(2),
        Stream.runCollect,
        Effect.timeout("2 seconds")
      )
      expect(events).toStrictEqual([{ data: "1" }, { data: "2" }])
    })
  )

  it.effect("source errors pass through unchanged", () =>
    Effect.gen(function* () {
      const result = yield* bytesOf(["data: 1\n\n"]).pipe(
        Stream.concat(Stream.fail("boom" as const)),
        TestStream.sse,
        Stream.result,
        Stream.runCollect
      )
      expect(result).toStrictEqual([Result.succeed({ data: "1" }), Result.fail("boom")])
    })
  )
})

// ---------------------------------------------------------------------------------------------
// lines
// ---------------------------------------------------------------------------------------------

describe("TestStream.lines", () => {
  it.effect("LF, CRLF and lone CR all end a line", () =>
    Effect.gen(function* () {
      expect(yield* linesOf("a\nb\r\nc\rd\n")).toStrictEqual(["a", "b", "c", "d"])
      expect(yield* linesOf("a\r\rb")).toStrictEqual(["a", "", "b"])
      expect(yield* linesOf("a\n\rb")).toStrictEqual(["a", "", "b"])
    })
  )

  it.effect("the last line is emitted without a line end; no extra empty line after a trailing one", () =>
    Effect.gen(function* () {
      expect(yield* linesOf("a\nb")).toStrictEqual(["a", "b"])
      expect(yield* linesOf("a\nb\n")).toStrictEqual(["a", "b"])
      expect(yield* linesOf("a\r\nb\r\n")).toStrictEqual(["a", "b"])
      expect(yield* linesOf("a\rb\r")).toStrictEqual(["a", "b"])
      expect(yield* linesOf("a")).toStrictEqual(["a"])
      expect(yield* linesOf("\n")).toStrictEqual([""])
      expect(yield* linesOf("")).toStrictEqual([])
      expect(yield* linesOf()).toStrictEqual([])
    })
  )

  it.effect("empty lines in the middle are kept", () =>
    Effect.gen(function* () {
      expect(yield* linesOf("a\n\n\nb\n")).toStrictEqual(["a", "", "", "b"])
      expect(yield* linesOf("\r\n\r\na\r\n")).toStrictEqual(["", "", "a"])
      expect(yield* linesOf("a\n\n")).toStrictEqual(["a", ""])
    })
  )

  it.effect("a multi-byte UTF-8 character split across chunks is kept whole", () =>
    Effect.gen(function* () {
      const buffer = utf8("h\u00e9llo \u20ac\u{1F600}\r\nw\u00f6rld\r\u{1D11E}")
      const expected = ["h\u00e9llo \u20ac\u{1F600}", "w\u00f6rld", "\u{1D11E}"]
      for (const chunks of everySplit(buffer)) {
        expect(yield* linesOf(...chunks)).toStrictEqual(expected)
      }
    })
  )

  it.effect("a CRLF split across chunks is one line end", () =>
    Effect.gen(function* () {
      expect(yield* linesOf("a\r", "\nb")).toStrictEqual(["a", "b"])
      expect(yield* linesOf("a\r", "\n")).toStrictEqual(["a"])
      expect(yield* linesOf("a\r", "", "\nb")).toStrictEqual(["a", "b"])
      expect(yield* linesOf("a\r", "\r\n", "b")).toStrictEqual(["a", "", "b"])
      expect(yield* linesOf("a\r", "\n", "\nb")).toStrictEqual(["a", "", "b"])
    })
  )
})

// ---------------------------------------------------------------------------------------------
// ndjson
// ---------------------------------------------------------------------------------------------

const Row = Schema.Struct({ id: Schema.Number, at: Schema.DateFromString })

/** The stream's failure, or a test failure naming what it produced instead. */
const failureOf = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(Stream.runCollect(stream))
    if (Exit.isSuccess(exit))
      return expect.fail(`expected the stream to fail, it emitted ${JSON.stringify(exit.value)}`)
    const failure = Cause.findErrorOption(exit.cause)
    if (Option.isNone(failure)) return expect.fail(`expected a failure, got ${Cause.pretty(exit.cause)}`)
    return failure.value
  })

describe("TestStream.ndjson", () => {
  it.effect("one value per non-blank line; blank and whitespace-only lines are skipped", () =>
    Effect.gen(function* () {
      const values = yield* ndjsonOf('{"a":1}\n\n  \n[1,2]\r\n\t\r"s"\rnull\n3')
      expect(values).toStrictEqual([{ a: 1 }, [1, 2], "s", null, 3])
    })
  )

  it.effect("is usable point-free, keeping the source's error and requirements in its type", () =>
    Effect.gen(function* () {
      const stream: Stream.Stream<Uint8Array, "SourceError"> = bytesOf(['{"x":', '"y"}\n', "true\n"])
      const parsed: Stream.Stream<
        unknown,
        "SourceError" | TestStream.NdjsonParseError | TestStream.InvalidStreamArgument
      > = stream.pipe(TestStream.ndjson)
      const values = yield* Stream.runCollect(parsed)
      expect(values).toStrictEqual([{ x: "y" }, true])
    })
  )

  it.effect("values are emitted as their lines complete, not at the end of the stream", () =>
    Effect.gen(function* () {
      // The source never ends: only incremental parsing lets `take(2)` finish.
      const values = yield* bytesOf(['{"n":1}\n{"n"', ":2}\n"]).pipe(
        Stream.concat(Stream.never),
        TestStream.ndjson,
        Stream.take(2),
        Stream.runCollect
      )
      expect(values).toStrictEqual([{ n: 1 }, { n: 2 }])
    })
  )

  it.effect("source errors pass through unchanged", () =>
    Effect.gen(function* () {
      const result = yield* bytesOf(["1\n"]).pipe(
        Stream.concat(Stream.fail("boom" as const)),
        TestStream.ndjson,
        Stream.result,
        Stream.runCollect
      )
      expect(result).toStrictEqual([Result.succeed(1), Result.fail("boom")])
    })
  )

  it.effect("an invalid JSON line fails with NdjsonParseError: 1-based line number counting blank lines", () =>
    Effect.gen(function* () {
      const result = yield* bytesOf(["1\n\n   \n{not json}\n2\n"]).pipe(
        TestStream.ndjson,
        Stream.result,
        Stream.runCollect
      )
      // The value before the bad line is emitted first; nothing after it.
      expect(result).toHaveLength(2)
      expect(result[0]).toStrictEqual(Result.succeed(1))
      const failure = result[1]
      if (failure === undefined || Result.isSuccess(failure)) {
        expect.fail(`expected an NdjsonParseError, got ${String(failure)}`)
      } else {
        const error = failure.failure
        expect(error).toBeInstanceOf(TestStream.NdjsonParseError)
        expect(error._tag).toBe("NdjsonParseError")
        if (error._tag !== "NdjsonParseError") return
        expect(error.line).toBe(4)
        expect(error.text).toBe("{not json}")
        expect(error.cause).toBeInstanceOf(SyntaxError)
        expect(error.message).toContain("NDJSON line 4 is not valid JSON")
        expect(error.message).toContain('"{not json}"')
        expect(error.message).toContain("Each non-blank line must hold one complete JSON value")
      }
    })
  )

  it.effect("its tag is not the one effect's Ndjson.NdjsonError uses", () =>
    Effect.gen(function* () {
      // Caught by its own tag; a handler for effect/encoding/Ndjson's "NdjsonError" would not see it.
      const caught = yield* bytesOf(["nope\n"]).pipe(
        TestStream.ndjson,
        Stream.runCollect,
        Effect.as("not caught"),
        Effect.catchTag("NdjsonParseError", (error) => Effect.succeed(`caught line ${error.line}`))
      )
      expect(caught).toBe("caught line 1")
      const error = yield* failureOf(bytesOf(["nope\n"]).pipe(TestStream.ndjson))
      expect(error._tag).not.toBe(new Ndjson.NdjsonError({ kind: "Unpack", cause: undefined })._tag)
    })
  )

  it.effect("line numbers count CRLF, lone CR and chunk-split line ends once each", () =>
    Effect.gen(function* () {
      const error = yield* failureOf(bytesOf(["1\r", "\n\r\n", "\r", "2\r\nbad"]).pipe(TestStream.ndjson))
      expect(error).toBeInstanceOf(TestStream.NdjsonParseError)
      if (error._tag !== "NdjsonParseError") return
      expect(error.line).toBe(5)
      expect(error.text).toBe("bad")
      expect(error.message).toContain("bad")
    })
  )

  it.effect("a value split over chunks, then a bad line in the same chunk as good ones: the good ones come first", () =>
    Effect.gen(function* () {
      const result = yield* bytesOf(['{"a":', "1}\n2\n[3", "]\n{oops\n4\n"]).pipe(
        TestStream.ndjson,
        Stream.result,
        Stream.runCollect
      )
      expect(result.slice(0, 3)).toStrictEqual([Result.succeed({ a: 1 }), Result.succeed(2), Result.succeed([3])])
      expect(result).toHaveLength(4)
      const last = result[3]
      if (last === undefined || Result.isSuccess(last)) return expect.fail(`expected a failure, got ${String(last)}`)
      expect(last.failure).toMatchObject({ _tag: "NdjsonParseError", line: 4, text: "{oops" })
    })
  )
})

describe("TestStream.ndjson with a bad argument fails the stream, never dies", () => {
  // What a caller without type checking (plain JavaScript, `as any`) can pass.
  const misuse = (value: unknown) => value as Stream.Stream<Uint8Array>

  it.effect("a string instead of a stream", () =>
    Effect.gen(function* () {
      const error = yield* failureOf(TestStream.ndjson(misuse("not a schema")))
      expect(error).toBeInstanceOf(TestStream.InvalidStreamArgument)
      expect(error._tag).toBe("InvalidStreamArgument")
      if (error._tag !== "InvalidStreamArgument") return
      expect(error.operator).toBe("TestStream.ndjson")
      expect(error.message).toContain('got a string ("not a schema")')
      expect(error.message).toContain("stream.pipe(TestStream.ndjson)")
    })
  )

  it.effect("a Schema, as the old ndjson(schema) took: the message points to ndjsonSchema", () =>
    Effect.gen(function* () {
      const error = yield* failureOf(TestStream.ndjson(misuse(Row)))
      expect(error._tag).toBe("InvalidStreamArgument")
      expect(error.message).toContain("got a Schema")
      expect(error.message).toContain("TestStream.ndjsonSchema(schema)")
    })
  )

  it.effect("undefined, null, a number, a plain object", () =>
    Effect.gen(function* () {
      const described: Array<string> = []
      for (const value of [undefined, null, 42, { a: 1 }]) {
        const error = yield* failureOf(TestStream.ndjson(misuse(value)))
        expect(error._tag).toBe("InvalidStreamArgument")
        described.push(error.message.slice(error.message.indexOf("got ")))
      }
      expect(described.map((text) => text.slice(0, text.indexOf("."))).sort()).toEqual([
        "got a number (42)",
        "got an object",
        "got null",
        "got undefined"
      ])
    })
  )

  it.effect("a stream of strings instead of bytes: the values before it, then the failure", () =>
    Effect.gen(function* () {
      const source = Stream.make<Array<unknown>>(utf8("1\n"), '{"a":1}\n')
      const result = yield* TestStream.ndjson(misuse(source)).pipe(Stream.result, Stream.runCollect)
      expect(result).toHaveLength(2)
      expect(result[0]).toStrictEqual(Result.succeed(1))
      const last = result[1]
      if (last === undefined || Result.isSuccess(last)) return expect.fail(`expected a failure, got ${String(last)}`)
      expect(last.failure._tag).toBe("InvalidStreamArgument")
      expect(last.failure.message).toContain("the stream emitted a string")
      expect(last.failure.message).toContain("Stream.encodeText")
    })
  )
})

describe("TestStream.ndjsonSchema", () => {
  it.effect("each value is decoded with the Schema", () =>
    Effect.gen(function* () {
      const stream = bytesOf(['{"id":1,"at":"2024-01-02T03:04:05.000Z"}\n', '{"id":2,"at":"2020-01-01T00:00:00.000Z"}'])
      const rows = yield* stream.pipe(TestStream.ndjsonSchema(Row), Stream.runCollect)
      expect(rows).toStrictEqual([
        { id: 1, at: new Date("2024-01-02T03:04:05.000Z") },
        { id: 2, at: new Date("2020-01-01T00:00:00.000Z") }
      ])
      expect(rows[0]?.at).toBeInstanceOf(Date)
    })
  )

  it.effect("its type carries the Schema's type, the source's error and the Schema's requirements", () =>
    Effect.gen(function* () {
      const stream: Stream.Stream<Uint8Array, "SourceError"> = bytesOf(['{"id":1,"at":"2024-01-02T03:04:05.000Z"}\n'])
      const rows: Stream.Stream<
        { readonly id: number; readonly at: Date },
        "SourceError" | TestStream.NdjsonParseError | Schema.SchemaError | TestStream.InvalidStreamArgument
      > = stream.pipe(TestStream.ndjsonSchema(Row))
      const collected = yield* Stream.runCollect(rows)
      expect(collected.map((row) => row.at.toISOString())).toEqual(["2024-01-02T03:04:05.000Z"])
    })
  )

  it.effect("a value that does not match fails with a ParseError", () =>
    Effect.gen(function* () {
      const stream = bytesOf(['{"id":1,"at":"2024-01-02T03:04:05.000Z"}\n{"id":"two","at":"x"}\n{"id":3}\n'])
      const result = yield* stream.pipe(TestStream.ndjsonSchema(Row), Stream.result, Stream.runCollect)
      expect(result).toHaveLength(2)
      expect(result[0]).toStrictEqual(Result.succeed({ id: 1, at: new Date("2024-01-02T03:04:05.000Z") }))
      const second = result[1]
      expect(second !== undefined && Result.isFailure(second)).toBe(true)
      if (second !== undefined && Result.isFailure(second)) {
        expect(Schema.isSchemaError(second.failure)).toBe(true)
        expect(second.failure._tag).toBe("SchemaError")
        expect(second.failure.message).toContain("id")
      }
    })
  )

  it.effect("an invalid JSON line still fails with NdjsonParseError", () =>
    Effect.gen(function* () {
      const error = yield* failureOf(
        bytesOf(['{"id":1,"at":"2024-01-02T03:04:05.000Z"}\nnope\n']).pipe(TestStream.ndjsonSchema(Row))
      )
      expect(error).toBeInstanceOf(TestStream.NdjsonParseError)
      expect(error._tag).toBe("NdjsonParseError")
      if (error._tag === "NdjsonParseError") expect(error.line).toBe(2)
    })
  )

  it.effect("something that is not a Schema fails the stream with InvalidStreamArgument, saying to pass a Schema", () =>
    Effect.gen(function* () {
      const notASchema = "not a schema" as unknown as Schema.Codec<unknown>
      const error = yield* failureOf(bytesOf(["1\n"]).pipe(TestStream.ndjsonSchema(notASchema)))
      expect(error).toBeInstanceOf(TestStream.InvalidStreamArgument)
      expect(error._tag).toBe("InvalidStreamArgument")
      if (error._tag !== "InvalidStreamArgument") return
      expect(error.operator).toBe("TestStream.ndjsonSchema")
      expect(error.message).toContain("expected a Schema")
      expect(error.message).toContain('got a string ("not a schema")')
      expect(error.message).toContain("stream.pipe(TestStream.ndjson)")
    })
  )

  it.effect("a stream where the Schema goes: the message shows the right order", () =>
    Effect.gen(function* () {
      const swapped = bytesOf(["1\n"]) as unknown as Schema.Codec<unknown>
      const error = yield* failureOf(bytesOf(["1\n"]).pipe(TestStream.ndjsonSchema(swapped)))
      expect(error._tag).toBe("InvalidStreamArgument")
      expect(error.message).toContain("got a Stream where a Schema was expected")
      expect(error.message).toContain("stream.pipe(TestStream.ndjsonSchema(Row))")
    })
  )

  it.effect("the operator applied to something that is not a stream fails the same way", () =>
    Effect.gen(function* () {
      const operator = TestStream.ndjsonSchema(Row)
      const error = yield* failureOf(operator(42 as unknown as Stream.Stream<Uint8Array>))
      expect(error._tag).toBe("InvalidStreamArgument")
      if (error._tag !== "InvalidStreamArgument") return
      expect(error.operator).toBe("TestStream.ndjsonSchema")
      expect(error.message).toContain("got a number (42)")
    })
  )
})

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

/**
 * SSE model. A stream is: an optional BOM, then frames (field lines + a blank line), then an
 * optional unterminated tail (field lines with no blank line after them, the last one maybe
 * with no line end at all) that must be dropped.
 *
 * Every line is serialised with its own line end (LF, CRLF or CR). One serialisation is
 * ambiguous: a line ended by CR, followed by an EMPTY line ended by LF, writes "\r" + "\n",
 * which is ONE line end (CRLF) by the parsing rules, not the two the model means. Field lines
 * are never empty (they start with a field name or ":") and no line contains CR or LF, so the
 * only place a line can start with LF is a blank (frame-ending) line; `serialise` therefore
 * writes such a blank line with CRLF instead ("\r" + "\r\n" is unambiguously two line ends).
 * No other "\r\n" pair can arise between two line ends.
 */
type Ending = "\n" | "\r\n" | "\r"

/** How a field is written: "name: value", "name:value" (value must not start with a space), or "name" (empty value). */
type Style = "space" | "tight" | "bare"

type FieldName = "data" | "event" | "id" | "retry"

type ModelLine =
  | { readonly _tag: "field"; readonly name: FieldName; readonly value: string; readonly style: Style }
  | { readonly _tag: "unknown"; readonly name: string; readonly value: string; readonly style: Style }
  | { readonly _tag: "comment"; readonly text: string }

interface Physical {
  readonly text: string
  readonly ending: Ending | ""
}

interface SseModel {
  readonly bom: boolean
  readonly frames: ReadonlyArray<{
    readonly lines: ReadonlyArray<{ readonly line: ModelLine; readonly ending: Ending }>
    readonly ending: Ending
  }>
  readonly tail: ReadonlyArray<{ readonly line: ModelLine; readonly ending: Ending }>
  readonly tailEnding: Ending | ""
}

const endingArb: Arbitrary.Arbitrary<Ending> = gen.constantFrom("\n", "\r\n", "\r")

/** One character: mostly awkward ones (space, colon, NUL, BOM, multi-byte, astral), else any code point. */
const charArb: Arbitrary.Arbitrary<string> = gen
  .oneof(
    gen.constantFrom(" ", ":", "\u0000", "\uFEFF", "\u00e9", "\u20ac", "\u{1F600}", "\u{1D11E}", "\u2028", "a", "0"),
    gen.anyString({ minLength: 1, maxLength: 1 })
  )
  .pipe(Arbitrary.filter((c: string) => c !== "\r" && c !== "\n"))

const valueArb: Arbitrary.Arbitrary<string> = gen.map(gen.array(charArb, { maxLength: 8 }), (cs) => cs.join(""))

const retryValueArb: Arbitrary.Arbitrary<string> = gen.oneof(
  gen.map(gen.array(gen.constantFrom("0", "1", "2", "3", "5", "9"), { minLength: 1, maxLength: 6 }), (ds) =>
    ds.join("")
  ),
  gen.constantFrom("3s", "-1", "", "1.5", " 1", "1e3", "+1", "\u0663", "1 ", "0x10"),
  valueArb
)

const styleFor = (value: string): Arbitrary.Arbitrary<Style> =>
  value === ""
    ? gen.constantFrom<Style>("space", "tight", "bare")
    : value.startsWith(" ")
      ? gen.constant<Style>("space")
      : gen.constantFrom<Style>("space", "tight")

const withStyle = <A extends { readonly value: string }>(
  arb: Arbitrary.Arbitrary<A>
): Arbitrary.Arbitrary<A & { readonly style: Style }> =>
  gen.flatMap(arb, (a) => gen.map(styleFor(a.value), (style) => ({ ...a, style })))

const fieldArb = (name: FieldName, values: Arbitrary.Arbitrary<string>): Arbitrary.Arbitrary<ModelLine> =>
  withStyle(gen.map(values, (value) => ({ _tag: "field" as const, name, value })))

const modelLineArb: Arbitrary.Arbitrary<ModelLine> = gen.oneof<ModelLine>(
  { weight: 4, arbitrary: fieldArb("data", valueArb) },
  { weight: 2, arbitrary: fieldArb("event", valueArb) },
  { weight: 2, arbitrary: fieldArb("id", valueArb) },
  { weight: 2, arbitrary: fieldArb("retry", retryValueArb) },
  {
    weight: 1,
    arbitrary: withStyle(
      gen.map(
        gen.record({
          name: gen.constantFrom(
            "Data",
            "EVENT",
            "ids",
            "x",
            "data2",
            " data",
            "retry ",
            "\u00e9v\u00e9nement",
            "\u{1F600}"
          ),
          value: valueArb
        }),
        ({ name, value }) => ({ _tag: "unknown" as const, name, value })
      )
    )
  },
  { weight: 1, arbitrary: gen.map(valueArb, (text) => ({ _tag: "comment" as const, text })) }
)

const lineWithEndingArb = gen.record({ line: modelLineArb, ending: endingArb })

const sseModelArb: Arbitrary.Arbitrary<SseModel> = gen.record({
  bom: gen.boolean,
  frames: gen.array(gen.record({ lines: gen.array(lineWithEndingArb, { maxLength: 5 }), ending: endingArb }), {
    maxLength: 6
  }),
  tail: gen.array(lineWithEndingArb, { maxLength: 3 }),
  tailEnding: gen.constantFrom<Ending | "">("", "\n", "\r\n", "\r")
})

const lineText = (line: ModelLine): string => {
  switch (line._tag) {
    case "comment":
      return `:${line.text}`
    case "field":
    case "unknown":
      return line.style === "bare"
        ? line.name
        : line.style === "tight"
          ? `${line.name}:${line.value}`
          : `${line.name}: ${line.value}`
  }
}

const physicalLines = (model: SseModel): Array<Physical> => {
  const out: Array<Physical> = []
  for (const frame of model.frames) {
    for (const { line, ending } of frame.lines) out.push({ text: lineText(line), ending })
    out.push({ text: "", ending: frame.ending })
  }
  model.tail.forEach(({ line, ending }, i) => {
    out.push({ text: lineText(line), ending: i === model.tail.length - 1 ? model.tailEnding : ending })
  })
  return out
}

/** Joins lines, writing a blank line that follows a CR-ended line with CRLF instead of LF (see above). */
const joinLines = (lines: ReadonlyArray<Physical>): string => {
  let text = ""
  let previous: Ending | "" = ""
  for (const { text: line, ending } of lines) {
    const safe: Ending | "" = previous === "\r" && line === "" && ending === "\n" ? "\r\n" : ending
    text += line + safe
    previous = safe
  }
  return text
}

const serialiseSse = (model: SseModel): Uint8Array =>
  utf8((model.bom ? "\uFEFF" : "") + joinLines(physicalLines(model)))

/** The events the model means, computed from the model, not from its serialisation. */
const expectedSse = (model: SseModel): Array<TestStream.SseEvent> => {
  const events: Array<TestStream.SseEvent> = []
  for (const frame of model.frames) {
    const event: { event?: string; data?: string; id?: string; retry?: number } = {}
    const data: Array<string> = []
    for (const { line } of frame.lines) {
      if (line._tag !== "field") continue
      switch (line.name) {
        case "data":
          data.push(line.value)
          break
        case "event":
          event.event = line.value
          break
        case "id":
          if (!line.value.includes("\u0000")) event.id = line.value
          break
        case "retry":
          if (/^[0-9]+$/.test(line.value)) event.retry = Number.parseInt(line.value, 10)
          break
      }
    }
    if (data.length > 0) event.data = data.join("\n")
    if (Object.keys(event).length > 0) events.push(event)
  }
  return events
}

/** Random cut points, taken modulo the buffer length so they land anywhere, including mid-character. */
const cutsArb = gen.array(gen.nat, { maxLength: 12 })

const cutsFor = (buffer: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> =>
  cutAt(
    buffer,
    cuts.map((c) => c % (buffer.length + 1))
  )

/** NDJSON model: JSON values, each on its own line, blank / whitespace lines between them, LF or CRLF ends. */
interface NdjsonModel {
  readonly items: ReadonlyArray<{
    readonly value: Schema.Json
    readonly blanksBefore: ReadonlyArray<string>
    readonly ending: "\n" | "\r\n"
  }>
  readonly lastEnding: "\n" | "\r\n" | ""
}

const ndjsonModelArb: Arbitrary.Arbitrary<NdjsonModel> = gen.record({
  items: gen.array(
    gen.record({
      value: gen.jsonValue,
      blanksBefore: gen.array(gen.constantFrom("", " ", "\t", "  \t "), { maxLength: 2 }),
      ending: gen.constantFrom<"\n" | "\r\n">("\n", "\r\n")
    }),
    { maxLength: 8 }
  ),
  lastEnding: gen.constantFrom<"\n" | "\r\n" | "">("", "\n", "\r\n")
})

const serialiseNdjson = (model: NdjsonModel): Uint8Array => {
  let text = ""
  model.items.forEach(({ value, blanksBefore, ending }, i) => {
    for (const blank of blanksBefore) text += blank + ending
    text += JSON.stringify(value) + (i === model.items.length - 1 ? model.lastEnding : ending)
  })
  return utf8(text)
}

describe("properties", () => {
  it.prop(
    "sse: random frames, random line ends, random chunk boundaries parse as the model says",
    { model: sseModelArb, cuts: cutsArb },
    ({ cuts, model }) => {
      const buffer = serialiseSse(model)
      const whole = Effect.runSync(sseOf(buffer))
      const split = Effect.runSync(sseOf(...cutsFor(buffer, cuts)))
      expect(whole).toStrictEqual(expectedSse(model))
      expect(split).toStrictEqual(whole)
    },
    { arbitrary: { runs: 200 } }
  )

  it.prop(
    "lines: random lines, random line ends, random chunk boundaries give the lines back",
    {
      lines: gen.array(gen.record({ text: valueArb, ending: endingArb }), { maxLength: 8 }),
      lastEnding: gen.constantFrom<Ending | "">("", "\n", "\r\n", "\r"),
      cuts: cutsArb
    },
    ({ cuts, lastEnding, lines }) => {
      const physical: Array<Physical> = lines.map(({ text, ending }, i) => ({
        // A BOM at the very start of the stream is dropped by the decoder: keep the first line clear of it.
        text: i === 0 ? text.replace(/^\uFEFF+/, "") : text,
        ending: i === lines.length - 1 ? lastEnding : ending
      }))
      // Same ambiguity as for SSE: an empty LF-ended line after a CR-ended one is written with CRLF.
      const buffer = utf8(joinLines(physical))
      const last = physical[physical.length - 1]
      // A final empty line with no line end is not a line at all.
      const expected = physical
        .filter((line) => !(line === last && line.ending === "" && line.text === ""))
        .map((line) => line.text)
      expect(Effect.runSync(linesOf(buffer))).toStrictEqual(expected)
      expect(Effect.runSync(linesOf(...cutsFor(buffer, cuts)))).toStrictEqual(expected)
    },
    { arbitrary: { runs: 200 } }
  )

  it.prop(
    "ndjson: random JSON values, LF / CRLF, blank lines, random chunk boundaries parse to the values",
    { model: ndjsonModelArb, cuts: cutsArb },
    ({ cuts, model }) => {
      const buffer = serialiseNdjson(model)
      // JSON round trip of the generated value (e.g. -0 is written as 0).
      const expected = model.items.map(({ value }): unknown => JSON.parse(JSON.stringify(value)))
      expect(Effect.runSync(ndjsonOf(buffer))).toStrictEqual(expected)
      expect(Effect.runSync(ndjsonOf(...cutsFor(buffer, cuts)))).toStrictEqual(expected)
    },
    { arbitrary: { runs: 200 } }
  )
})

// ---------------------------------------------------------------------------------------------
// Linear time: a long line arriving in many chunks
// ---------------------------------------------------------------------------------------------

/**
 * Runs `run` while counting the characters `String.prototype.indexOf` examines (from the start
 * position to the match, or to the end of the string when there is none): the work the line
 * splitter and the SSE field parser do to find line ends and colons. A parser that rescans the
 * pending part of a line on every chunk examines O(line × chunks) characters; a linear one
 * O(input). No timing involved: the count is the same on any machine.
 */
const countIndexOfWork = <A>(run: () => A): { readonly result: A; readonly examined: number } => {
  const original = String.prototype.indexOf
  let examined = 0
  String.prototype.indexOf = function (this: string, search: string, position?: number): number {
    const found = original.call(this, search, position)
    const from = Math.min(Math.max(Math.trunc(position ?? 0) || 0, 0), this.length)
    examined += (found === -1 ? this.length : found + search.length) - from
    return found
  }
  try {
    return { result: run(), examined }
  } finally {
    String.prototype.indexOf = original
  }
}

/** `text` as UTF-8, cut into chunks of `size` bytes (a multi-byte character may straddle two). */
const chunked = (text: string, size: number): Array<Uint8Array> => {
  const bytes = utf8(text)
  const chunks: Array<Uint8Array> = []
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size))
  return chunks
}

describe("linear time in the length of a line", () => {
  const MiB = 1024 * 1024

  it("lines: a 1 MiB line in 1 KiB chunks examines each character a bounded number of times", () => {
    const line = "x".repeat(MiB)
    const input = chunked(`${line}\nnext`, 1024)
    const { examined, result } = countIndexOfWork(() => Effect.runSync(linesOf(...input)))
    expect(result).toHaveLength(2)
    expect(result[0] === line).toBe(true)
    expect(result[1]).toBe("next")
    // One pass for LF and one for CR over the input, plus slack; the quadratic parser examined ~1e9.
    expect(examined).toBeLessThanOrEqual(3 * (MiB + 5))
  })

  it("sse: a 1 MiB data line in 1 KiB chunks examines each character a bounded number of times", () => {
    const data = "\u00e9x".repeat(MiB / 2)
    const input = chunked(`data: ${data}\nid: 1\n\n`, 1024)
    const { examined, result } = countIndexOfWork(() => Effect.runSync(sseOf(...input)))
    expect(result).toHaveLength(1)
    expect(result[0]?.data === data).toBe(true)
    expect(result[0]?.id).toBe("1")
    expect(examined).toBeLessThanOrEqual(3 * (MiB + 20))
  })

  it("sse: many short lines without a colon in one chunk do not each scan to the chunk's end", () => {
    // "data" alone (empty value) and an unknown field: a colon search that is not bounded by the
    // line end runs to the next colon, here the end of each 64 KiB chunk.
    const text = `${"data\nx\n".repeat(32 * 1024)}\n`
    const input = chunked(text, 64 * 1024)
    const { examined, result } = countIndexOfWork(() => Effect.runSync(sseOf(...input)))
    expect(result).toStrictEqual([{ data: "\n".repeat(32 * 1024 - 1) }])
    expect(examined).toBeLessThanOrEqual(3 * text.length)
  })

  it("ndjson: a 1 MiB JSON string in 1 KiB chunks examines each character a bounded number of times", () => {
    const value = "\u20ac".repeat(MiB / 4)
    const input = chunked(`${JSON.stringify(value)}\n[1]`, 1024)
    const { examined, result } = countIndexOfWork(() => Effect.runSync(ndjsonOf(...input)))
    expect(result).toHaveLength(2)
    expect(result[0] === value).toBe(true)
    expect(result[1]).toStrictEqual([1])
    expect(examined).toBeLessThanOrEqual(3 * (MiB / 4 + 10))
  })

  it("lines: a 50 MiB line in 64 KiB chunks, characters split across chunks, comes back whole", () => {
    // "€" is 3 bytes and 64 KiB is not a multiple of 3: most chunk boundaries cut a character.
    const count = Math.floor((50 * MiB) / 3)
    const pattern = utf8("\u20ac")
    const bytes = new Uint8Array(count * 3 + 7)
    bytes.set(pattern, 0)
    for (let filled = 3; filled < count * 3; filled *= 2)
      bytes.copyWithin(filled, 0, Math.min(filled, count * 3 - filled))
    bytes.set(utf8("\r\nend\r\n"), count * 3)
    const chunks: Array<Uint8Array> = []
    for (let at = 0; at < bytes.length; at += 64 * 1024) chunks.push(bytes.subarray(at, at + 64 * 1024))
    const result = Effect.runSync(linesOf(...chunks))
    expect(result).toHaveLength(2)
    expect(result[0]?.length).toBe(count)
    expect(result[0] === "\u20ac".repeat(count)).toBe(true)
    expect(result[1]).toBe("end")
  })

  it("sse: a 4 MiB data line in 1 KiB chunks, then a short frame, parses", () => {
    const data = "y".repeat(4 * MiB)
    const input = chunked(`event: big\r\ndata: ${data}\r\n\r\ndata: small\r\n\r\n`, 1024)
    const result = Effect.runSync(sseOf(...input))
    expect(result).toHaveLength(2)
    expect(result[0]?.event).toBe("big")
    expect(result[0]?.data === data).toBe(true)
    expect(result[1]).toStrictEqual({ data: "small" })
  })
})
