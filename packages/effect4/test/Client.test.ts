import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Layer, Logger, Schema } from "effect"
import {
  HttpClient,
  HttpClientResponse,
  HttpRouter,
  HttpServer,
  HttpServerRequest,
  HttpServerResponse
} from "effect/http"

const Routes = Layer.mergeAll(
  HttpRouter.add("GET", "/hello/:name", (request) =>
    Effect.map(HttpRouter.params, (params) => HttpServerResponse.text(`hello ${params.name} via ${request.method}`))
  ),
  HttpRouter.add("POST", "/echo", (request) =>
    Effect.map(request.json, (body) =>
      HttpServerResponse.jsonUnsafe({ received: body, type: request.headers["content-type"] })
    )
  ),
  HttpRouter.add("GET", "/headers", (request) => Effect.succeed(HttpServerResponse.jsonUnsafe(request.headers))),
  HttpRouter.add("GET", "/die", Effect.die(new Error("boom"))),
  HttpRouter.add("GET", "/hang", Effect.never)
)

const TestApp = TestClient.layer(Routes)

describe("TestClient on Effect 4", () => {
  it.effect("a GET through routing: status, headers, text", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/hello/ada")
      expect(r.status).toBe(200)
      expect(r.headers["content-type"]).toBe("text/plain")
      expect(yield* r.text).toBe("hello ada via GET")
      expect(r.url).toBe("http://testserver/hello/ada")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a JSON body, decoded with the platform's Schema helpers", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.post("/echo", { json: { a: 1 } })
      const decoded = yield* HttpClientResponse.schemaBodyJson(
        Schema.Struct({ received: Schema.Struct({ a: Schema.Number }), type: Schema.String })
      )(r)
      expect(decoded).toEqual({ received: { a: 1 }, type: "application/json" })
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("the request headers the app sees, as a Node server folds them", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/headers", { headers: { "x-trace": "  abc " } })
      expect(yield* r.json).toMatchObject({
        host: "testserver",
        "user-agent": "effect-http-testkit",
        accept: "*/*",
        "x-trace": "abc"
      })
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a route not found is 404; a defect is a ServerError with the Cause, or the 500 with respond", () =>
    Effect.gen(function* () {
      expect((yield* TestClient.get("/nowhere")).status).toBe(404)
      const error = yield* Effect.flip(TestClient.get("/die"))
      expect(error._tag).toBe("ServerError")
      if (error._tag === "ServerError") {
        expect(error.status).toBe(500)
        expect(String(error.cause)).toContain("boom")
      }
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("behind middleware (a production bootstrap with its request logger), a defect is still a ServerError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/die"))
      expect(error._tag).toBe("ServerError")
      if (error._tag === "ServerError") expect(String(error.cause)).toContain("boom")
      // A route not found is the app's answer, not a server error, behind middleware too.
      expect((yield* TestClient.get("/nowhere")).status).toBe(404)
      expect(yield* Effect.flatMap(TestClient.get("/hello/ada"), (r) => r.text)).toBe("hello ada via GET")
    }).pipe(
      Effect.provide(
        TestClient.layerServer(
          HttpRouter.serve(Routes, { disableListenLog: true }).pipe(
            Layer.provide(Logger.layer([Logger.make(() => undefined)]))
          )
        )
      )
    )
  )

  it.effect("serverErrors: respond returns production's 500", () =>
    Effect.gen(function* () {
      expect((yield* TestClient.get("/die")).status).toBe(500)
    }).pipe(Effect.provide(TestClient.layer(Routes, { serverErrors: "respond" })))
  )

  it.effect("a hanging handler times out on the wall clock", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/hang", { timeout: 50 }))
      expect(error._tag).toBe("RequestTimeout")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("layerServer serves a production bootstrap", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/hello/grace")
      expect(yield* r.text).toBe("hello grace via GET")
    }).pipe(
      Effect.provide(
        TestClient.layerServer(
          HttpRouter.serve(Routes, { disableLogger: true }).pipe(Layer.provide(HttpServer.layerServices))
        )
      )
    )
  )

  it.effect("a bad option fails every request with InvalidRequest naming it", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/hello/x"))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain('unknown option "timout" (did you mean "timeout"?)')
    }).pipe(Effect.provide(TestClient.layer(Routes, { timout: 5 } as TestClient.Options)))
  )
})

void HttpServerRequest

