import { Readable } from "node:stream"
import { fileURLToPath } from "node:url"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import {
  Cause,
  Context,
  Deferred,
  Effect,
  Exit,
  Fiber,
  FileSystem,
  Layer,
  Logger,
  Option,
  Path,
  Ref,
  Schema,
  Stream,
  Terminal
} from "effect"
import {
  Cookies,
  HttpClient,
  HttpClientResponse,
  HttpPlatform,
  HttpRouter,
  HttpServer,
  HttpServerRequest,
  HttpServerResponse
} from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"

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

// ---------------------------------------------------------------------------------------------
// The rest of the Effect 3 edition's Client.test.ts: requests, responses, layers, lifecycle
// ---------------------------------------------------------------------------------------------

const encoder = new TextEncoder()

const Kinds = Layer.mergeAll(
  HttpRouter.add("GET", "/seen", (request) =>
    Effect.succeed(
      HttpServerResponse.jsonUnsafe({
        // The cookie header is read on its own: Effect 4 redacts it when the headers are serialised.
        headers: { ...request.headers, cookie: request.headers.cookie },
        remoteAddress: Option.getOrNull(request.remoteAddress)
      })
    )
  ),
  HttpRouter.add("GET", "/text", HttpServerResponse.text("hello", { headers: { "x-kind": "text" } })),
  HttpRouter.add("GET", "/json", HttpServerResponse.jsonUnsafe({ id: 1, name: "Ada" })),
  HttpRouter.add("GET", "/empty", HttpServerResponse.empty({ status: 200 })),
  HttpRouter.add("GET", "/no-content", HttpServerResponse.empty({ status: 204 })),
  HttpRouter.add(
    "GET",
    "/stream",
    HttpServerResponse.stream(Stream.make("a", "b", "c").pipe(Stream.encodeText), { contentType: "text/plain" })
  ),
  HttpRouter.add(
    "GET",
    "/stream-fails",
    HttpServerResponse.stream(Stream.concat(Stream.make(encoder.encode("partial")), Stream.fail("broken")))
  ),
  HttpRouter.add(
    "GET",
    "/readable",
    Effect.sync(() => HttpServerResponse.raw(Readable.from([Buffer.from("from "), Buffer.from("node")])))
  ),
  HttpRouter.add("GET", "/raw-string", HttpServerResponse.raw("raw text")),
  HttpRouter.add(
    "GET",
    "/form-data",
    Effect.sync(() => {
      const form = new FormData()
      form.append("field", "value")
      return HttpServerResponse.formData(form)
    })
  ),
  HttpRouter.add(
    "GET",
    "/cookies",
    HttpServerResponse.empty().pipe(
      HttpServerResponse.setCookieUnsafe("session", "abc", { httpOnly: true, path: "/" }),
      HttpServerResponse.setCookieUnsafe("theme", "dark")
    )
  ),
  HttpRouter.add("GET", "/file", HttpServerResponse.file(fileURLToPath(import.meta.url))),
  HttpRouter.add("GET", "/bad-json", HttpServerResponse.text("{nope", { contentType: "application/json" }))
)

const Seen = Schema.Struct({
  headers: Schema.Record(Schema.String, Schema.String),
  remoteAddress: Schema.NullOr(Schema.String)
})
const seen = (r: TestClient.TestResponse) => Effect.flatMap(r.json, Schema.decodeUnknownEffect(Seen))

