/**
 * One SSE subject on one chunking, in a process of its own (see bench/sse.ts):
 *
 *   node --expose-gc ../../node_modules/vite-node/vite-node.mjs --config vitest.config.ts bench/sse-worker.ts <ours|parser> <chunking>
 *
 * Builds the input, says it is ready, then answers each "run" line on stdin with one timed
 * run (a Sample, as JSON) on stdout, until "exit". Every run checks what it parsed.
 */
import * as readline from "node:readline"
import { Chunk, Effect, Option, Stream } from "effect"
import { createParser, type EventSourceMessage } from "eventsource-parser"
import * as TestStream from "../src/Stream.js"
import { measureOnce, type Sample } from "./harness.js"
import {
  type Chunking,
  type ChunkingName,
  check,
  chunkings,
  type Input,
  messagePrefix,
  type Ready,
  type SubjectName
} from "./sse.js"

const say = (message: Ready | { readonly sample: Sample }) => {
  process.stdout.write(`${messagePrefix}${JSON.stringify(message)}\n`)
}

/** The byte chunks as a Stream: all in one Stream chunk, or one per Stream chunk (as a body arrives). */
const source = (chunking: Chunking, chunks: ReadonlyArray<Uint8Array>): Stream.Stream<Uint8Array> =>
  chunking.delivery === "one Stream chunk"
    ? Stream.fromIterable(chunks)
    : Stream.unfoldChunk(0, (i) =>
        i < chunks.length ? Option.some([Chunk.of(chunks[i]), i + 1] as const) : Option.none()
      )

/** TestStream.sse over the chunks, folded over its event chunks: count, data length, ticks. */
const viaOurs = (chunking: Chunking, input: Input) => {
  const stream = source(chunking, input.chunks)
  // Folded over the event chunks: `Stream.runForEachChunk` keeps every chunk reachable until
  // the stream ends in effect 3.22, which would bill the consumer's cost to the parser.
  const parse = Effect.suspend(() =>
    Stream.runFold(Stream.chunks(TestStream.sse(stream)), { events: 0, dataLength: 0, ticks: 0 }, (state, events) => {
      state.events += Chunk.size(events)
      for (const event of events) {
        state.dataLength += event.data?.length ?? 0
        if (event.event === "tick") state.ticks++
      }
      return state
    })
  )
  return async () => check("TestStream.sse", input.expected, await Effect.runPromise(parse))
}

/** eventsource-parser@3 fed the chunks through a streaming TextDecoder, collecting its events. */
const viaParser = (input: Input) => async () => {
  const events: Array<EventSourceMessage> = []
  const parser = createParser({ onEvent: (event) => events.push(event) })
  const decoder = new TextDecoder()
  for (const chunk of input.chunks) parser.feed(decoder.decode(chunk, { stream: true }))
  const tail = decoder.decode()
  if (tail !== "") parser.feed(tail)
  let dataLength = 0
  let ticks = 0
  for (const event of events) {
    dataLength += event.data.length
    if (event.event === "tick") ticks++
  }
  check("eventsource-parser", input.expected, { events: events.length, dataLength, ticks })
}

const main = () => {
  const [subject, name] = process.argv.slice(2) as [SubjectName, ChunkingName]
  const chunking: Chunking | undefined = chunkings[name]
  if (chunking === undefined || (subject !== "ours" && subject !== "parser")) {
    throw new Error(`usage: sse-worker.ts <ours|parser> <${Object.keys(chunkings).join("|")}>, got ${subject} ${name}`)
  }
  const input = chunking.make()
  const once = subject === "ours" ? viaOurs(chunking, input) : viaParser(input)
  const runOnce = async () => {
    for (let i = 0; i < chunking.repeats; i++) await once()
  }
  say({ ready: { chunks: input.chunks.length, totalBytes: input.totalBytes, events: input.expected.events } })
  let queue = Promise.resolve()
  readline.createInterface({ input: process.stdin }).on("line", (line) => {
    queue = queue.then(async () => {
      if (line === "run") say({ sample: await measureOnce(runOnce) })
      else if (line === "exit") process.exit(0)
    })
    queue.catch((error) => {
      console.error(error)
      process.exit(1)
    })
  })
  // The parent went away: nothing more to answer.
  process.stdin.on("end", () => process.exit(0))
}

try {
  main()
} catch (error) {
  console.error(error)
  process.exit(1)
}
