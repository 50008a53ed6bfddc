/**
 * The paths of `TestStream.sse` (and the UTF-8 decoding it shares with `lines` and `ndjson`)
 * that the format tests in EventStreamSpec and Stream do not single out: the data-only fast
 * path next to full frames, line ends around it split across chunks, frames that span Stream
 * chunks, how the events are chunked on the way out and that they leave as their frames end,
 * and the decoder's cut points (a character split across chunks, valid or not).
 */
import { describe, expect, it } from "@effect/vitest"
import { TestStream } from "@effect-http-testkit/effect4"
import { Deferred, Effect, Fiber, Stream } from "effect"
import { concatBytes, utf8 } from "./support/bytes.js"

/** `buffer` cut at the given byte offsets (sorted, repeats give empty chunks). */
const cutAt = (buffer: Uint8Array, offsets: ReadonlyArray<number>): Array<Uint8Array> => {
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const offset of [...offsets].sort((a, b) => a - b)) {
    chunks.push(buffer.subarray(start, offset))
    start = offset
  }
  chunks.push(buffer.subarray(start))
  return chunks
}

/** The whole buffer, every cut in two, every cut in three (up to 24 bytes), and one byte per chunk. */
const everyCut = (buffer: Uint8Array): Array<Array<Uint8Array>> => {
  const all: Array<Array<Uint8Array>> = [[buffer], Array.from(buffer, (b) => Uint8Array.of(b))]
  for (let i = 0; i <= buffer.length; i++) {
    all.push(cutAt(buffer, [i]))
    if (buffer.length <= 24) for (let j = i; j <= buffer.length; j++) all.push(cutAt(buffer, [i, j]))
  }
  return all
}

/** All the byte chunks in one Stream chunk. */
const asOneStreamChunk = (chunks: ReadonlyArray<Uint8Array>): Stream.Stream<Uint8Array> => Stream.fromIterable(chunks)

/** One byte chunk per Stream chunk, as a response body arrives. */
const asStreamChunks = (chunks: ReadonlyArray<Uint8Array>): Stream.Stream<Uint8Array> =>
  Stream.fromArrays(...chunks.map((bytes) => [bytes]))

const sseOf = (source: Stream.Stream<Uint8Array>): Array<TestStream.SseEvent> =>
  Effect.runSync(source.pipe(TestStream.sse, Stream.runCollect))

/** The sizes of the chunks `TestStream.sse` emits. */
const outputChunkSizes = (source: Stream.Stream<Uint8Array>): Array<number> =>
  Effect.runSync(
    source.pipe(
      TestStream.sse,
      Stream.chunks,
      Stream.map((chunk) => chunk.length),
      Stream.runCollect
    )
  )

/** The frames parse the same whatever the cuts, in one Stream chunk or one per byte chunk. */
const expectEveryCut = (text: string, expected: ReadonlyArray<TestStream.SseEvent>) => {
  for (const chunks of everyCut(utf8(text))) {
    expect(sseOf(asOneStreamChunk(chunks))).toStrictEqual(expected)
    expect(sseOf(asStreamChunks(chunks))).toStrictEqual(expected)
  }
}