describe("requests", () => {
  it.effect("default headers: host from baseUrl, user-agent, accept, accept-encoding; the peer is 127.0.0.1", () =>
    Effect.gen(function* () {
      const { headers, remoteAddress } = yield* seen(yield* TestClient.get("/seen"))
      expect(headers).toEqual({
        host: "testserver",
        "user-agent": "effect-http-testkit",
        accept: "*/*",
        "accept-encoding": "gzip, deflate, br, zstd"
      })
      expect(remoteAddress).toBe("127.0.0.1")
    }).pipe(Effect.provide(TestClient.layer(Kinds)))
  )

  it.effect("client headers, cookies and remoteAddress apply to every request; call headers win", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/seen", { headers: { "X-Team": "blue" }, cookies: { b: "call" } })
      const { headers, remoteAddress } = yield* seen(r)
      expect(headers["x-team"]).toBe("blue")
      expect(headers["x-tenant"]).toBe("acme")
      expect(headers.cookie).toBe("a=1; b=call")
      expect(headers.host).toBe("example.com:8080")
      expect(remoteAddress).toBe("10.1.2.3")
    }).pipe(
      Effect.provide(
        TestClient.layer(Kinds, {
          baseUrl: "https://example.com:8080",
          headers: { "x-team": "red", "x-tenant": "acme" },
          cookies: { a: "1", b: "client" },
          remoteAddress: "10.1.2.3"
        })
      )
    )
  )

  it.effect("cookie values the header cannot carry reach the app exactly as given", () =>
    Effect.gen(function* () {
      const Cookies = HttpRouter.add("GET", "/", (request) =>
        Effect.succeed(HttpServerResponse.jsonUnsafe(request.cookies))
      )
      const r = yield* TestClient.get("/", { cookies: { note: "a b;c", plain: "x" } }).pipe(
        Effect.provide(TestClient.layer(Cookies))
      )
      expect(yield* r.json).toEqual({ note: "a b;c", plain: "x" })
    })
  )

  it.effect("every method accessor sends its method; the service's request sends any method", () =>
    Effect.gen(function* () {
      const Method = HttpRouter.add("*", "/m", (request) => Effect.succeed(HttpServerResponse.text(request.method)))
      yield* Effect.gen(function* () {
        const client = yield* TestClient.TestClient
        const accessors = [
          ["GET", TestClient.get],
          ["POST", TestClient.post],
          ["PUT", TestClient.put],
          ["PATCH", TestClient.patch],
          ["DELETE", TestClient.del]
        ] as const
        for (const [method, send] of accessors) {
          expect(yield* (yield* send("/m")).text).toBe(method)
        }
        expect(yield* (yield* client.request("PUT", "/m")).text).toBe("PUT")
        expect(yield* (yield* TestClient.request("OPTIONS", "/m")).text).toBe("OPTIONS")
        expect(yield* (yield* TestClient.request("purge", "/m")).text).toBe("PURGE")
        const head = yield* TestClient.head("/m")
        expect(head.status).toBe(200)
        expect(head.body.length).toBe(0)
      }).pipe(Effect.provide(TestClient.layer(Method)))
    })
  )
})

