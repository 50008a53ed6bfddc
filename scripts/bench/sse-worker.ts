/**
 * The worker loop of the SSE scenario (./sse.ts), both editions: one subject on one chunking,
 * in a process of its own. An edition's bench/sse-worker.ts passes its `TestStream.sse` run
 * (`ours`) to `serveWorker`; the eventsource-parser subject is the same in both.
 *
 * The worker builds the input, says it is ready, then answers each "run" line on stdin with
 * one timed run (a Sample, as JSON) on stdout, until "exit". Every run checks what it parsed.
 */
import * as readline from "node:readline"
import { createParser, type EventSourceMessage } from "eventsource-parser"
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

/**
 * Serves the subject and chunking named by the process arguments (`<ours|parser> <chunking>`).
 * `ours` makes one parse with the edition's `TestStream.sse`, checking it with `check`.
 */
export const serveWorker = (ours: (chunking: Chunking, input: Input) => () => Promise<void>): void => {
  try {
    const [subject, name] = process.argv.slice(2) as [SubjectName, ChunkingName]
    const chunking: Chunking | undefined = chunkings[name]
    if (chunking === undefined || (subject !== "ours" && subject !== "parser")) {
      throw new Error(
        `usage: sse-worker.ts <ours|parser> <${Object.keys(chunkings).join("|")}>, got ${subject} ${name}`
      )
    }
    const input = chunking.make()
    const once = subject === "ours" ? ours(chunking, input) : viaParser(input)
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
  } catch (error) {
    console.error(error)
    process.exit(1)
  }
}