describe("TestStream.sse: the data-only fast path", () => {
  it("data-only frames between full frames, however the bytes are cut", () => {
    expectEveryCut("data: 1\n\nevent: e\ndata: 2\n\ndata: 3\n\nid: 4\n\ndata: 5\ndata: 6\n\ndata:7\n\n", [
      { data: "1" },
      { event: "e", data: "2" },
      { data: "3" },
      { id: "4" },
      { data: "5\n6" },
      { data: "7" }
    ])
  })

  it("a field set earlier in the frame is kept: the data line does not end the frame on its own", () => {
    expectEveryCut("event: e\ndata: a\n\n", [{ event: "e", data: "a" }])
    expectEveryCut("id: 1\ndata: a\n\n", [{ id: "1", data: "a" }])
    expectEveryCut("retry: 5\ndata: a\n\n", [{ retry: 5, data: "a" }])
    expectEveryCut("data: a\ndata: b\n\ndata: c\n\n", [{ data: "a\nb" }, { data: "c" }])
  })

  it("lines that set no field leave the fast path on", () => {
    expectEveryCut(": c\ndata: a\n\n", [{ data: "a" }])
    expectEveryCut("foo: bar\ndata: a\n\n", [{ data: "a" }])
    expectEveryCut("retry: x\ndata: a\n\n", [{ data: "a" }])
    expectEveryCut("id: a\u0000b\ndata: a\n\n", [{ data: "a" }])
  })

  it("values as the slow path reads them: one space stripped, colons kept, empty values", () => {
    expectEveryCut("data:  x\n\ndata:x\n\ndata:\n\ndata: \n\ndata: a:b\n\ndata:: c\n\n", [
      { data: " x" },
      { data: "x" },
      { data: "" },
      { data: "" },
      { data: "a:b" },
      { data: ": c" }
    ])
  })

  it("lines that only look like data lines", () => {
    expectEveryCut("data\n\n", [{ data: "" }])
    expectEveryCut("dat: x\n\nData: x\n\ndata : x\n\ndatax: y\n\n\ndata\tx\n\n", [])
    expectEveryCut("data\u00e9: x\n\ndata: \u00e9\n\n", [{ data: "\u00e9" }])
  })

  it("CR and CRLF around a data line, split across chunks anywhere", () => {
    expectEveryCut("data: a\r\n\r\ndata: b\r\rdata: c\n\r\ndata: d\r\n\ndata: e\n\rdata: f\n\n", [
      { data: "a" },
      { data: "b" },
      { data: "c" },
      { data: "d" },
      { data: "e" },
      { data: "f" }
    ])
    // A CR ending one chunk and the LF opening the next are one line end, in or out of the fast path.
    for (const source of [asOneStreamChunk, asStreamChunks]) {
      expect(sseOf(source([utf8("data: a\r"), utf8("\ndata: b\n\n")]))).toStrictEqual([{ data: "a\nb" }])
      expect(sseOf(source([utf8("data: a\n\r"), utf8("\ndata: b\n\n")]))).toStrictEqual([{ data: "a" }, { data: "b" }])
      expect(sseOf(source([utf8("data: a\r\n\r"), utf8("\n"), utf8("data: b\n\n")]))).toStrictEqual([
        { data: "a" },
        { data: "b" }
      ])
    }
  })

  it("after a BOM, and with characters split across chunks", () => {
    expectEveryCut("\uFEFFdata: \u20ac\n\ndata: \u{1F600}x\n\n", [{ data: "\u20ac" }, { data: "\u{1F600}x" }])
    expectEveryCut("\uFEFF\uFEFFdata: x\n\ndata: y\n\n", [{ data: "y" }])
  })

  it("many data-only frames in one chunk examine each character a bounded number of times", () => {
    const text = "data: some value\n\n".repeat(4096)
    const bytes = utf8(text)
    const chunks: Array<Uint8Array> = []
    for (let at = 0; at < bytes.length; at += 64 * 1024) chunks.push(bytes.subarray(at, at + 64 * 1024))
    const original = String.prototype.indexOf
    let examined = 0
    String.prototype.indexOf = function (this: string, search: string, position?: number): number {
      const found = original.call(this, search, position)
      const from = Math.min(Math.max(Math.trunc(position ?? 0) || 0, 0), this.length)
      examined += (found === -1 ? this.length : found + search.length) - from
      return found
    }
    let events: Array<TestStream.SseEvent>
    try {
      events = sseOf(asStreamChunks(chunks))
    } finally {
      String.prototype.indexOf = original
    }
    expect(events).toHaveLength(4096)
    expect(events.every((event) => event.data === "some value")).toBe(true)
    expect(examined).toBeLessThanOrEqual(3 * text.length)
  })
})

