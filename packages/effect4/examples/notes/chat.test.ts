import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Schema } from "effect"
import { ChatEvent } from "./Chat.js"
import { ServerLive } from "./Server.js"

const TestApp = TestClient.layerServer(ServerLive)
const Event = Schema.fromJsonString(ChatEvent)

describe("GET /notes/:id/chat (WebSocket)", () => {
  it.effect("two people in one room see each other's messages, in order", () =>
    Effect.gen(function* () {
      const alice = yield* TestClient.websocket("/notes/1/chat?user=alice")
      expect(yield* alice.receiveJson(ChatEvent)).toEqual({ type: "joined", user: "alice" })

      const bob = yield* TestClient.websocket("/notes/1/chat?user=bob")
      expect(yield* bob.receiveJson(ChatEvent)).toEqual({ type: "joined", user: "bob" })
      expect(yield* alice.receiveJson(ChatEvent)).toEqual({ type: "joined", user: "bob" })

      yield* alice.send("hi bob")
      yield* bob.send("hi alice")
      for (const ws of [alice, bob]) {
        expect(yield* Effect.flatMap(ws.receiveText, Schema.decodeUnknownEffect(Event))).toEqual({
          type: "said",
          user: "alice",
          text: "hi bob"
        })
        expect(yield* ws.receiveJson(ChatEvent)).toEqual({ type: "said", user: "bob", text: "hi alice" })
      }

      // Bob leaves: Alice is told.
      yield* bob.close()
      expect(yield* alice.receiveJson(ChatEvent)).toEqual({ type: "left", user: "bob" })
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("rooms are separate", () =>
    Effect.gen(function* () {
      const one = yield* TestClient.websocket("/notes/1/chat?user=ann")
      const two = yield* TestClient.websocket("/notes/2/chat?user=ben")
      expect(yield* one.receiveJson(ChatEvent)).toEqual({ type: "joined", user: "ann" })
      expect(yield* two.receiveJson(ChatEvent)).toEqual({ type: "joined", user: "ben" })
      yield* two.send("anyone?")
      expect(yield* two.receiveJson(ChatEvent)).toEqual({ type: "said", user: "ben", text: "anyone?" })
      // Nothing from room 2 reaches room 1: the next thing ann sees is her own message.
      yield* one.send("hello")
      expect(yield* one.receiveJson(ChatEvent)).toEqual({ type: "said", user: "ann", text: "hello" })
    }).pipe(Effect.provide(TestApp))
  )
})
