/**
 * The worker of the SSE scenario (./sse.ts), both editions: one subject on one chunking, in a
 * process of its own (./isolated.ts). An edition's bench/sse-worker.ts passes its Stream
 * subjects to `serveWorker`: its `TestStream.sse` run (`ours`) and eventsource-parser as a
 * stage of its Stream (`streamParser`); the array-fed parser subject is the same in both.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser"
import { serveWorker as serve } from "./isolated.js"
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

/** eventsource-parser@3 fed the chunks from the array through a streaming TextDecoder, collecting its events. */
const viaParser = (input: Input) => async () => {
  const parser = collectingParser()
  for (const chunk of input.chunks) parser.feed(chunk)
  parser.end()
  check(subjects.parser, input.expected, tally({ events: 0, dataLength: 0, ticks: 0 }, parser.take()))
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
    return {
      info: { chunks: input.chunks.length, totalBytes: input.totalBytes, events: input.expected.events },
      run: async () => {
        for (let i = 0; i < chunking.repeats; i++) await once()
      }
    }
  })
