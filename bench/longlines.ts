/**
 * Scenario: long lines arriving in many chunks, where a splitter that rescans (or re-copies)
 * the pending part of a line on every chunk goes quadratic.
 *
 * - One 100 MiB line (then a line end) through `TestStream.lines`, 64 KiB per chunk, one byte
 *   chunk per Stream chunk as a response body arrives; against the floor of the same bytes
 *   through a streaming TextDecoder with the pieces joined once. Target: under 1 s.
 * - One 4 MiB SSE `data` line in 1 KiB chunks through `TestStream.sse`, against
 *   eventsource-parser@3 fed the same chunks through a streaming TextDecoder: a ratio, with
 *   no target (before the fix: 13.7 s against 8 ms). With one byte chunk per Stream chunk,
 *   most of the difference is the Stream's own cost per chunk (4,097 of them), not parsing.
 */
import { Chunk, Effect, Stream } from "effect"
import { createParser } from "eventsource-parser"
import * as TestStream from "../src/Stream.js"
import { formatRatio } from "./app.js"
import { compare, mib, type Row } from "./harness.js"

export const settings = {
  lineBytes: 100 * 1024 * 1024,
  lineChunk: 64 * 1024,
  sseBytes: 4 * 1024 * 1024,
  sseChunk: 1024,
  /** Parses per run of the SSE subjects: one takes milliseconds. */
  sseRepeats: 10
}

const oneChunkEach = (chunks: ReadonlyArray<Uint8Array>): Stream.Stream<Uint8Array> =>
  Stream.fromChunks(...chunks.map((bytes) => Chunk.of(bytes)))

const cut = (bytes: Uint8Array, size: number): Array<Uint8Array> => {
  const chunks: Array<Uint8Array> = []
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, Math.min(at + size, bytes.length)))
  return chunks
}

const longLine = async (runs: number): Promise<ReadonlyArray<Row>> => {
  // The same 64 KiB of "x" over and over (no need to hold 100 MiB of input), then "\nend".
  const block = new Uint8Array(settings.lineChunk).fill(0x78)
  const chunks = [
    ...Array.from({ length: settings.lineBytes / settings.lineChunk }, () => block),
    new TextEncoder().encode("\nend")
  ]
  const check = (who: string, lengths: ReadonlyArray<number>) => {
    if (lengths.length !== 2 || lengths[0] !== settings.lineBytes || lengths[1] !== 3) {
      throw new Error(`${who}: lines of lengths ${lengths.join(", ")}, expected ${settings.lineBytes} and 3`)
    }
  }
  const ours = async () => {
    const lengths = await Effect.runPromise(
      Stream.runFold(TestStream.lines(oneChunkEach(chunks)), [] as Array<number>, (acc, line) => {
        acc.push(line.length)
        return acc
      })
    )
    check("TestStream.lines", lengths)
  }
  const floor = async () => {
    const decoder = new TextDecoder()
    const pieces: Array<string> = []
    for (const bytes of chunks) pieces.push(decoder.decode(bytes, { stream: true }))
    pieces.push(decoder.decode())
    check(
      "floor",
      pieces
        .join("")
        .split("\n")
        .map((line) => line.length)
    )
  }
  const [a, b] = await compare(
    [
      { name: "TestStream.lines, one 64 KiB byte chunk per Stream chunk", run: ours },
      { name: "floor: TextDecoder(stream) + one join + split", run: floor }
    ],
    runs
  )
  const scenario = `one ${mib(settings.lineBytes)} line in ${chunks.length - 1} x 64 KiB chunks`
  const value = (seconds: number) => `${seconds.toFixed(3)} s median (${mib(settings.lineBytes / seconds)}/s)`
  return [
    { scenario, subject: b.name, value: value(b.seconds) },
    {
      scenario,
      subject: a.name,
      value: value(a.seconds),
      ratio: `${formatRatio(b.seconds / a.seconds)}x floor`,
      target: "< 1 s",
      met: a.seconds < 1
    }
  ]
}

const longSseLine = async (runs: number): Promise<ReadonlyArray<Row>> => {
  const text = `data: ${"x".repeat(settings.sseBytes)}\n\ndata: after\n\n`
  const chunks = cut(new TextEncoder().encode(text), settings.sseChunk)
  const check = (who: string, lengths: ReadonlyArray<number>) => {
    if (lengths.length !== 2 || lengths[0] !== settings.sseBytes || lengths[1] !== 5) {
      throw new Error(`${who}: events with data of lengths ${lengths.join(", ")}, expected ${settings.sseBytes} and 5`)
    }
  }
  const ours = (source: () => Stream.Stream<Uint8Array>) => async () => {
    for (let i = 0; i < settings.sseRepeats; i++) {
      const lengths = await Effect.runPromise(
        Stream.runFold(TestStream.sse(source()), [] as Array<number>, (acc, event) => {
          acc.push(event.data?.length ?? -1)
          return acc
        })
      )
      check("TestStream.sse", lengths)
    }
  }
  const theirs = async () => {
    for (let i = 0; i < settings.sseRepeats; i++) {
      const lengths: Array<number> = []
      const parser = createParser({ onEvent: (event) => lengths.push(event.data.length) })
      const decoder = new TextDecoder()
      for (const bytes of chunks) parser.feed(decoder.decode(bytes, { stream: true }))
      const tail = decoder.decode()
      if (tail !== "") parser.feed(tail)
      check("eventsource-parser", lengths)
    }
  }
  const [a, c, b] = await compare(
    [
      // As a response body arrives: the Stream's own per-chunk cost is part of the figure.
      { name: "TestStream.sse, one 1 KiB byte chunk per Stream chunk", run: ours(() => oneChunkEach(chunks)) },
      // One Stream chunk holding every byte chunk: the parser's own cost.
      { name: "TestStream.sse over Stream.fromIterable(chunks)", run: ours(() => Stream.fromIterable(chunks)) },
      { name: "eventsource-parser@3 + TextDecoder(stream)", run: theirs }
    ],
    runs
  )
  const scenario = `SSE: one ${mib(settings.sseBytes)} data line in ${chunks.length} x 1 KiB chunks`
  const value = (seconds: number) =>
    `${((1000 * seconds) / settings.sseRepeats).toFixed(1)} ms per parse (${settings.sseRepeats} per run, median ${seconds.toFixed(3)} s)`
  const row = (m: { readonly name: string; readonly seconds: number }): Row => ({
    scenario,
    subject: m.name,
    value: value(m.seconds),
    ratio: `${formatRatio(b.seconds / m.seconds)}x eventsource-parser`
  })
  return [{ scenario, subject: b.name, value: value(b.seconds) }, row(a), row(c)]
}

export const run = async (runs: number): Promise<ReadonlyArray<Row>> => [
  ...(await longLine(runs)),
  ...(await longSseLine(runs))
]
