/**
 * Scenario 4 (both editions): parsing Server-Sent Events, `TestStream.sse` against
 * eventsource-parser@3, in several chunkings of the input. Each edition's bench/sse.ts calls
 * `run` with the command that starts its worker (its bench/sse-worker.ts, which hands its
 * `TestStream.sse` to `serveWorker` in ./sse-worker.ts).
 *
 * Each subject runs in a child process of its own (the edition's worker), one per subject and
 * chunking: V8's allocation-site pretenuring, learned from one subject, otherwise changes the
 * cost of the next one in the same process. The workers stay up for the whole comparison;
 * this process asks each for one timed run at a time, rotating the order every round, and
 * gets the timing back over stdout as JSON.
 *
 * The baseline is eventsource-parser fed the same byte chunks through a streaming
 * TextDecoder and COLLECTING its events into an array, since a Stream of events has to hold
 * its events too. Both check the events they got: their count, the total length of their
 * data and how many carry `event: tick`.
 *
 * Target: TestStream.sse >= 0.9x eventsource-parser in every chunking.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createRequire } from "node:module"
import * as path from "node:path"
import * as readline from "node:readline"
import {
  compare,
  formatRatios,
  formatSpread,
  type Measurement,
  paired,
  perRun,
  type Row,
  type Sample
} from "./harness.js"

export const subjects = {
  ours: "TestStream.sse",
  parser: "eventsource-parser@3 + TextDecoder(stream), events collected into an array"
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
    title: "SSE 1 M events, 64 KiB byte chunks, all in one Stream chunk (Stream.fromIterable)",
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
    title: "SSE one 4 MiB data line in 1 KiB chunks, all in one Stream chunk (Stream.fromIterable)",
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

/** The line prefix a worker's messages carry on its stdout. */
export const messagePrefix = "@@sse-worker "

/**
 * How to start an edition's worker for one subject and chunking: a command run with
 * `--expose-gc`, its vite-node and config, and the worker file, then `<subject> <chunking>`.
 */
export interface WorkerCommand {
  /** The executable (this process's Node, so the worker runs on the same Node). */
  readonly command: string
  /** The arguments before `<subject> <chunking>`. */
  readonly args: ReadonlyArray<string>
  readonly cwd: string
}

/** vite-node wherever npm installed it (the workspace hoists it to the repository root). */
export const viteNode = path.join(
  path.dirname(createRequire(import.meta.url).resolve("vite-node/package.json")),
  "vite-node.mjs"
)

/** What a worker says once its input is built. */
export interface Ready {
  readonly ready: { readonly chunks: number; readonly totalBytes: number; readonly events: number }
}

/** A worker process running one subject on one chunking, answering "run" with a Sample. */
interface Worker {
  readonly info: Ready["ready"]
  readonly run: () => Promise<Sample>
  readonly close: () => Promise<void>
}

const startWorker = (worker: WorkerCommand, subject: SubjectName, chunking: ChunkingName): Promise<Worker> =>
  new Promise((resolveStart, rejectStart) => {
    const child: ChildProcess = spawn(worker.command, [...worker.args, subject, chunking], {
      cwd: worker.cwd,
      stdio: ["pipe", "pipe", "inherit"]
    })
    let pending: { resolve: (sample: Sample) => void; reject: (error: Error) => void } | undefined
    let started = false
    let exited = false
    const exitedPromise = new Promise<void>((resolveExit) => {
      child.on("exit", (code, signal) => {
        exited = true
        const error = new Error(`sse worker ${subject} ${chunking} exited (code ${code}, signal ${signal})`)
        if (!started) rejectStart(error)
        pending?.reject(error)
        pending = undefined
        resolveExit()
      })
    })
    child.on("error", (error) => {
      if (!started) rejectStart(error)
      pending?.reject(error)
      pending = undefined
    })
    // A worker gone before a write: its exit handler reports it.
    child.stdin?.on("error", () => {})
    const send = (line: string) => child.stdin?.write(`${line}\n`)
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!line.startsWith(messagePrefix)) {
        process.stderr.write(`[sse worker ${subject} ${chunking}] ${line}\n`)
        return
      }
      const message = JSON.parse(line.slice(messagePrefix.length)) as Ready | { sample: Sample }
      if ("ready" in message) {
        started = true
        resolveStart({
          info: message.ready,
          run: () =>
            new Promise<Sample>((resolve, reject) => {
              if (exited) return reject(new Error(`sse worker ${subject} ${chunking} is gone`))
              pending = { resolve, reject }
              send("run")
            }),
          close: async () => {
            if (!exited) {
              send("exit")
              const timer = setTimeout(() => child.kill(), 5_000)
              await exitedPromise
              clearTimeout(timer)
            }
          }
        })
      } else {
        const done = pending
        pending = undefined
        done?.resolve(message.sample)
      }
    })
  })

const compareChunking = async (
  worker: WorkerCommand,
  name: ChunkingName,
  runs: number
): Promise<ReadonlyArray<Row>> => {
  const chunking: Chunking = chunkings[name]
  const started = await Promise.allSettled([startWorker(worker, "ours", name), startWorker(worker, "parser", name)])
  const workers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []))
  let measured: ReadonlyArray<Measurement>
  try {
    for (const s of started) if (s.status === "rejected") throw s.reason
    const [ours, parser] = workers
    if (JSON.stringify(ours.info) !== JSON.stringify(parser.info)) {
      throw new Error(`sse ${name}: the workers built different inputs`)
    }
    measured = await compare(
      [
        { name: subjects.ours, sample: ours.run },
        { name: subjects.parser, sample: parser.run }
      ],
      runs
    )
  } finally {
    await Promise.all(workers.map((w) => w.close()))
  }
  const [ours, parser] = measured
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
  const ratio = paired(ours, parser, (a, b) => b / a)
  const scenario = `${chunking.title} (${input.chunks.toLocaleString("en-US")} byte chunks${chunking.repeats > 1 ? `, ${chunking.repeats} parses per run` : ""})`
  return [
    { scenario, subject: `${parser.name} [own process]`, value: value(parser) },
    {
      scenario,
      subject: `${ours.name}, ${chunking.delivery} [own process]`,
      value: value(ours),
      ratio: `${formatRatios(ratio)} eventsource-parser`,
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
