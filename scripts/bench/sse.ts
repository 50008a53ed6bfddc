/**
 * Scenario 4 (both editions): parsing Server-Sent Events, `TestStream.sse` against
 * eventsource-parser@3, in several chunkings of the input. Each edition's bench/sse.ts calls
 * `run` with the command that starts its worker (its bench/sse-worker.ts, which hands its
 * subjects to `serveWorker` in ./sse-worker.ts).
 *
 * Each subject runs in a child process of its own (./isolated.ts), one per subject and
 * chunking: V8's allocation-site pretenuring, learned from one subject, otherwise changes the
 * cost of the next one in the same process.
 *
 * Each subject is warmed 2 s in its worker and timed with no forced full GC before a run. Two
 * baselines, both eventsource-parser fed the byte chunks through a streaming TextDecoder, the
 * events each byte chunk completes taken and counted as they complete, as the Stream subjects
 * fold each chunk of events:
 *
 * - the target's: eventsource-parser as a stage of the same byte Stream, in `TestStream.sse`'s
 *   shape (each Stream chunk's byte chunks parsed one at a time, the events of each that
 *   completes any emitted, never an empty chunk), folded the same way: the same pipeline as
 *   ours with the parser swapped;
 * - for reference, eventsource-parser fed the chunks from an array, with no Stream at all:
 *   where every chunk is small, it shows Effect's per-chunk Stream cost, which both Stream
 *   subjects pay.
 *
 * All check the events they got: their count, the total length of their data and how many
 * carry `event: tick`.
 *
 * Target: TestStream.sse >= 0.9x eventsource-parser over the same Stream, in every chunking.
 */
import { compare, formatRatios, formatSpread, type Measurement, paired, perRun, type Row } from "./harness.js"
import { closeWorkers, startWorkers, type WorkerCommand } from "./isolated.js"

export const subjects = {
  ours: "TestStream.sse",
  streamParser: "eventsource-parser@3 + TextDecoder(stream) as a stage of the same Stream, in TestStream.sse's shape",
  parser: "eventsource-parser@3 + TextDecoder(stream) over an array of the chunks (no Stream; reference)"
} as const
export type SubjectName = keyof typeof subjects

/** What a correct parser finds in an input. */
export interface Expected {
  readonly events: number
  readonly dataLength: number
  readonly ticks: number
}

export interface Input {
  /** The byte chunks, in order. */
  readonly chunks: ReadonlyArray<Uint8Array>
  readonly totalBytes: number
  readonly expected: Expected
}

/** Many small events, a few multi-line frames with `event`/`id` and a non-ASCII character, a few comments. */
const manyEvents = (
  events: number
): { readonly bytes: Uint8Array; readonly expected: Expected; frames: Array<string> } => {
  const frames: Array<string> = []
  let dataLength = 0
  let ticks = 0
  for (let i = 0; i < events; i++) {
    if (i % 10_000 === 0) {
      const a = `line one é ${i}`
      const b = `line two ${i}`
      frames.push(`: keep-alive ${i}\n\nevent: tick\nid: ${i}\ndata: ${a}\ndata: ${b}\n\n`)
      dataLength += a.length + 1 + b.length
      ticks++
    } else {
      const data = `event ${i}`
      frames.push(`data: ${data}\n\n`)
      dataLength += data.length
    }
  }
  return { bytes: new TextEncoder().encode(frames.join("")), expected: { events, dataLength, ticks }, frames }
}

const cut = (bytes: Uint8Array, size: number): Array<Uint8Array> => {
  const chunks: Array<Uint8Array> = []
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, Math.min(at + size, bytes.length)))
  return chunks
}

export interface Chunking {
  /** The scenario's title. */
  readonly title: string
  /** How the byte chunks reach TestStream.sse: all in one Stream chunk, or one per Stream chunk (as a body arrives). */
  readonly delivery: "one Stream chunk" | "one per Stream chunk"
  /** Parses per timed run (a parse of the small inputs takes milliseconds). */
  readonly repeats: number
  readonly make: () => Input
}

const events64k = (): Input => {
  const { bytes, expected } = manyEvents(1_000_000)
  return { chunks: cut(bytes, 64 * 1024), totalBytes: bytes.length, expected }
}

const longLine = (): Input => {
  const size = 4 * 1024 * 1024
  const bytes = new TextEncoder().encode(`data: ${"x".repeat(size)}\n\ndata: after\n\n`)
  return { chunks: cut(bytes, 1024), totalBytes: bytes.length, expected: { events: 2, dataLength: size + 5, ticks: 0 } }
}

