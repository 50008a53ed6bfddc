import { WebSocket } from "@effect/platform-node/NodeWS"
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Schema } from "effect"
import { HttpClientResponse } from "effect/http"
import { Note } from "./Api.js"
import { ChatEvent } from "./Chat.js"
import { ServerLive } from "./Server.js"

// The same bootstrap, served on NodeHttpServer at 127.0.0.1: every request below travels over
// a real connection. The whole example suite runs this way too, with
// EFFECT_HTTP_TESTKIT_TRANSPORT=socket and no other change.
const TestApp = TestClient.layerServer(ServerLive, { transport: "socket" })

/** The first chat event a plain `ws` client sees in a room, then it leaves. */
const firstChatEvent = (url: string) =>
  Effect.callback<unknown, Error>((resume) => {
    const ws = new WebSocket(url)
    ws.on("message", (data) => {
      resume(Effect.succeed(JSON.parse(String(data))))
      ws.close(1000)
    })
    ws.on("error", (error) => resume(Effect.fail(error)))
  })

describe("the notes app over a real socket", () => {
  it.effect("a note created through the kit is what plain fetch reads at TestClient.address", () =>
    Effect.gen(function* () {
      const created = yield* TestClient.post("/notes", { json: { title: "Groceries", body: "milk", tags: [] } })
      expect(created.status).toBe(201)
      const { id } = yield* HttpClientResponse.schemaBodyJson(Note)(created)

      // Another tool (a browser, another process) gets the same app at the address.
      const address = yield* TestClient.address
      const fetched = yield* Effect.promise(() => fetch(`${address}/notes/${id}`).then((r) => r.json()))
      expect(yield* Schema.decodeUnknownEffect(Schema.toCodecJson(Note))(fetched)).toMatchObject({
        id,
        title: "Groceries",
        body: "milk"
      })
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a plain ws client joins the chat room the kit's WebSocket is in", () =>
    Effect.gen(function* () {
      const alice = yield* TestClient.websocket("/notes/1/chat?user=alice")
      expect(yield* alice.receiveJson(ChatEvent)).toEqual({ type: "joined", user: "alice" })

      const address = yield* TestClient.address
      const seenByBob = yield* firstChatEvent(`${address.replace(/^http/, "ws")}/notes/1/chat?user=bob`)
      expect(seenByBob).toEqual({ type: "joined", user: "bob" })
      // Alice sees Bob arrive and leave, as with any other client.
      expect(yield* alice.receiveJson(ChatEvent)).toEqual({ type: "joined", user: "bob" })
      expect(yield* alice.receiveJson(ChatEvent)).toEqual({ type: "left", user: "bob" })
    }).pipe(Effect.provide(TestApp))
  )
})
