/**
 * The exchange log (`TestClient.exchanges`) and the failure report: what a test can look at
 * after the fact, and what a failing test prints.
 */
import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Exit, Layer, Stream } from "effect"
import { HttpClient, HttpRouter, HttpServerResponse } from "effect/http"

const App = Layer.mergeAll(
  HttpRouter.add("POST", "/redirect", HttpServerResponse.redirect("/target", { status: 303 })),
  HttpRouter.add("GET", "/target", (request) =>
    Effect.succeed(HttpServerResponse.text("arrived", { headers: { "x-seen-url": request.url } }))
  ),
  HttpRouter.add(
    "GET",
    "/users/1",
    Effect.withSpan(Effect.succeed(HttpServerResponse.jsonUnsafe({ id: 1, name: "Ada" })), "load-user")
  ),
  HttpRouter.add("GET", "/die", Effect.die(new Error("kaboom"))),
  HttpRouter.add("GET", "/feed", HttpServerResponse.stream(Stream.make("data: 1\n\n").pipe(Stream.encodeText)))
)

describe("TestClient.exchanges", () => {
  it.effect("records every hop, with the request as sent", () =>
    Effect.gen(function* () {
      yield* TestClient.post("/redirect", { body: "x" })
      const exchanges = yield* TestClient.exchanges
      expect(exchanges.map((e) => [e.request.method, e.request.url, e.response.status])).toEqual([
        ["POST", "http://testserver/redirect", 303],
        ["GET", "http://testserver/target", 200]
      ])
      expect(exchanges[0]!.request.headers["content-length"]).toBe("1")
      expect(exchanges[1]!.request.headers.host).toBe("testserver")
    }).pipe(Effect.provide(TestClient.layer(App)))
  )

  it.effect("is a bounded ring: the newest exchangeLimit, oldest first; 0 keeps none", () =>
    Effect.gen(function* () {
      yield* Effect.gen(function* () {
        for (let i = 0; i < 5; i++) yield* TestClient.get(`/target?i=${i}`)
        const exchanges = yield* TestClient.exchanges
        expect(exchanges.map((e) => e.response.headers["x-seen-url"])).toEqual(["/target?i=3", "/target?i=4"])
      }).pipe(Effect.provide(TestClient.layer(App, { exchangeLimit: 2 })))
      yield* Effect.gen(function* () {
        yield* TestClient.get("/target")
        expect(yield* TestClient.exchanges).toEqual([])
      }).pipe(Effect.provide(TestClient.layer(App, { exchangeLimit: 0 })))
    })
  )

  it.effect("streams and the platform HttpClient's requests are exchanges too", () =>
    Effect.gen(function* () {
      const streamed = yield* TestClient.stream("GET", "/feed")
      yield* streamed.text
      yield* HttpClient.get("/users/1")
      const exchanges = yield* TestClient.exchanges
      expect(exchanges.map((e) => `${e.request.method} ${e.request.url} ${e.response.status}`)).toEqual([
        "GET http://testserver/feed 200",
        "GET http://testserver/users/1 200"
      ])
      expect(exchanges[0]!.response).toBe(streamed)
      // A stream's exchange shows the request as sent, like a buffered one's.
      expect(exchanges[0]!.request.headers.host).toBe("testserver")
      expect(exchanges[0]!.request.headers["user-agent"]).toBe("effect-http-testkit")
    }).pipe(Effect.provide(TestClient.layer(App)))
  )

  it.effect("a bad exchangeLimit or report fails every request with InvalidRequest saying why", () =>
    Effect.gen(function* () {
      for (const options of [{ exchangeLimit: -1 }, { exchangeLimit: 1.5 }, { report: "always" as never }]) {
        const error = yield* Effect.flip(TestClient.get("/target").pipe(Effect.provide(TestClient.layer(App, options))))
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toMatch(/exchangeLimit must be a whole number >= 0|report must be "onFailure" or "never"/)
      }
    })
  )
})

describe("failure report", () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  const capture = () => {
    const printed: Array<string> = []
    vi.spyOn(console, "error").mockImplementation((text: unknown) => {
      printed.push(String(text))
    })
    return printed
  }

  // What a failing test prints is shown by test/Runner.test.ts, whose child vitest has tests
  // that fail; here the test passes.
  it.effect("a layer given to one request whose failure the test expects prints nothing", () =>
    Effect.gen(function* () {
      const printed = capture()
      const error = yield* Effect.flip(TestClient.get("/die").pipe(Effect.provide(TestClient.layer(App))))
      expect(error._tag).toBe("ServerError")
      const exit = yield* Effect.exit(
        Effect.andThen(TestClient.get("/users/1"), Effect.fail("a failure the test expects")).pipe(
          Effect.provide(TestClient.layer(App))
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(printed).toEqual([])
    })
  )

  it.effect('a passing test, or report: "never", prints nothing', () =>
    Effect.gen(function* () {
      const printed = capture()
      yield* TestClient.get("/users/1").pipe(Effect.provide(TestClient.layer(App)))
      yield* Effect.exit(
        Effect.andThen(TestClient.get("/users/1"), Effect.fail("boom")).pipe(
          Effect.provide(TestClient.layer(App, { report: "never" }))
        )
      )
      expect(printed).toEqual([])
    })
  )
})

describe("after the client's scope has closed", () => {
  it.effect("a request says the scope has closed, not that the app was never served", () =>
    Effect.gen(function* () {
      const client = yield* Effect.service(TestClient.TestClient).pipe(Effect.provide(TestClient.layer(App)))
      const error = yield* Effect.flip(client.request("GET", "/target"))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("the client's scope has closed")
    })
  )
})

describe("the platform HttpClient's exchanges", () => {
  it.effect("a redirect it follows is an exchange per hop, each with the request that hop sent", () =>
    Effect.gen(function* () {
      yield* HttpRouter.serve(
        Layer.mergeAll(
          HttpRouter.add("POST", "/login", HttpServerResponse.redirect("/home", { status: 303 })),
          HttpRouter.add("GET", "/home", Effect.succeed(HttpServerResponse.text("home")))
        ),
        { disableListenLog: true, disableLogger: true }
      ).pipe(Layer.build)
      const response = yield* HttpClient.post("/login")
      expect(yield* response.text).toBe("home")
      // The response is the caller's request's, as fetch's is.
      expect(response.request.method).toBe("POST")
      const exchanges = yield* TestClient.exchanges
      expect(exchanges.map((e) => `${e.request.method} ${e.request.url} ${e.response.status}`)).toEqual([
        "POST http://testserver/login 303",
        "GET http://testserver/home 200"
      ])
    }).pipe(Effect.provide(TestClient.layerTest))
  )
})
