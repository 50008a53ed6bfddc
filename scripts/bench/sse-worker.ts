/**
 * The worker of the SSE scenario (./sse.ts), both editions: one subject on one chunking, in a
 * process of its own (./isolated.ts). An edition's bench/sse-worker.ts passes its Stream
 * subjects to `serveWorker`: its `TestStream.sse` run (`ours`) and eventsource-parser as a
 * stage of its Stream (`streamParser`); the array-fed parser subject is the same in both.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser"
import { serveWorker as serve, warmUp } from "./isolated.js"
import {
  type Chunking,
  type ChunkingName,
  check,
  chunkings,
  type Expected,
  type Input,
  type Ready,
  subjects
} from "./sse.js"

/** A collecting eventsource-parser: `feed` one byte chunk, `take` the events it completed. */
export const collectingParser = () => {
  let events: Array<EventSourceMessage> = []
  const parser = createParser({ onEvent: (event) => events.push(event) })
  const decoder = new TextDecoder()
  return {
    feed: (chunk: Uint8Array) => parser.feed(decoder.decode(chunk, { stream: true })),
    /** Feeds what the decoder still holds (the stream ended). */
    end: () => {
      const tail = decoder.decode()
      if (tail !== "") parser.feed(tail)
    },
    take: (): Array<EventSourceMessage> => {
      const taken = events
      events = []
      return taken
    }
  }
}

/** Adds up what the scenario checks over some events. */
export const tally = (
  state: { events: number; dataLength: number; ticks: number },
  events: Iterable<{ readonly data?: string | undefined; readonly event?: string | undefined }>
) => {
  for (const event of events) {
    state.events++
    state.dataLength += event.data?.length ?? 0
    if (event.event === "tick") state.ticks++
  }
  return state
}

/**
 * Feeds `chunks` from `at.index` on, one at a time, until one completes events, and returns
 * those (`at.index` past that chunk); `undefined` once every chunk is fed and none did. Both
 * Stream-stage baselines parse with it in `TestStream.sse`'s shape: byte chunk by byte chunk,
 * emitting the events each completes as they complete, never an empty chunk.
 */
export const eventsOfNextChunks = (
  parser: ReturnType<typeof collectingParser>,
  chunks: ReadonlyArray<Uint8Array>,
  at: { index: number }
): Array<EventSourceMessage> | undefined => {
  while (at.index < chunks.length) {
    parser.feed(chunks[at.index++])
    const events = parser.take()
    if (events.length !== 0) return events
  }
  return undefined
}

/**
 * eventsource-parser@3 fed the chunks from the array through a streaming TextDecoder, the
 * events each chunk completes taken and counted as they complete (as the Stream subjects'
 * folds count each chunk of events), none held to the end.
 */
const viaParser = (input: Input) => async () => {
  const parser = collectingParser()
  const state = { events: 0, dataLength: 0, ticks: 0 }
  for (const chunk of input.chunks) {
    parser.feed(chunk)
    tally(state, parser.take())
  }
  parser.end()
  check(subjects.parser, input.expected, tally(state, parser.take()))
}

/** An edition's Stream subjects: each makes one parse of `input`, checking it with `check`. */
export interface StreamSubjects {
  readonly ours: (chunking: Chunking, input: Input) => () => Promise<Expected>
  readonly streamParser: (chunking: Chunking, input: Input) => () => Promise<Expected>
}

/** Serves the subject and chunking named by the process arguments (`<subject> <chunking>`). */
export const serveWorker = (editions: StreamSubjects): void =>
  serve<Ready>(async ([subject, name]) => {
    const chunking: Chunking | undefined = chunkings[name as ChunkingName]
    if (chunking === undefined || !(subject in subjects)) {
      throw new Error(
        `usage: sse-worker.ts <${Object.keys(subjects).join("|")}> <${Object.keys(chunkings).join("|")}>, got ${subject} ${name}`
      )
    }
    const input = chunking.make()
    const once =
      subject === "parser"
        ? viaParser(input)
        : (() => {
            const parse = editions[subject as keyof StreamSubjects](chunking, input)
            return async () => check(subjects[subject as keyof StreamSubjects], input.expected, await parse())
          })()
    const run = async () => {
      for (let i = 0; i < chunking.repeats; i++) await once()
    }
    // As the steady-state subjects (./isolated.ts `serveMade`): warmed, and timed with no
    // forced full GC before a run (it would bill the subject that allocates most).
    await warmUp(run)
    return {
      info: { chunks: input.chunks.length, totalBytes: input.totalBytes, events: input.expected.events },
      run,
      collect: false
    }
  })
