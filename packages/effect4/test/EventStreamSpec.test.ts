/**
 * `TestStream.sse` and `TestStream.lines` against our own transcription of the algorithm a
 * browser's `EventSource` uses to interpret an event stream: a table of small format cases
 * (comments, field and value splitting, line ends, BOM, end of stream, event, id, retry,
 * encoding; each input written here with the frames we report and the events a browser
 * dispatches worked out by hand), then differential property tests that feed random streams,
 * cut at random byte offsets, to the parser and compare with the reference run on the whole.
 */
import { describe, expect, it } from "@effect/vitest"
import { asBrowser, formatCases, interpret, referenceLines } from "@effect-http-testkit/core/scenarios"
import { TestStream } from "@effect-http-testkit/effect4"
import { type Arbitrary, Effect, Stream } from "effect"
import * as gen from "./support/arbitrary.js"

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const encoder = new TextEncoder()

const bytesOf = (input: string | Uint8Array): Uint8Array => (typeof input === "string" ? encoder.encode(input) : input)

const sseOf = (chunks: ReadonlyArray<Uint8Array>): Array<TestStream.SseEvent> =>
  Effect.runSync(Stream.fromIterable(chunks).pipe(TestStream.sse, Stream.runCollect))

const linesOf = (chunks: ReadonlyArray<Uint8Array>): Array<string> =>
  Effect.runSync(Stream.fromIterable(chunks).pipe(TestStream.lines, Stream.runCollect))

const ndjsonOf = (chunks: ReadonlyArray<Uint8Array>): Array<unknown> =>
  Effect.runSync(Stream.fromIterable(chunks).pipe(TestStream.ndjson, Stream.runCollect))

/** Cuts `buffer` at `offsets` (any order, repeats give empty chunks, taken modulo length + 1). */
const cut = (buffer: Uint8Array, offsets: ReadonlyArray<number>): Array<Uint8Array> => {
  const sorted = offsets.map((o) => o % (buffer.length + 1)).sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const offset of sorted) {
    chunks.push(buffer.subarray(start, offset))
    start = offset
  }
  chunks.push(buffer.subarray(start))
  return chunks
}

/** The whole buffer, every cut in two, and one byte per chunk. */
const chunkings = (buffer: Uint8Array): Array<Array<Uint8Array>> => [
  [buffer],
  ...Array.from({ length: buffer.length + 1 }, (_, i) => cut(buffer, [i])),
  Array.from(buffer, (b) => Uint8Array.of(b))
]

// The table's own consistency (the reference agrees with each case, a browser's view of the
// frames is the browser's view of the stream) is checked by the core's tests; here, TestStream
// must report the table's frames.
describe("event-stream format cases", () => {
  for (const c of formatCases) {
    it(c.name, () => {
      // TestStream.sse reports the table's frames, however the bytes are cut.
      for (const chunks of chunkings(bytesOf(c.input))) expect(sseOf(chunks)).toStrictEqual(c.frames)
    })
  }
})

// ---------------------------------------------------------------------------------------------
// Differential property tests
// ---------------------------------------------------------------------------------------------

/** Pieces an event stream is made of, weighted towards the syntax and the awkward characters. */
const tokenArb: Arbitrary.Arbitrary<string> = gen.oneof(
  { weight: 6, arbitrary: gen.constantFrom("\n", "\r", "\r\n", "\n\n", "\r\r", "\r\n\r\n") },
  {
    weight: 6,
    arbitrary: gen.constantFrom("data", "data:", "data: ", "event:", "id:", "retry:", "id", "retry", "event")
  },
  { weight: 3, arbitrary: gen.constantFrom(":", " ", "  ", "\t", "Data", "foo", "dat", "a") },
  { weight: 3, arbitrary: gen.constantFrom("0", "7", "42", "1000", "-1", "1.5", "1e3", "\u0663") },
  {
    weight: 3,
    arbitrary: gen.constantFrom("\u0000", "\uFEFF", "\u00e9", "\u20ac", "\u{1F600}", "\u2028", "x", "hello")
  },
  { weight: 1, arbitrary: gen.anyString({ maxLength: 4 }) }
)

const streamArb: Arbitrary.Arbitrary<string> = gen.map(gen.array(tokenArb, { maxLength: 60 }), (tokens) =>
  tokens.join("")
)

/** Raw bytes, half of them from the bytes that matter to the parser (line ends, colon, space, NUL, BOM, UTF-8 lead and continuation bytes). */
const byteArb: Arbitrary.Arbitrary<number> = gen.oneof(
  gen.constantFrom(0x0a, 0x0d, 0x3a, 0x20, 0x00, 0xef, 0xbb, 0xbf, 0xc3, 0xa9, 0xe2, 0x82, 0xf0, 0x9f, 0xff),
  gen.constantFrom(...Array.from(encoder.encode("dataeventidretry09")).filter((b, i, all) => all.indexOf(b) === i)),
  gen.int(0, 255)
)