describe("TestStream.sse: Stream chunks in and out", () => {
  const parts = ["data: 1\n\ndata: 2\n\nda", "ta: 3", "\n", "\n: c\n\n", "", "event: e\ndata: 4\n\ndata: 5\n\n"]

  it("a frame spread over several Stream chunks is one event", () => {
    const expected = [{ data: "1" }, { data: "2" }, { data: "3" }, { event: "e", data: "4" }, { data: "5" }]
    expect(sseOf(asStreamChunks(parts.map(utf8)))).toStrictEqual(expected)
    expect(sseOf(asOneStreamChunk(parts.map(utf8)))).toStrictEqual(expected)
    // Several byte chunks in each Stream chunk.
    const bytes = parts.map(utf8)
    const grouped = Stream.fromArrays([bytes[0]!, bytes[1]!], [bytes[2]!, bytes[3]!, bytes[4]!, bytes[5]!])
    expect(sseOf(grouped)).toStrictEqual(expected)
  })

  it("one chunk of events per byte chunk that completes any, none for the others", () => {
    expect(outputChunkSizes(asStreamChunks(parts.map(utf8)))).toStrictEqual([2, 1, 2])
    // The same when every byte chunk arrives in one Stream chunk: no chunk grows with the stream.
    expect(outputChunkSizes(asOneStreamChunk(parts.map(utf8)))).toStrictEqual([2, 1, 2])
    expect(outputChunkSizes(asOneStreamChunk([utf8(": only a comment\n\n"), utf8("data: x")]))).toStrictEqual([])
  })

  it.live("an event leaves as its frame ends, while the source waits for the consumer", () =>
    Effect.gen(function* () {
      // The source sends one frame, then waits for the test to have seen it before sending the
      // next: only an event emitted as its frame ends lets the test go on.
      const first = yield* Deferred.make<TestStream.SseEvent>()
      const second = yield* Deferred.make<TestStream.SseEvent>()
      const sawFirst = yield* Deferred.make<void>()
      const source = Stream.concat(
        // Several byte chunks in one Stream chunk: the first completes the frame, the others do not.
        Stream.fromIterable([utf8("data: 1\n\n"), utf8("data: "), utf8("2")]),
        Stream.fromEffect(Deferred.await(sawFirst).pipe(Effect.as(utf8("\n\n"))))
      ).pipe(Stream.concat(Stream.never))
      const fiber = yield* source.pipe(
        TestStream.sse,
        Stream.runForEach((event) => Deferred.succeed(event.data === "1" ? first : second, event)),
        Effect.forkChild
      )
      expect(yield* Deferred.await(first)).toStrictEqual({ data: "1" })
      expect(yield* Deferred.isDone(second)).toBe(false)
      yield* Deferred.succeed(sawFirst, undefined)
      expect(yield* Deferred.await(second)).toStrictEqual({ data: "2" })
      yield* Fiber.interrupt(fiber)
    })
  )

  it.live("the first event of a source that never ends is received", () =>
    Effect.gen(function* () {
      const received = yield* Deferred.make<TestStream.SseEvent>()
      const fiber = yield* Stream.fromIterable([utf8("event: hello\ndata: 1\n\n"), utf8("data: unterminated")]).pipe(
        Stream.concat(Stream.never),
        TestStream.sse,
        Stream.runForEach((event) => Deferred.succeed(received, event)),
        Effect.forkChild
      )
      expect(yield* Deferred.await(received)).toStrictEqual({ event: "hello", data: "1" })
      yield* Fiber.interrupt(fiber)
    })
  )

  it("a huge frame in one chunk and many small frames after it in the next", () => {
    const data = "z".repeat(1024 * 1024)
    const chunks = [utf8(`data: ${data}\n\n`), utf8("data: a\n\n".repeat(1000))]
    const events = sseOf(asStreamChunks(chunks))
    expect(events).toHaveLength(1001)
    expect(events[0]?.data === data).toBe(true)
    expect(events.slice(1).every((event) => event.data === "a")).toBe(true)
    expect(outputChunkSizes(asOneStreamChunk(chunks))).toStrictEqual([1, 1000])
  })
})