describe("TestClient on Effect 4: what a Node client sends, and what it refuses", () => {
  const Echo = HttpRouter.add("*", "/echo", (request) =>
    Effect.succeed(HttpServerResponse.jsonUnsafe({ url: request.url, headers: request.headers }))
  )

  it.live("a bound beyond what a timer holds, or Infinity, is no bound (a slow app still answers)", () =>
    Effect.gen(function* () {
      for (const timeout of ["30 days", "Infinity"] as const) {
        const r = yield* TestClient.get("/slow", { timeout })
        expect(r.status).toBe(200)
      }
    }).pipe(
      Effect.provide(
        TestClient.layer(
          HttpRouter.add("GET", "/slow", Effect.as(Effect.sleep("30 millis"), HttpServerResponse.text("ok")))
        )
      )
    )
  )

  it.effect("a raw Set-Cookie header goes after the response's cookies, as platform-node writes them", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/both")
      expect(r.setCookie).toEqual(["a=cookie", "a=raw"])
      expect(yield* TestClient.cookieHeader()).toBe("a=raw")
    }).pipe(
      Effect.provide(
        TestClient.layer(
          HttpRouter.add(
            "GET",
            "/both",
            HttpServerResponse.text("x", { headers: { "set-cookie": "a=raw" } }).pipe(
              HttpServerResponse.setCookieUnsafe("a", "cookie")
            )
          )
        )
      )
    )
  )

  it.effect("a header given as undefined removes the default; params are appended to the query as written", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/echo?a=b%20c&flag&t=%7E", {
        headers: { "user-agent": undefined },
        params: { z: "1" }
      })
      const echoed = (yield* r.json) as { url: string; headers: Record<string, string> }
      expect(echoed.url).toBe("/echo?a=b%20c&flag&t=%7E&z=1")
      expect(echoed.headers["user-agent"]).toBeUndefined()
    }).pipe(Effect.provide(TestClient.layer(Echo)))
  )

  it.effect("what cannot be sent fails with InvalidRequest saying why, never a defect", () =>
    Effect.gen(function* () {
      const refused = [
        [TestClient.get("ftp://testserver/echo"), "only http(s) URLs"],
        [TestClient.get("http://u:p@testserver/echo"), "credentials"],
        [TestClient.request("CONNECT", "/echo"), "never routes CONNECT"],
        [TestClient.post("/echo", { form: null as never }), "form must be a record"],
        [TestClient.post("/echo", { form: { n: 1 } as never }), 'form field "n" must have a string value'],
        [TestClient.get(undefined as never), "the URL must be a string"],
        [TestClient.get("/echo", { params: { q: Number.NaN } }), 'params "q" must be a string, a finite number'],
        [TestClient.get("/echo", { params: { q: null as never } }), 'params "q"'],
        [TestClient.get("/echo", { headers: new Map() as never }), "headers must be a record"],
        [TestClient.cookieHeader(42 as never), "url must be a string"],
        [TestClient.cookieHeader("ftp://testserver/"), "unsupported url scheme ftp:"]
      ] as ReadonlyArray<
        readonly [Effect.Effect<unknown, { _tag: string; message: string }, TestClient.TestClient>, string]
      >
      for (const [request, reason] of refused) {
        const error = yield* Effect.flip(request)
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain(reason)
      }
    }).pipe(Effect.provide(TestClient.layer(Echo)))
  )

  it.effect("headers, params and form also take web Headers and URLSearchParams", () =>
    Effect.gen(function* () {
      const echoed = yield* Effect.flatMap(
        TestClient.post("/echo", {
          headers: new globalThis.Headers({ "x-from": "headers" }),
          params: new URLSearchParams([["q", "1"]]),
          form: new URLSearchParams([["user", "ada"]])
        }),
        (r) => r.json
      )
      expect(echoed).toMatchObject({
        headers: { "x-from": "headers", "content-type": "application/x-www-form-urlencoded" },
        url: "/echo?q=1"
      })
    }).pipe(Effect.provide(TestClient.layer(Echo)))
  )

  it.effect("a redirect to another origin leaves the call's cookies and its Host header behind", () =>
    Effect.gen(function* () {
      const App = Layer.mergeAll(
        HttpRouter.add("GET", "/away", Effect.succeed(HttpServerResponse.redirect("http://other.example/seen"))),
        HttpRouter.add("GET", "/seen", (request) =>
          Effect.succeed(
            HttpServerResponse.jsonUnsafe({ cookie: request.headers.cookie ?? null, host: request.headers.host })
          )
        )
      )
      const r = yield* TestClient.get("/away", { cookies: { secret: "1" }, headers: { host: "app.example" } }).pipe(
        Effect.provide(TestClient.layer(App, { baseUrl: "http://app.example" }))
      )
      expect(r.url).toBe("http://other.example/seen")
      expect(yield* r.json).toEqual({ cookie: null, host: "other.example" })
    })
  )

  it.effect("a bad acceptEncoding option fails every request with InvalidRequest", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/echo"))
      expect(error.message).toContain("acceptEncoding must be a header value")
    }).pipe(Effect.provide(TestClient.layer(Echo, { acceptEncoding: "gzip\nx" })))
  )

  it.effect("layerTest's HttpClient sends fetch's default headers", () =>
    Effect.gen(function* () {
      yield* HttpRouter.serve(Echo, { disableListenLog: true, disableLogger: true }).pipe(Layer.build)
      const echoed = (yield* Effect.flatMap(HttpClient.get("/echo"), (r) => r.json)) as {
        headers: Record<string, string>
      }
      expect(echoed.headers).toMatchObject({
        accept: "*/*",
        "accept-language": "*",
        "sec-fetch-mode": "cors",
        "user-agent": "node",
        "accept-encoding": "gzip, deflate"
      })
    }).pipe(Effect.provide(TestClient.layerTest))
  )
})