describe("responses", () => {
  it.effect("TestResponse is an HttpClientResponse: schemaBodyJson, matchStatus, filterStatusOk work", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/json")
      const user = yield* HttpClientResponse.schemaBodyJson(Schema.Struct({ id: Schema.Number, name: Schema.String }))(
        r
      )
      expect(user).toEqual({ id: 1, name: "Ada" })
      expect(HttpClientResponse.matchStatus(r, { "2xx": () => "ok", orElse: () => "other" })).toBe("ok")
      expect((yield* HttpClientResponse.filterStatusOk(r)).status).toBe(200)
      const notFound = yield* TestClient.get("/missing")
      const error = yield* Effect.flip(HttpClientResponse.filterStatusOk(notFound))
      expect(error.reason._tag).toBe("StatusCodeError")
      expect(r.url).toBe("http://testserver/json")
      expect(r.history).toEqual([])
      expect(r.request.method).toBe("GET")
      expect(r.request.url).toBe("http://testserver/json")
    }).pipe(Effect.provide(TestClient.layer(Kinds)))
  )

  it.effect("body readers: text, json, arrayBuffer, stream; a bad JSON body is a DecodeError", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/text")
      expect(r.headers["content-type"]).toBe("text/plain")
      expect(r.headers["x-kind"]).toBe("text")
      expect(r.headers["content-length"]).toBe("5")
      expect(new TextDecoder().decode(yield* r.arrayBuffer)).toBe("hello")
      expect(yield* r.stream.pipe(Stream.decodeText, Stream.mkString)).toBe("hello")
      expect(yield* r.text).toBe("hello")
      const error = yield* Effect.flip((yield* TestClient.get("/bad-json")).json)
      expect(error._tag).toBe("HttpClientError")
      expect(error.reason._tag).toBe("DecodeError")
    }).pipe(Effect.provide(TestClient.layer(Kinds)))
  )

  it.effect("every HttpBody kind is delivered: Empty, Stream, Raw (Node Readable, string), FormData, file", () =>
    Effect.gen(function* () {
      const empty = yield* TestClient.get("/empty")
      expect(empty.status).toBe(200)
      expect(empty.body.length).toBe(0)
      const noContent = yield* TestClient.get("/no-content")
      expect(noContent.status).toBe(204)
      expect(noContent.headers["transfer-encoding"]).toBeUndefined()
      const stream = yield* TestClient.get("/stream")
      expect(yield* stream.text).toBe("abc")
      expect(stream.headers["content-type"]).toBe("text/plain")
      expect(yield* (yield* TestClient.get("/readable")).text).toBe("from node")
      expect(yield* (yield* TestClient.get("/raw-string")).text).toBe("raw text")
      const form = yield* (yield* TestClient.get("/form-data")).formData
      expect(form.get("field")).toBe("value")
      const file = yield* TestClient.get("/file")
      expect(yield* file.text).toContain("every HttpBody kind is delivered")
      expect(file.headers["content-length"]).toBe(String(file.body.length))
    }).pipe(Effect.provide(TestClient.layer(Kinds)))
  )

  // fetch's own response gives an empty body to a second `stream`: the kit says it was read.
  it.effect("the platform HttpClient's streamed responses are read once, as TestClient.stream's are", () =>
    Effect.gen(function* () {
      const r = yield* HttpClient.get("/stream")
      expect(yield* r.stream.pipe(Stream.decodeText, Stream.mkString)).toBe("abc")
      const error = yield* Effect.flip(Stream.runCollect(r.stream))
      expect(error.message).toContain("already read (by stream)")
      expect((yield* Effect.flip(r.text)).message).toContain("already read (by stream)")
      // text, json and arrayBuffer share one read; a stream after them is a second read.
      const whole = yield* HttpClient.get("/json")
      expect(yield* whole.text).toBe('{"id":1,"name":"Ada"}')
      expect(yield* whole.json).toEqual({ id: 1, name: "Ada" })
      expect((yield* Effect.flip(Stream.runCollect(whole.stream))).message).toContain(
        "already read (by text, json or arrayBuffer)"
      )
    }).pipe(Effect.provide(TestClient.layer(Kinds, { report: "never" })))
  )

  it.effect("Set-Cookie headers are exposed as setCookie and platform Cookies", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/cookies")
      expect(r.setCookie).toEqual(["session=abc; Path=/; HttpOnly", "theme=dark"])
      expect(Option.map(Cookies.get(r.cookies, "session"), (cookie) => cookie.value)).toEqual(Option.some("abc"))
    }).pipe(Effect.provide(TestClient.layer(Kinds)))
  )
})