describe("UTF-8 decoding across chunk boundaries", () => {
  // Valid sequences of every length, then invalid ones: truncated, overlong, surrogates, above
  // U+10FFFF, bytes that never occur, stray continuation bytes; each between ASCII and line ends.
  const pieces = [
    [0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0x0a],
    [0xe2, 0x82, 0x0a],
    [0xf0, 0x9f, 0x98, 0x0d, 0x0a],
    [0xc3, 0x0d],
    [0xe0, 0x80, 0xaf, 0xc0, 0xaf, 0xc1, 0xbf, 0x0a],
    [0xed, 0xa0, 0x80, 0xed, 0x9f, 0xbf, 0x0a],
    [0xf4, 0x90, 0x80, 0x80, 0xf4, 0x8f, 0xbf, 0xbf, 0x0a],
    [0xf5, 0x80, 0xfe, 0xff, 0x80, 0xbf, 0x62, 0x0a],
    [0xe2, 0xe2, 0x82, 0xac, 0xf0, 0xc3, 0xa9, 0xc3]
  ].map((bytes) => Uint8Array.from(bytes))

  /** The lines of `buffer` decoded whole by the standard decoder (a BOM dropped), split at CRLF / LF / CR. */
  const reference = (buffer: Uint8Array): Array<string> => {
    const lines = new TextDecoder("utf-8").decode(buffer).split(/\r\n|\r|\n/)
    if (lines[lines.length - 1] === "") lines.pop()
    return lines
  }

  const linesOf = (chunks: ReadonlyArray<Uint8Array>): Array<string> =>
    Effect.runSync(asStreamChunks(chunks).pipe(TestStream.lines, Stream.runCollect))

  it("each kind of sequence, cut anywhere into two or three chunks, decodes as the whole does", () => {
    for (const piece of pieces) {
      for (const bytes of [piece, concatBytes([utf8("\uFEFF"), piece])]) {
        const expected = reference(bytes)
        for (const chunks of everyCut(bytes)) expect(linesOf(chunks)).toStrictEqual(expected)
      }
    }
  })

  it("all of them in one stream, cut anywhere into two chunks or byte by byte", () => {
    const bytes = concatBytes(pieces)
    const expected = reference(bytes)
    expect(linesOf([bytes])).toStrictEqual(expected)
    expect(linesOf(Array.from(bytes, (b) => Uint8Array.of(b)))).toStrictEqual(expected)
    for (let i = 0; i <= bytes.length; i++) expect(linesOf(cutAt(bytes, [i]))).toStrictEqual(expected)
  })

  it("a character left incomplete at the end of the stream is one U+FFFD on the last line", () => {
    expect(linesOf([utf8("a\nb"), Uint8Array.of(0xe2, 0x82)])).toStrictEqual(["a", "b\uFFFD"])
    expect(linesOf([Uint8Array.of(0xf0), Uint8Array.of(0x9f), Uint8Array.of(0x98)])).toStrictEqual(["\uFFFD"])
  })

  it("a source that reuses its buffer after each chunk: a character split across chunks is kept whole", () => {
    // The bytes held back (the start of a character) are copied, not referenced: a Buffer's
    // `slice` would share the memory.
    const euro = utf8("\u20ac")
    for (const buffer of [new Uint8Array(2), Buffer.alloc(2)]) {
      const source = Stream.fromIterable([
        [0x61, euro[0]],
        [euro[1], euro[2]],
        [0x0a, 0x62]
      ]).pipe(
        // One element per Stream chunk: each is written into the buffer only once the parser
        // has read the one before.
        Stream.rechunk(1),
        Stream.map((bytes) => {
          buffer.set(bytes as ReadonlyArray<number>)
          return buffer as Uint8Array
        })
      )
      const lines = Effect.runSync(source.pipe(TestStream.lines, Stream.runCollect))
      expect(lines).toStrictEqual(["a\u20ac", "b"])
    }
  })
})
