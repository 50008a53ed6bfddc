/**
 * The event-stream, line and NDJSON parsers run directly on the shared format table and the
 * browser reference, whole and cut at every byte. The editions run the same table through
 * their stream operators.
 */
import { describe, expect, it } from "vitest"
import { LineSplitter, NdjsonParser, type SseEvent, SseParser, Utf8Text } from "../src/index.js"
import { asBrowser, formatCases, interpret, referenceLines } from "../src/scenarios/index.js"

const encoder = new TextEncoder()
const bytesOf = (input: string | Uint8Array): Uint8Array => (typeof input === "string" ? encoder.encode(input) : input)

/** The whole buffer, every cut in two, and one byte per chunk. */
const chunkings = (buffer: Uint8Array): Array<Array<Uint8Array>> => [
  [buffer],
  ...Array.from({ length: buffer.length + 1 }, (_, i) => [buffer.subarray(0, i), buffer.subarray(i)]),
  Array.from(buffer, (b) => Uint8Array.of(b))
]

const sseOf = (chunks: ReadonlyArray<Uint8Array>): Array<SseEvent> => {
  const parser = new SseParser()
  const out: Array<SseEvent> = []
  for (const chunk of chunks) parser.push(chunk, out)
  return out
}

const linesOf = (chunks: ReadonlyArray<Uint8Array>): Array<string> => {
  const splitter = new LineSplitter()
  const out: Array<string> = []
  for (const chunk of chunks) splitter.push(chunk, (text, start, end) => out.push(text.slice(start, end)))
  const last = splitter.end()
  if (last !== undefined) out.push(last)
  return out
}

describe("the event-stream format table, through SseParser", () => {
  it("has at least 35 cases, with unique names", () => {
    expect(formatCases.length).toBeGreaterThanOrEqual(35)
    expect(new Set(formatCases.map((c) => c.name)).size).toBe(formatCases.length)
  })

  for (const c of formatCases) {
    it(c.name, () => {
      const buffer = bytesOf(c.input)
      // The table agrees with the reference, and a browser loses nothing our frames hold.
      const reference = interpret(buffer)
      expect(reference.frames).toStrictEqual(c.frames)
      expect(reference.dispatched).toStrictEqual(c.dispatched)
      expect(asBrowser(c.frames).dispatched).toStrictEqual(c.dispatched)
      expect(reference.reconnectionTime).toBe(c.reconnectionTime)
      // The parser reports the same frames however the bytes arrive.
      for (const chunks of chunkings(buffer)) expect(sseOf(chunks)).toStrictEqual(c.frames)
    })
  }
})

describe("LineSplitter", () => {
  const inputs = [
    "a\nb\r\nc\rd",
    "\r\n\r\n",
    "trailing\n",
    "\ufeffbom then text\nand ünïcödé ✓ 𝄞\n",
    "cr at the end\r",
    ""
  ]
  for (const input of inputs) {
    it(`splits ${JSON.stringify(input)} as the reference does, at every cut`, () => {
      const buffer = encoder.encode(input)
      for (const chunks of chunkings(buffer)) expect(linesOf(chunks)).toStrictEqual(referenceLines(buffer))
    })
  }

  it("a character split across chunks is put back together; one left incomplete ends as U+FFFD", () => {
    const clef = encoder.encode("𝄞")
    const text = new Utf8Text()
    expect(text.decode(clef.subarray(0, 1)) + text.decode(clef.subarray(1, 3))).toBe("")
    expect(text.decode(clef.subarray(3))).toBe("𝄞")
    expect(text.decode(clef.subarray(0, 2))).toBe("")
    expect(text.end()).toBe("\ufffd")
  })
})

describe("NdjsonParser", () => {
  it("parses one value a line whatever the chunks, skipping blank lines, the last line unterminated", () => {
    const buffer = encoder.encode('{"a":1}\n\n  \n[2,3]\r\n"four"')
    for (const chunks of chunkings(buffer)) {
      const parser = new NdjsonParser()
      const out: Array<unknown> = []
      for (const chunk of chunks) parser.push(chunk, out)
      parser.end(out)
      expect(out).toStrictEqual([{ a: 1 }, [2, 3], "four"])
      expect(parser.failure).toBeUndefined()
    }
  })

  it("stops at the first line that is not JSON and says which, counting blank lines", () => {
    const parser = new NdjsonParser()
    const out: Array<unknown> = []
    parser.push(encoder.encode('1\n\n{"pretty":\n2\n'), out)
    parser.end(out)
    expect(out).toStrictEqual([1])
    expect(parser.failure?.line).toBe(3)
    expect(parser.failure?.text).toBe('{"pretty":')
    expect(parser.failure?.cause).toBeInstanceOf(SyntaxError)
  })
})