describe("layers", () => {
  class Greeting extends Context.Service<Greeting, string>()("Greeting") {}

  it.effect("layer: the app's own requirements stay to be provided by the user", () =>
    Effect.gen(function* () {
      const Greet = HttpRouter.add(
        "GET",
        "/",
        Effect.map(Effect.service(Greeting), (greeting) => HttpServerResponse.text(greeting))
      )
      const r = yield* TestClient.get("/").pipe(
        Effect.provide(TestClient.layer(Greet).pipe(Layer.provide(Layer.succeed(Greeting, "hi"))))
      )
      expect(yield* r.text).toBe("hi")
    })
  )

  it.effect("layerServer: startup completes before the first request, shutdown runs at scope close", () =>
    Effect.gen(function* () {
      const events = yield* Ref.make<ReadonlyArray<string>>([])
      const log = (event: string) => Ref.update(events, (all) => [...all, event])
      const Resource = Layer.effectDiscard(Effect.acquireRelease(log("startup"), () => log("shutdown")))
      const App = HttpRouter.add("GET", "/", Effect.as(log("request"), HttpServerResponse.text("ok")))
      const ServerLive = HttpRouter.serve(App, { disableListenLog: true, disableLogger: true }).pipe(
        Layer.provide(Resource)
      )
      yield* TestClient.get("/").pipe(Effect.provide(TestClient.layerServer(ServerLive)))
      expect(yield* Ref.get(events)).toEqual(["startup", "request", "shutdown"])
    })
  )

  it.effect("layerServer: shutdown runs even when the test fails", () =>
    Effect.gen(function* () {
      const shutdown = yield* Deferred.make<void>()
      const ServerLive = HttpRouter.serve(HttpRouter.add("GET", "/", HttpServerResponse.empty()), {
        disableListenLog: true,
        disableLogger: true
      }).pipe(Layer.provide(Layer.effectDiscard(Effect.addFinalizer(() => Deferred.succeed(shutdown, undefined)))))
      const exit = yield* Effect.exit(
        Effect.fail("test failed").pipe(Effect.provide(TestClient.layerServer(ServerLive, { report: "never" })))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* Deferred.isDone(shutdown)).toBe(true)
    })
  )

  it.effect(
    "layerServer: a finalizer of the app's layers that dies fails the scope close, as over NodeHttpServer",
    () =>
      Effect.gen(function* () {
        const closeWith = <E>(layer: Layer.Layer<HttpClient.HttpClient, E>) =>
          Effect.exit(
            Effect.scoped(
              Effect.provide(
                Effect.flatMap(HttpClient.get("/"), (response) => response.text),
                layer
              )
            )
          )
        // Once dying at once, once after an asynchronous step: the shutdown ends within its first
        // step, or later, within its bound.
        for (const finalizer of [
          Effect.die("the pool would not close"),
          Effect.andThen(
            Effect.promise(() => Promise.resolve()),
            Effect.die("the pool would not close")
          )
        ]) {
          const ServerLive = HttpRouter.serve(HttpRouter.add("GET", "/", HttpServerResponse.text("ok")), {
            disableListenLog: true,
            disableLogger: true
          }).pipe(Layer.provide(Layer.effectDiscard(Effect.addFinalizer(() => finalizer))))
          const production = yield* closeWith(ServerLive.pipe(Layer.provideMerge(NodeHttpServer.layerTest)))
          const ours = yield* closeWith(TestClient.layerServer(ServerLive, { report: "never" }))
          for (const exit of [production, ours]) {
            expect(Exit.isFailure(exit)).toBe(true)
            if (Exit.isFailure(exit)) expect(Cause.squash(exit.cause)).toBe("the pool would not close")
          }
        }
      })
  )

  it.effect(
    "layerServer: a request the test forked and left as it returned is not served, as over NodeHttpServer",
    () =>
      Effect.gen(function* () {
        // The app shuts down as the scope closes, before a fiber the test forked in its last
        // step first runs: its request finds no app, and the route never runs.
        const served = yield* Ref.make(0)
        const ServerLive = HttpRouter.serve(
          HttpRouter.add(
            "GET",
            "/count",
            Effect.as(
              Ref.update(served, (n) => n + 1),
              HttpServerResponse.text("ok")
            )
          ),
          { disableListenLog: true, disableLogger: true }
        )
        const production = yield* Effect.forkChild(HttpClient.get("/count")).pipe(
          Effect.provide(ServerLive.pipe(Layer.provideMerge(NodeHttpServer.layerTest)))
        )
        const ours = yield* Effect.forkChild(HttpClient.get("/count")).pipe(
          Effect.provide(TestClient.layerServer(ServerLive, { report: "never" }))
        )
        for (const fiber of [production, ours]) expect(Exit.isFailure(yield* Fiber.await(fiber))).toBe(true)
        expect(yield* Ref.get(served)).toBe(0)
      })
  )

  it.effect("layerServer keeps the bootstrap's outputs, so tests can reach the app's services", () =>
    Effect.gen(function* () {
      class Counter extends Context.Service<Counter, Ref.Ref<number>>()("Counter") {}
      const CounterLive = Layer.effect(Counter)(Ref.make(0))
      const Hit = HttpRouter.add(
        "POST",
        "/hit",
        Effect.flatMap(Effect.service(Counter), (counter) =>
          Effect.as(
            Ref.update(counter, (n) => n + 1),
            HttpServerResponse.empty()
          )
        )
      )
      const ServerLive = HttpRouter.serve(Hit, { disableListenLog: true, disableLogger: true }).pipe(
        Layer.provideMerge(CounterLive)
      )
      yield* Effect.gen(function* () {
        yield* TestClient.post("/hit")
        yield* TestClient.post("/hit")
        expect(yield* Ref.get(yield* Effect.service(Counter))).toBe(2)
      }).pipe(Effect.provide(TestClient.layerServer(ServerLive)))
    })
  )

  describe("an HttpApi app through HttpRouter.serve(HttpApiBuilder.layer(Api))", () => {
    class User extends Schema.Class<User>("User")({ id: Schema.Number, name: Schema.String }) {}
    class UserNotFound extends Schema.Error<UserNotFound>("UserNotFound")(
      { _tag: Schema.tag("UserNotFound"), id: Schema.Number },
      { httpApiStatus: 404 }
    ) {}
    class Users extends HttpApiGroup.make("users").add(
      HttpApiEndpoint.get("get", "/users/:id", {
        params: { id: Schema.NumberFromString },
        success: User,
        error: UserNotFound
      }),
      HttpApiEndpoint.post("create", "/users", { payload: Schema.Struct({ name: Schema.String }), success: User })
    ) {}
    class Api extends HttpApi.make("api").add(Users) {}
    const UsersLive = HttpApiBuilder.group(Api, "users", (handlers) =>
      handlers
        .handle("get", ({ params }) =>
          params.id === 1
            ? Effect.succeed(new User({ id: 1, name: "Ada" }))
            : Effect.fail(new UserNotFound({ id: params.id }))
        )
        .handle("create", ({ payload }) => Effect.succeed(new User({ id: 2, name: payload.name })))
    )
    const TestApi = TestClient.layerServer(
      HttpRouter.serve(HttpApiBuilder.layer(Api).pipe(Layer.provide(UsersLive)), {
        disableListenLog: true,
        disableLogger: true
      })
    )

    it.effect("typed successes decode with the endpoint's schema", () =>
      Effect.gen(function* () {
        const r = yield* TestClient.get("/users/1")
        expect(yield* HttpClientResponse.schemaBodyJson(User)(r)).toEqual(new User({ id: 1, name: "Ada" }))
        const created = yield* TestClient.post("/users", { json: { name: "Grace" } })
        expect(yield* created.json).toEqual({ id: 2, name: "Grace" })
      }).pipe(Effect.provide(TestApi))
    )

    it.effect("typed errors and invalid payloads are plain responses", () =>
      Effect.gen(function* () {
        const missing = yield* TestClient.get("/users/7")
        expect(missing.status).toBe(404)
        expect(yield* missing.json).toEqual({ _tag: "UserNotFound", id: 7 })
        const invalid = yield* TestClient.post("/users", { json: { nom: "x" } })
        expect(invalid.status).toBe(400)
      }).pipe(Effect.provide(TestApi))
    )
  })
})

