/**
 * The test a user writes for the chat room's live feed: open the event stream, post, and read
 * the events as they are pushed.
 */
import { expect, it } from "@effect/vitest"
import { TestClient, TestStream } from "@effect-http-testkit/effect4"
import { Effect, Schema, Stream } from "effect"
import { Message, Routes } from "./App.js"

const TestApp = TestClient.layer(Routes)

it.effect("posted messages reach an open feed as Server-Sent Events, in order", () =>
  Effect.gen(function* () {
    // Returns once the feed has sent its headers (with its opening comment): subscribed.
    const feed = yield* TestClient.stream("GET", "/messages/events")
    expect(feed.status).toBe(200)
    expect(feed.headers["content-type"]).toBe("text/event-stream")

    yield* TestClient.post("/messages", { json: { author: "ada", text: "hello" } })
    yield* TestClient.post("/messages", { json: { author: "grace", text: "hi ada" } })

    const events = yield* feed.stream.pipe(TestStream.sse, Stream.take(2), Stream.runCollect)
    expect(events.map((event) => [event.event, event.id])).toEqual([
      ["message", "1"],
      ["message", "2"]
    ])
    const decode = Schema.decodeUnknownEffect(Schema.fromJsonString(Message))
    const messages = yield* Effect.forEach(events, (event) => decode(event.data))
    expect(messages).toEqual([
      { id: 1, author: "ada", text: "hello" },
      { id: 2, author: "grace", text: "hi ada" }
    ])
    // Leaving the test's scope ends the endless feed as a client abort.
  }).pipe(Effect.provide(TestApp))
)
