import { describe, expect, it } from "@effect/vitest"
import { TestClient, TestTracer } from "@effect-http-testkit/effect4"
import { Effect, Layer } from "effect"
import { HttpLive, ServicesLive } from "./Server.js"
import { Notifier } from "./Share.js"

// provideMerge keeps the app's services (here the Notifier's outbox) reachable from the test.
const TestApp = TestClient.layerServer(HttpLive).pipe(Layer.provideMerge(ServicesLive))

describe("POST /notes/:id/share (background notification)", () => {
  it.effect("answers 202 at once; after drainTasks the notification was sent, inside its own span", () =>
    Effect.gen(function* () {
      const created = yield* TestClient.post("/notes", { json: { title: "Groceries", body: "milk", tags: [] } })
      const { id } = (yield* created.json) as { id: number }

      const r = yield* TestClient.post(`/notes/${id}/share`, { json: { to: "bob@example.com" } })
      expect(r.status).toBe(202)

      yield* TestClient.drainTasks
      const notify = yield* TestTracer.findSpan("notify.share", { rootId: r.spanId })
      expect(yield* TestTracer.hasAttribute(notify.spanId, "notify.result", "sent")).toBe(true)
      expect(yield* TestTracer.hasAttribute(notify.spanId, "notify.to", "bob@example.com")).toBe(true)
      const outbox = yield* (yield* Notifier).outbox
      expect(outbox).toEqual([{ to: "bob@example.com", subject: "A note was shared with you: Groceries" }])
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("an unknown note is a 404 and nothing is sent", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.post("/notes/999/share", { json: { to: "bob@example.com" } })
      expect(r.status).toBe(404)
      yield* TestClient.drainTasks
      expect(yield* (yield* Notifier).outbox).toEqual([])
    }).pipe(Effect.provide(TestApp))
  )
})