describe("lifecycle", () => {
  it.effect("closing the client's scope disconnects requests still in flight and waits for them", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const finalized = yield* Deferred.make<void>()
      const Hang = HttpRouter.add(
        "GET",
        "/",
        Deferred.succeed(started, undefined).pipe(
          Effect.andThen(Effect.never),
          Effect.ensuring(Deferred.succeed(finalized, undefined))
        )
      )
      const fiber = yield* Effect.gen(function* () {
        const fiber = yield* Effect.forkDetach(Effect.exit(TestClient.get("/")))
        yield* Deferred.await(started)
        return fiber
      }).pipe(Effect.provide(TestClient.layer(Hang)))
      // The scope closed when Effect.provide finished: the handler was already finalized.
      expect(yield* Deferred.isDone(finalized)).toBe(true)
      // The request ends with the scope too, as a failure (the Effect 3 edition's in-process
      // transport answered the 499 the disconnected app wrote; a socket has no answer).
      expect(Exit.isFailure(yield* Fiber.join(fiber))).toBe(true)
    })
  )
})

describe("a body that fails midway, read whole", () => {
  const Failing = HttpRouter.add(
    "GET",
    "/stream-fails",
    HttpServerResponse.stream(Stream.concat(Stream.make(new TextEncoder().encode("partial")), Stream.fail("broken")))
  )

  // Node sent the headers with "partial", then cut the connection: there is no response to
  // give, so serverErrors: "respond" still fails, with the status the app had sent.
  it.effect('fails the request with ServerError, also with serverErrors: "respond", never a short body', () =>
    Effect.gen(function* () {
      for (const serverErrors of ["fail", "respond"] as const) {
        const error = yield* Effect.flip(TestClient.get("/stream-fails")).pipe(
          Effect.provide(TestClient.layer(Failing, { serverErrors, report: "never" }))
        )
        expect(error._tag, serverErrors).toBe("ServerError")
        if (error._tag !== "ServerError") continue
        expect(error.status).toBe(200)
        expect(error.afterHeaders).toBe(true)
        expect(error.message).toContain("the app answered 200, then its body failed midway")
        expect(Cause.pretty(error.cause)).toContain("broken")
      }
    })
  )
})