const bytesArb: Arbitrary.Arbitrary<Uint8Array> = gen.map(gen.array(byteArb, { maxLength: 120 }), (bytes) =>
  Uint8Array.from(bytes)
)

const cutsArb = gen.array(gen.nat, { maxLength: 16 })

describe("TestStream.sse against the reference", () => {
  it.prop(
    "random event streams, cut at random byte offsets: the parser reports the reference's frames",
    { text: streamArb, bom: gen.boolean, cuts: cutsArb },
    ({ bom, cuts, text }) => {
      const buffer = encoder.encode((bom ? "\uFEFF" : "") + text)
      const reference = interpret(buffer)
      const frames = sseOf(cut(buffer, cuts))
      expect(frames).toStrictEqual(reference.frames)
      // What a browser dispatches is recoverable from the frames, retry included up to the last frame end.
      const browser = asBrowser(frames)
      expect(browser.dispatched).toStrictEqual(reference.dispatched)
      expect(browser.reconnectionTime).toBe(reference.reconnectionTimeAtLastFrameEnd)
    },
    { arbitrary: { runs: 500 } }
  )

  it.prop(
    "random bytes (invalid UTF-8 included), cut at random offsets: the parser reports the reference's frames",
    { buffer: bytesArb, cuts: cutsArb },
    ({ buffer, cuts }) => {
      expect(sseOf(cut(buffer, cuts))).toStrictEqual(interpret(buffer).frames)
    },
    { arbitrary: { runs: 500 } }
  )

  it.prop(
    "one byte per chunk gives the same frames as the whole buffer",
    { text: streamArb },
    ({ text }) => {
      const buffer = encoder.encode(text)
      expect(sseOf(Array.from(buffer, (b) => Uint8Array.of(b)))).toStrictEqual(interpret(buffer).frames)
    },
    { arbitrary: { runs: 200 } }
  )
})

// ---------------------------------------------------------------------------------------------
// lines and ndjson against a plain split
// ---------------------------------------------------------------------------------------------

const lineTokenArb: Arbitrary.Arbitrary<string> = gen.oneof(
  { weight: 4, arbitrary: gen.constantFrom("\n", "\r", "\r\n", "\n\r", "\r\r") },
  {
    weight: 4,
    arbitrary: gen.constantFrom("a", "line", " ", "\t", "\u00e9", "\u20ac", "\u{1F600}", "\uFEFF", "\u0000")
  },
  { weight: 1, arbitrary: gen.anyString({ maxLength: 6 }) }
)

describe("TestStream.lines against a plain split", () => {
  it.prop(
    "random text, cut at random byte offsets",
    { text: gen.map(gen.array(lineTokenArb, { maxLength: 60 }), (t) => t.join("")), cuts: cutsArb },
    ({ cuts, text }) => {
      const buffer = encoder.encode(text)
      expect(linesOf(cut(buffer, cuts))).toStrictEqual(referenceLines(buffer))
    },
    { arbitrary: { runs: 500 } }
  )

  it.prop(
    "random bytes (invalid UTF-8 included), cut at random offsets",
    { buffer: bytesArb, cuts: cutsArb },
    ({ buffer, cuts }) => {
      expect(linesOf(cut(buffer, cuts))).toStrictEqual(referenceLines(buffer))
    },
    { arbitrary: { runs: 500 } }
  )

  it("a few fixed cases pin the reference itself", () => {
    const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
      ["", []],
      ["\n", [""]],
      ["a", ["a"]],
      ["a\n", ["a"]],
      ["a\r\n", ["a"]],
      ["a\r", ["a"]],
      ["a\r\r", ["a", ""]],
      ["a\n\r", ["a", ""]],
      ["a\r\nb", ["a", "b"]],
      ["\uFEFFa", ["a"]],
      ["\uFEFF\uFEFFa", ["\uFEFFa"]]
    ]
    for (const [text, expected] of cases) {
      const buffer = encoder.encode(text)
      expect(referenceLines(buffer)).toStrictEqual(expected)
      for (const chunks of chunkings(buffer)) expect(linesOf(chunks)).toStrictEqual(expected)
    }
  })

  it.prop(
    "ndjson: JSON values and blank lines with any line ends, cut at random offsets, parse as the split says",
    {
      items: gen.array(
        gen.record({
          value: gen.jsonValue,
          blank: gen.constantFrom("", " ", "\t", " \t "),
          ending: gen.constantFrom("\n", "\r", "\r\n")
        }),
        { maxLength: 8 }
      ),
      cuts: cutsArb
    },
    ({ cuts, items }) => {
      const buffer = encoder.encode(
        items.map(({ blank, ending, value }) => `${blank}${ending}${JSON.stringify(value)}${ending}`).join("")
      )
      const expected = referenceLines(buffer)
        .filter((line) => line.trim() !== "")
        .map((line): unknown => JSON.parse(line))
      expect(ndjsonOf(cut(buffer, cuts))).toStrictEqual(expected)
      expect(expected).toHaveLength(items.length)
    },
    { arbitrary: { runs: 300 } }
  )
})
