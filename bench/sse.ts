/**
 * Scenario 4: parsing 1,000,000 Server-Sent Events from prebuilt 64 KiB byte chunks (frames
 * split across chunk boundaries, a few multi-line frames with `event`/`id` and a non-ASCII
 * character, a few comments): `TestStream.sse` over a Stream of the chunks, against
 * eventsource-parser@3 fed the same chunks through a streaming TextDecoder. Both count the
 * events and sum the length of their data; the two must agree.
 */
import { Chunk, Effect, Stream } from "effect"
import { createParser } from "eventsource-parser"
import * as TestStream from "../src/Stream.js"
import { formatRatio, runNote } from "./app.js"
import { compare, mib, type Row } from "./harness.js"

export const settings = { events: 1_000_000, chunkSize: 64 * 1024 }

/** The whole event stream as 64 KiB chunks, and what a correct parser finds in it. */
export const makeChunks = (events: number, chunkSize: number) => {
  const parts: Array<string> = []
  let dataLength = 0
  for (let i = 0; i < events; i++) {
    if (i % 10_000 === 0) {
      const a = `line one é ${i}`
      const b = `line two ${i}`
      parts.push(`: keep-alive ${i}\n\nevent: tick\nid: ${i}\ndata: ${a}\ndata: ${b}\n\n`)
      dataLength += a.length + 1 + b.length
    } else {
      const data = `event ${i}`
      parts.push(`data: ${data}\n\n`)
      dataLength += data.length
    }
  }
  const bytes = new TextEncoder().encode(parts.join(""))
  const chunks: Array<Uint8Array> = []
  for (let offset = 0; offset < bytes.length; offset += chunkSize) {
    chunks.push(bytes.subarray(offset, Math.min(offset + chunkSize, bytes.length)))
  }
  return { chunks, totalBytes: bytes.length, dataLength }
}

export const run = async (runs: number): Promise<ReadonlyArray<Row>> => {
  const { chunks, totalBytes, dataLength } = makeChunks(settings.events, settings.chunkSize)
  const check = (who: string, count: number, length: number) => {
    if (count !== settings.events || length !== dataLength) {
      throw new Error(
        `${who}: ${count} events with ${length} chars of data, expected ${settings.events} with ${dataLength}`
      )
    }
  }

  // Folded over the event chunks: `Stream.runForEachChunk` keeps every chunk reachable until
  // the stream ends in effect 3.22 (3x the GC in a probe), which would bill the consumer's
  // cost to the parser.
  const count = (input: Stream.Stream<Uint8Array>, who: string) => async () => {
    const { count, length } = await Effect.runPromise(
      Stream.runFold(Stream.chunks(TestStream.sse(input)), { count: 0, length: 0 }, (state, events) => {
        state.count += Chunk.size(events)
        for (const event of events) state.length += event.data?.length ?? 0
        return state
      })
    )
    check(who, count, length)
  }
  // Over a prebuilt array: one Stream chunk holding every byte chunk.
  const fromIterable = Stream.fromIterable(chunks)
  // As a response body arrives (TestClient.stream hands over one or a few byte chunks at a time).
  const onePerChunk = Stream.fromChunks(...chunks.map((bytes) => Chunk.of(bytes)))

  const viaEventsourceParser = async () => {
    let count = 0
    let length = 0
    const parser = createParser({
      onEvent: (event) => {
        count++
        length += event.data.length
      }
    })
    const decoder = new TextDecoder()
    for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }))
    const tail = decoder.decode()
    if (tail !== "") parser.feed(tail)
    check("eventsource-parser", count, length)
  }

  const [a, c, b] = await compare(
    [
      { name: "TestStream.sse over Stream.fromIterable(chunks)", run: count(fromIterable, "TestStream.sse") },
      {
        name: "TestStream.sse, one byte chunk per Stream chunk",
        run: count(onePerChunk, "TestStream.sse (one per chunk)")
      },
      { name: "eventsource-parser@3 + TextDecoder(stream)", run: viaEventsourceParser }
    ],
    runs
  )
  const rate = (seconds: number) => settings.events / seconds
  const value = (seconds: number) =>
    `${(rate(seconds) / 1e6).toFixed(2)} M events/s, ${mib(totalBytes / seconds)}/s (${runNote(settings.events, seconds)})`
  const scenario = `SSE parse ${(settings.events / 1e6).toFixed(0)} M events (${chunks.length} x 64 KiB)`
  const ours = (m: { name: string; seconds: number }): Row => {
    const ratio = rate(m.seconds) / rate(b.seconds)
    return {
      scenario,
      subject: m.name,
      value: value(m.seconds),
      ratio: `${formatRatio(ratio)}x eventsource-parser`,
      target: ">= 1x",
      met: ratio >= 1
    }
  }
  return [{ scenario, subject: b.name, value: value(b.seconds) }, ours(a), ours(c)]
}