describe("the platform services", () => {
  it.effect("the stateless ones are shared by every client; the FileSystem and the Terminal are built with each", () =>
    Effect.gen(function* () {
      // Each client's Terminal listens for stdin's end while the client lives, and stops when
      // its scope closes; HttpPlatform, Path, ... are one instance for all; the FileSystem is
      // each client's (it takes a WatchBackend from the context the client is built in).
      const listeners = () => process.stdin.listenerCount("end")
      const before = listeners()
      const services = Effect.gen(function* () {
        // Not in layerTest's types (NodeHttpServer.layerTest names no Terminal), but given.
        const terminal = Option.getOrThrow(yield* Effect.serviceOption(Terminal.Terminal))
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const platform = yield* HttpPlatform.HttpPlatform
        expect(listeners()).toBe(before + 1)
        return { terminal, fs, path, platform }
      })
      const first = yield* Effect.scoped(Effect.provide(services, TestClient.layerTest))
      expect(listeners()).toBe(before)
      const second = yield* Effect.scoped(Effect.provide(services, TestClient.layerTest))
      expect(listeners()).toBe(before)
      expect(second.platform).toBe(first.platform)
      expect(second.path).toBe(first.path)
      expect(second.fs).not.toBe(first.fs)
      expect(second.terminal).not.toBe(first.terminal)
    })
  )

  // The shared services carry no memo map of an earlier build: a layer both the test and the
  // app use is still built once, by the client's own build, whatever clients came before.
  class Db extends Context.Service<Db, { readonly id: number }>()("test/platform/Db") {}
  const counted = () => {
    const state = { builds: 0, seenByApp: [] as Array<number> }
    const DbLive = Layer.effect(Db)(Effect.sync(() => ({ id: ++state.builds })))
    const app = Layer.mergeAll(
      HttpRouter.add("GET", "/", Effect.succeed(HttpServerResponse.text("ok"))),
      Layer.effectDiscard(Effect.map(Effect.service(Db), (db) => void state.seenByApp.push(db.id)))
    ).pipe(Layer.provide(DbLive))
    const test = Effect.gen(function* () {
      const db = yield* Effect.service(Db)
      expect((yield* TestClient.get("/")).status).toBe(200)
      return db.id
    })
    return { state, run: Effect.scoped(Effect.provide(test, TestClient.layer(app).pipe(Layer.provideMerge(DbLive)))) }
  }

  it.effect("a layer the test and the app share is built once, the first client or not", () =>
    Effect.gen(function* () {
      for (let client = 0; client < 3; client++) {
        const { state, run } = counted()
        const id = yield* run
        expect(state).toEqual({ builds: 1, seenByApp: [id] })
        yield* Effect.scoped(Effect.provide(Effect.void, TestClient.layerTest))
      }
    })
  )
})
