/**
 * The tests a user writes for the chat with the Effect 4 edition: the kit's own WebSocket
 * end (`TestClient.websocket`), and a client written with `Socket.makeWebSocket` running in
 * process through `TestClient.layerWebSocketConstructor`.
 */
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Schema } from "effect"
import * as Socket from "effect/socket/Socket"
import { ChatEvent, Routes } from "./App.js"

const TestApp = TestClient.layer(Routes)

const signIn = (user: string) => TestClient.post("/login", { form: { user } })

describe("GET /rooms/:room/chat", () => {
  it.effect("two people in a room see who joins, what is said, and who leaves, in order", () =>
    Effect.gen(function* () {
      yield* signIn("alice")
      const alice = yield* TestClient.websocket("/rooms/lobby/chat")
      expect(yield* alice.receiveJson(ChatEvent)).toEqual({ type: "joined", user: "alice" })

      // The jar holds one user per client: Bob connects with his own cookie.
      const bob = yield* TestClient.websocket("/rooms/lobby/chat", { cookies: { user: "bob" } })
      expect(yield* bob.receiveJson(ChatEvent)).toEqual({ type: "joined", user: "bob" })
      expect(yield* alice.receiveJson(ChatEvent)).toEqual({ type: "joined", user: "bob" })

      yield* alice.send("hi bob")
      yield* bob.send("hi alice")
      for (const ws of [alice, bob]) {
        expect(yield* ws.receiveJson(ChatEvent)).toEqual({ type: "said", user: "alice", text: "hi bob" })
        expect(yield* ws.receiveJson(ChatEvent)).toEqual({ type: "said", user: "bob", text: "hi alice" })
      }

      yield* bob.close()
      expect(yield* alice.receiveJson(ChatEvent)).toEqual({ type: "left", user: "bob" })
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("rooms are separate", () =>
    Effect.gen(function* () {
      yield* signIn("ann")
      const one = yield* TestClient.websocket("/rooms/one/chat")
      const two = yield* TestClient.websocket("/rooms/two/chat")
      expect(yield* one.receiveJson(ChatEvent)).toEqual({ type: "joined", user: "ann" })
      expect(yield* two.receiveJson(ChatEvent)).toEqual({ type: "joined", user: "ann" })
      yield* two.send("anyone?")
      expect(yield* two.receiveJson(ChatEvent)).toEqual({ type: "said", user: "ann", text: "anyone?" })
      // Nothing from room two reaches room one: the next thing there is its own message.
      yield* one.send("hello")
      expect(yield* one.receiveJson(ChatEvent)).toEqual({ type: "said", user: "ann", text: "hello" })
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("without signing in, the upgrade is refused with the app's 401", () =>
    Effect.gen(function* () {
      const refused = yield* Effect.flip(TestClient.websocket("/rooms/lobby/chat"))
      expect(refused._tag).toBe("WebSocketRejected")
      expect(refused._tag === "WebSocketRejected" && [refused.status, refused.text]).toEqual([401, "sign in first"])
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a bot written with Socket.makeWebSocket joins and speaks, in process", () =>
    Effect.gen(function* () {
      yield* signIn("carol")
      const carol = yield* TestClient.websocket("/rooms/lobby/chat")
      expect(yield* carol.receiveJson(ChatEvent)).toEqual({ type: "joined", user: "carol" })

      // The bot's code is what runs in production against NodeSocket.layerWebSocketConstructor.
      const bot = Effect.gen(function* () {
        const socket = yield* Socket.makeWebSocket("ws://chat.example/rooms/lobby/chat", {
          headers: { cookie: "user=bot" }
        })
        const { write } = yield* socket.writer
        yield* socket.reader
        yield* write("beep")
      })
      yield* Effect.scoped(bot).pipe(Effect.provide(TestClient.layerWebSocketConstructor))

      const Event = Schema.fromJsonString(ChatEvent)
      const seen = [
        yield* Effect.flatMap(carol.receiveText, Schema.decodeUnknownEffect(Event)),
        yield* carol.receiveJson(ChatEvent),
        yield* carol.receiveJson(ChatEvent)
      ]
      expect(seen).toEqual([
        { type: "joined", user: "bot" },
        { type: "said", user: "bot", text: "beep" },
        { type: "left", user: "bot" }
      ])
    }).pipe(Effect.provide(TestApp))
  )
})
