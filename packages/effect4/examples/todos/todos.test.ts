/**
 * The tests a user writes for the todos app with the Effect 4 edition.
 */
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Layer, Schema } from "effect"
import { HttpClient, HttpClientRequest, HttpClientResponse, HttpRouter } from "effect/http"
import { Routes, Todo } from "./App.js"

const TestApp = TestClient.layer(Routes)

describe("todos, with TestClient", () => {
  it.effect("signing in sets the session cookie and lands on the list (POST-redirect-GET)", () =>
    Effect.gen(function* () {
      const landed = yield* TestClient.post("/login", { form: { user: "ada" } })
      expect(landed.status).toBe(200)
      expect(landed.url).toBe("http://testserver/todos")
      expect(landed.history.map((hop) => hop.status)).toEqual([303])
      expect(yield* TestClient.cookieHeader()).toBe("session=ada-session")
      expect(yield* landed.json).toEqual([])
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a signed-in user adds a todo and reads it back, Schema-decoded", () =>
    Effect.gen(function* () {
      yield* TestClient.post("/login", { form: { user: "ada" } })
      const created = yield* TestClient.post("/todos", { json: { title: "write tests" } })
      expect(created.status).toBe(201)
      const list = yield* TestClient.get("/todos")
      expect(yield* HttpClientResponse.schemaBodyJson(Schema.Array(Todo))(list)).toEqual([
        { id: 1, title: "write tests", done: false }
      ])
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("without the session, the list is refused", () =>
    Effect.gen(function* () {
      const refused = yield* TestClient.get("/todos")
      expect(refused.status).toBe(401)
      expect(yield* refused.text).toBe("sign in first")
    }).pipe(Effect.provide(TestApp))
  )
})

describe("todos, a suite written for NodeHttpServer.layerTest", () => {
  // The only change from the socket version: TestClient.layerTest for NodeHttpServer.layerTest.
  const Served = HttpRouter.serve(Routes, { disableListenLog: true, disableLogger: true }).pipe(
    Layer.provideMerge(TestClient.layerTest)
  )

  it.effect("the platform HttpClient signs in and follows the redirect as fetch does", () =>
    Effect.gen(function* () {
      const response = yield* HttpClient.execute(
        HttpClientRequest.post("/login").pipe(HttpClientRequest.bodyUrlParams({ user: "ada" }))
      )
      // fetch follows the 303 but keeps no cookie jar: the list answers 401 without the session.
      expect(response.status).toBe(401)
      expect(response.request.url).toContain("/login")
    }).pipe(Effect.provide(Served))
  )
})
