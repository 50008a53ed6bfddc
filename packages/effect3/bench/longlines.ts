/**
 * Scenario: long lines arriving in many chunks, where a splitter that rescans (or re-copies)
 * the pending part of a line on every chunk goes quadratic.
 *
 * - One 100 MiB line (then a line end) through `TestStream.lines`, 64 KiB per chunk, one byte
 *   chunk per Stream chunk as a response body arrives; against the floor of the same bytes
 *   through a streaming TextDecoder with the pieces joined once. Target: under 1 s.
 *
 * (The SSE case, one 4 MiB `data` line in 1 KiB chunks, is one of bench/sse.ts's chunkings.)
 */
import { Chunk, Effect, Stream } from "effect"
import {
  compare,
  formatSeconds,
  formatSpread,
  type Measurement,
  mib,
  paired,
  perRun,
  type Row
} from "../../../scripts/bench/harness.js"
import * as TestStream from "../src/Stream.js"
import { formatRatios } from "./app.js"

export const settings = {
  lineBytes: 100 * 1024 * 1024,
  lineChunk: 64 * 1024
}

const oneChunkEach = (chunks: ReadonlyArray<Uint8Array>): Stream.Stream<Uint8Array> =>
  Stream.fromChunks(...chunks.map((bytes) => Chunk.of(bytes)))

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
  const value = (m: Measurement) =>
    `${formatSeconds(m)} (${formatSpread(
      perRun(m, (s) => settings.lineBytes / s),
      (x) => (x / 1024 / 1024).toFixed(0),
      " MiB/s"
    )})`
  return [
    { scenario, subject: b.name, value: value(b) },
    {
      scenario,
      subject: a.name,
      value: value(a),
      ratio: `${formatRatios(paired(a, b, (x, y) => y / x))} floor`,
      target: "< 1 s",
      met: a.seconds < 1
    }
  ]
}

export const run = (runs: number): Promise<ReadonlyArray<Row>> => longLine(runs)
