/**
 * The tests a user writes for background work with the Effect 4 edition: the kit provides a
 * tracked TaskQueue, and `TestClient.drainTasks` waits for what the request left running.
 */
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Layer } from "effect"
import { HttpClient, HttpClientRequest, HttpRouter } from "effect/http"
import { Mailer, Routes } from "./App.js"

// The kit provides the TaskQueue the routes need; the test keeps the Mailer to read its outbox.
const TestApp = TestClient.layer(Routes).pipe(Layer.provideMerge(Mailer.layer))

describe("welcome email, with TestClient", () => {
  it.effect("signing up answers 202; once the background work is drained, the email was sent", () =>
    Effect.gen(function* () {
      const response = yield* TestClient.post("/signup", { json: { email: "ada@example.com" } })
      expect(response.status).toBe(202)
      yield* TestClient.drainTasks
      expect(yield* Effect.flatMap(Effect.service(Mailer), (mailer) => mailer.outbox)).toEqual([
        { to: "ada@example.com", subject: "Welcome!" }
      ])
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a bad body is refused and queues nothing", () =>
    Effect.gen(function* () {
      const response = yield* TestClient.post("/signup", { json: { name: "ada" } })
      expect(response.status).toBe(400)
      yield* TestClient.drainTasks
      expect(yield* Effect.flatMap(Effect.service(Mailer), (mailer) => mailer.outbox)).toEqual([])
    }).pipe(Effect.provide(TestApp))
  )
})

describe("welcome email, a suite written for NodeHttpServer.layerTest", () => {
  // TestClient.layerTest provides the TaskQueue too.
  const Served = HttpRouter.serve(Routes, { disableListenLog: true, disableLogger: true }).pipe(
    Layer.provideMerge(TestClient.layerTest),
    Layer.provideMerge(Mailer.layer)
  )

  it.effect("the platform HttpClient signs up; drainTasks waits for the email", () =>
    Effect.gen(function* () {
      const response = yield* HttpClient.execute(
        HttpClientRequest.post("/signup").pipe(HttpClientRequest.bodyJsonUnsafe({ email: "grace@example.com" }))
      )
      expect(response.status).toBe(202)
      yield* TestClient.drainTasks
      const mailer = yield* Effect.service(Mailer)
      expect((yield* mailer.outbox).map((email) => email.to)).toEqual(["grace@example.com"])
    }).pipe(Effect.provide(Served))
  )
})