export const chunkings = {
  "events-64k-one": {
    title: "SSE 1 M events, 64 KiB byte chunks, all in one Stream chunk",
    delivery: "one Stream chunk",
    repeats: 1,
    make: events64k
  },
  "events-64k-each": {
    title: "SSE 1 M events, 64 KiB byte chunks, one per Stream chunk",
    delivery: "one per Stream chunk",
    repeats: 1,
    make: events64k
  },
  "events-flushed": {
    title: "SSE 100,000 events, each event its own byte chunk and Stream chunk (a server flushing every event)",
    delivery: "one per Stream chunk",
    repeats: 1,
    make: () => {
      const { frames, bytes, expected } = manyEvents(100_000)
      const encoder = new TextEncoder()
      return { chunks: frames.map((frame) => encoder.encode(frame)), totalBytes: bytes.length, expected }
    }
  },
  "events-1-byte": {
    title: "SSE 10,000 events in 1-byte chunks, one per Stream chunk",
    delivery: "one per Stream chunk",
    repeats: 1,
    make: () => {
      const { bytes, expected } = manyEvents(10_000)
      return { chunks: cut(bytes, 1), totalBytes: bytes.length, expected }
    }
  },
  "long-line-each": {
    title: "SSE one 4 MiB data line in 1 KiB chunks, one per Stream chunk",
    delivery: "one per Stream chunk",
    repeats: 5,
    make: longLine
  },
  "long-line-one": {
    title: "SSE one 4 MiB data line in 1 KiB chunks, all in one Stream chunk",
    delivery: "one Stream chunk",
    repeats: 5,
    make: longLine
  }
} satisfies Record<string, Chunking>
export type ChunkingName = keyof typeof chunkings

/** Throws unless `got` is what the input holds. */
export const check = (who: string, expected: Expected, got: Expected) => {
  if (got.events !== expected.events || got.dataLength !== expected.dataLength || got.ticks !== expected.ticks) {
    throw new Error(
      `${who}: ${got.events} events (${got.ticks} ticks) with ${got.dataLength} chars of data, expected ${expected.events} (${expected.ticks}) with ${expected.dataLength}`
    )
  }
}

/** What a worker says once its input is built. */
export interface Ready {
  readonly chunks: number
  readonly totalBytes: number
  readonly events: number
}

const compareChunking = async (
  worker: WorkerCommand,
  name: ChunkingName,
  runs: number
): Promise<ReadonlyArray<Row>> => {
  const chunking: Chunking = chunkings[name]
  const names = Object.keys(subjects) as Array<SubjectName>
  const workers = await startWorkers<Ready>(
    worker,
    names.map((subject) => [subject, name])
  )
  let measured: ReadonlyArray<Measurement>
  try {
    const info = JSON.stringify(workers[0].info)
    if (workers.some((w) => JSON.stringify(w.info) !== info)) {
      throw new Error(`sse ${name}: the workers built different inputs`)
    }
    measured = await compare(
      names.map((subject, i) => ({ name: subjects[subject], sample: workers[i].run })),
      runs
    )
  } finally {
    await closeWorkers(workers)
  }
  const [ours, streamParser, parser] = measured
  const input = workers[0].info
  const perParse = (m: Measurement) => perRun(m, (s) => s / chunking.repeats)
  const value = (m: Measurement) => {
    const events = perRun(m, (s) => (input.events * chunking.repeats) / s)
    const bytes = perRun(m, (s) => (input.totalBytes * chunking.repeats) / s)
    const head =
      input.events < 1000
        ? formatSpread(perParse(m), (x) => (1000 * x).toFixed(1), " ms per parse")
        : events.median >= 1e6
          ? formatSpread(events, (x) => (x / 1e6).toFixed(2), " M events/s")
          : formatSpread(events, (x) => (x / 1e3).toFixed(1), " k events/s")
    const mibs = bytes.median >= 10 * 1024 * 1024 ? 0 : 2
    return `${head}, ${formatSpread(bytes, (x) => (x / 1024 / 1024).toFixed(mibs), " MiB/s")}`
  }
  const ratio = paired(ours, streamParser, (a, b) => b / a)
  const scenario = `${chunking.title} (${input.chunks.toLocaleString("en-US")} byte chunks${chunking.repeats > 1 ? `, ${chunking.repeats} parses per run` : ""})`
  return [
    { scenario, subject: `${parser.name} [own process]`, value: value(parser) },
    {
      scenario,
      subject: `${streamParser.name}, ${chunking.delivery} [own process]`,
      value: value(streamParser),
      ratio: `${formatRatios(paired(streamParser, parser, (a, b) => b / a))} the array-fed parser`
    },
    {
      scenario,
      subject: `${ours.name}, ${chunking.delivery} [own process]`,
      value: value(ours),
      ratio: `${formatRatios(ratio)} eventsource-parser as a Stream stage; ${formatRatios(paired(ours, parser, (a, b) => b / a))} the array-fed parser`,
      target: ">= 0.9x",
      met: ratio.median >= 0.9
    }
  ]
}

export const run = async (worker: WorkerCommand, runs: number): Promise<ReadonlyArray<Row>> => {
  const rows: Array<Row> = []
  for (const name of Object.keys(chunkings) as Array<ChunkingName>) {
    rows.push(...(await compareChunking(worker, name, runs)))
  }
  return rows
}
