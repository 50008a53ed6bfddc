/**
 * TestClient: building requests, reading responses, bad input, layers and lifecycle.
 */

import { Readable } from "node:stream"
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiSchema,
  HttpClient,
  type HttpClientError,
  HttpClientResponse,
  HttpRouter,
  HttpServer,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Deferred, Effect, Either, Exit, Fiber, Layer, Option, Ref, Schema, Stream } from "effect"
import { TestClient } from "effect-http-testkit"
import { concatBytes } from "./support/bytes.js"

const encoder = new TextEncoder()

const app = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/headers",
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      return yield* HttpServerResponse.json({
        headers: request.headers,
        remoteAddress: Option.getOrNull(request.remoteAddress)
      })
    })
  ),
  HttpRouter.get("/text", HttpServerResponse.text("hello", { headers: { "x-kind": "text" } })),
  HttpRouter.get("/json", HttpServerResponse.json({ id: 1, name: "Ada" })),
  HttpRouter.get("/empty", HttpServerResponse.empty({ status: 200 })),
  HttpRouter.get("/no-content", HttpServerResponse.empty({ status: 204 })),
  HttpRouter.get(
    "/stream",
    Effect.succeed(
      HttpServerResponse.stream(Stream.make("a", "b", "c").pipe(Stream.map((s) => encoder.encode(s))), {
        contentType: "text/plain"
      })
    )
  ),
  HttpRouter.get(
    "/stream-fails",
    Effect.succeed(
      HttpServerResponse.stream(Stream.concat(Stream.succeed(encoder.encode("partial")), Stream.fail("broken")))
    )
  ),
  HttpRouter.get(
    "/readable",
    Effect.sync(() => HttpServerResponse.raw(Readable.from([Buffer.from("from "), Buffer.from("node")])))
  ),
  HttpRouter.get("/raw-string", Effect.succeed(HttpServerResponse.raw("raw text"))),
  HttpRouter.get(
    "/form-data",
    Effect.sync(() => {
      const form = new FormData()
      form.append("field", "value")
      return HttpServerResponse.formData(form)
    })
  ),
  HttpRouter.get(
    "/cookies",
    HttpServerResponse.empty().pipe(
      HttpServerResponse.setCookie("session", "abc", { httpOnly: true, path: "/" }),
      Effect.flatMap(HttpServerResponse.setCookie("theme", "dark"))
    )
  ),
  HttpRouter.get("/file", HttpServerResponse.file(new URL(import.meta.url).pathname)),
  HttpRouter.get("/bad-json", Effect.succeed(HttpServerResponse.text("{nope", { contentType: "application/json" })))
)

const TestApp = TestClient.layer(app)

describe("requests", () => {
  it.scoped("default headers: host from baseUrl, user-agent, accept; client and call headers replace them", () =>
    Effect.gen(function* () {
      const seen = (yield* (yield* TestClient.get("/headers")).json) as {
        headers: Record<string, string>
        remoteAddress: string
      }
      expect(seen.headers).toEqual({
        host: "testserver",
        "user-agent": "effect-http-testkit",
        accept: "*/*",
        "accept-encoding": "gzip, deflate, br, zstd"
      })
      expect(seen.remoteAddress).toBe("127.0.0.1")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("client headers, cookies and remoteAddress apply to every request; call headers win", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/headers", { headers: { "X-Team": "blue" }, cookies: { b: "call" } })
      const seen = (yield* r.json) as { headers: Record<string, string>; remoteAddress: string }
      expect(seen.headers["x-team"]).toBe("blue")
      expect(seen.headers["x-tenant"]).toBe("acme")
      expect(seen.headers.cookie).toBe("a=1; b=call")
      expect(seen.headers.host).toBe("example.com:8080")
      expect(seen.remoteAddress).toBe("10.1.2.3")
    }).pipe(
      Effect.provide(
        TestClient.layer(app, {
          baseUrl: "https://example.com:8080",
          headers: { "x-team": "red", "x-tenant": "acme" },
          cookies: { a: "1", b: "client" },
          // remoteAddress is the in-process transport's: over a socket the peer is real.
          transport: "in-process",
          remoteAddress: "10.1.2.3"
        })
      )
    )
  )

  it.scoped("cookie values the header cannot carry reach the app exactly as given", () =>
    Effect.gen(function* () {
      const echo = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/",
          Effect.map(HttpServerRequest.HttpServerRequest, (r) => HttpServerResponse.unsafeJson(r.cookies))
        )
      )
      const r = yield* TestClient.get("/", { cookies: { note: "a b;c", plain: "x" } }).pipe(
        Effect.provide(TestClient.layer(echo))
      )
      expect(yield* r.json).toEqual({ note: "a b;c", plain: "x" })
    })
  )

  it.scoped("every method accessor sends its method; the service has the same methods", () =>
    Effect.gen(function* () {
      const echo = HttpRouter.empty.pipe(
        HttpRouter.all(
          "/m",
          Effect.map(HttpServerRequest.HttpServerRequest, (r) => HttpServerResponse.text(r.method))
        )
      )
      yield* Effect.gen(function* () {
        const client = yield* TestClient.TestClient
        const accessors = [
          ["GET", TestClient.get],
          ["POST", TestClient.post],
          ["PUT", TestClient.put],
          ["PATCH", TestClient.patch],
          ["DELETE", TestClient.del],
          ["OPTIONS", TestClient.options]
        ] as const
        for (const [method, send] of accessors) {
          expect(yield* (yield* send("/m")).text).toBe(method)
        }
        expect(yield* (yield* client.put("/m")).text).toBe("PUT")
        expect(yield* (yield* TestClient.request("purge", "/m")).text).toBe("PURGE")
        const head = yield* TestClient.head("/m")
        expect(head.status).toBe(200)
        expect(head.body.length).toBe(0)
      }).pipe(Effect.provide(TestClient.layer(echo)))
    })
  )

  describe("bad input fails with InvalidRequest saying what to fix", () => {
    const cases: ReadonlyArray<
      readonly [string, Effect.Effect<unknown, TestClient.TestClientError, TestClient.TestClient>, string]
    > = [
      ["CR/LF in a header value", TestClient.get("/text", { headers: { "x-a": "1\r\nx-b: 2" } }), "contains CR, LF"],
      ["a header name with a space", TestClient.get("/text", { headers: { "bad name": "1" } }), "invalid header name"],
      [
        "a non-string header value",
        TestClient.get("/text", { headers: { "x-n": 1 as unknown as string } }),
        "must be a string"
      ],
      ["an unparsable absolute URL", TestClient.get("http://"), "invalid URL"],
      ["a non-http scheme", TestClient.get("ftp://files/x"), "unsupported URL scheme"],
      ["a method that is not a token", TestClient.request("GET /x", "/text"), "invalid method"],
      ["a JSON body with a BigInt", TestClient.post("/text", { json: { n: 1n } }), "cannot be serialised"],
      ["a JSON body that serialises to nothing", TestClient.post("/text", { json: () => 1 }), "serialises to nothing"],
      ["a cookie name with '='", TestClient.get("/text", { cookies: { "a=b": "1" } }), "invalid cookie name"],
      [
        "params holding null",
        TestClient.get("/text", { params: { a: null as unknown as string, b: { c: null } as never } }),
        "params must be"
      ],
      [
        "a multipart field that is a number",
        TestClient.post("/text", { multipart: { n: 1 as unknown as string } }),
        "must be a string, Blob or File"
      ],
      ["a body of the wrong type", TestClient.post("/text", { body: 42 as unknown as string }), "body must be"],
      ["a timeout that is not a Duration", TestClient.get("/text", { timeout: "soon" as never }), "is not a Duration"],
      ["three bodies", TestClient.post("/text", { json: 1, body: "x", multipart: {} }), "json and multipart and body"]
    ]
    for (const [name, request, expected] of cases) {
      it.scoped(name, () =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(request)
          expect(error._tag).toBe("InvalidRequest")
          expect(error.message).toContain(expected)
        }).pipe(Effect.provide(TestApp))
      )
    }

    it.scoped("a client with a bad baseUrl or option fails each request, naming the option", () =>
      Effect.gen(function* () {
        const badBase = yield* Effect.flip(
          TestClient.get("/text").pipe(Effect.provide(TestClient.layer(app, { baseUrl: "not a url" })))
        )
        expect(badBase.message).toContain("baseUrl")
        const badTimeout = yield* Effect.flip(
          TestClient.get("/text").pipe(Effect.provide(TestClient.layer(app, { timeout: "whenever" as never })))
        )
        expect(badTimeout._tag).toBe("InvalidRequest")
        expect(badTimeout.message).toContain("client option timeout")
      })
    )
  })
})

describe("responses", () => {
  it.scoped("TestResponse is an HttpClientResponse: schemaBodyJson, matchStatus, filterStatusOk work", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/json")
      const user = yield* HttpClientResponse.schemaBodyJson(Schema.Struct({ id: Schema.Number, name: Schema.String }))(
        r
      )
      expect(user).toEqual({ id: 1, name: "Ada" })
      const matched = HttpClientResponse.matchStatus(r, { "2xx": () => "ok", orElse: () => "other" })
      expect(matched).toBe("ok")
      expect((yield* HttpClientResponse.filterStatusOk(r)).status).toBe(200)
      const notFound = yield* TestClient.get("/missing")
      const error = yield* Effect.flip(HttpClientResponse.filterStatusOk(notFound))
      expect(error._tag).toBe("ResponseError")
      expect(r.url).toBe("http://testserver/json")
      expect(r.history).toEqual([])
      expect(r.request.method).toBe("GET")
      expect(r.request.url).toBe("http://testserver/json")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("body readers: text, json, arrayBuffer, stream, urlParamsBody; a bad JSON body is a ResponseError", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/text")
      expect(r.headers["content-type"]).toBe("text/plain")
      expect(r.headers["x-kind"]).toBe("text")
      expect(r.headers["content-length"]).toBe("5")
      expect(new TextDecoder().decode(yield* r.arrayBuffer)).toBe("hello")
      const streamed = yield* r.stream.pipe(Stream.decodeText(), Stream.mkString)
      expect(streamed).toBe("hello")
      const bad = yield* TestClient.get("/bad-json")
      const error = yield* Effect.flip(bad.json)
      expect(error._tag).toBe("ResponseError")
      expect(error.reason).toBe("Decode")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("every HttpBody kind is delivered: Empty, Stream, Raw (Node Readable, string), FormData, file", () =>
    Effect.gen(function* () {
      const empty = yield* TestClient.get("/empty")
      expect(empty.status).toBe(200)
      expect(empty.body.length).toBe(0)
      expect(empty.headers["transfer-encoding"]).toBe("chunked")
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
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("a body stream that fails after the headers fails the request, never a silently short body", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/stream-fails"))
      expect(error._tag).toBe("ServerError")
    }).pipe(Effect.provide(TestClient.layer(app, { serverErrors: "respond" })))
  )

  it.scoped("Set-Cookie headers are exposed as setCookie and platform Cookies", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/cookies")
      expect(r.setCookie).toEqual(["session=abc; Path=/; HttpOnly", "theme=dark"])
      expect(r.headers["set-cookie"]).toBe("session=abc; Path=/; HttpOnly, theme=dark")
      expect(Option.map(Option.fromNullable(r.cookies.cookies.session), (c) => c.value)).toEqual(Option.some("abc"))
    }).pipe(Effect.provide(TestApp))
  )
})

describe("layers", () => {
  class Greeting extends Context.Tag("Greeting")<Greeting, string>() {}

  it.scoped("layer: the app's own requirements stay to be provided by the user", () =>
    Effect.gen(function* () {
      const greet = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/",
          Effect.map(Greeting, (greeting) => HttpServerResponse.text(greeting))
        )
      )
      const r = yield* TestClient.get("/").pipe(
        Effect.provide(TestClient.layer(greet).pipe(Layer.provide(Layer.succeed(Greeting, "hi"))))
      )
      expect(yield* r.text).toBe("hi")
    })
  )

  it.scoped("layerServer: startup completes before the first request, shutdown runs at scope close", () =>
    Effect.gen(function* () {
      const events = yield* Ref.make<ReadonlyArray<string>>([])
      const log = (event: string) => Ref.update(events, (all) => [...all, event])
      const Resource = Layer.scopedDiscard(Effect.acquireRelease(log("startup"), () => log("shutdown")))
      const router = HttpRouter.empty.pipe(
        HttpRouter.get("/", Effect.as(log("request"), HttpServerResponse.text("ok")))
      )
      const ServerLive = HttpServer.serve(router).pipe(Layer.provide(Resource))
      yield* TestClient.get("/").pipe(Effect.provide(TestClient.layerServer(ServerLive)))
      expect(yield* Ref.get(events)).toEqual(["startup", "request", "shutdown"])
    })
  )

  it.scoped("layerServer: shutdown runs even when the test fails", () =>
    Effect.gen(function* () {
      const shutdown = yield* Deferred.make<void>()
      const ServerLive = HttpServer.serve(HttpRouter.empty).pipe(
        Layer.provide(Layer.scopedDiscard(Effect.addFinalizer(() => Deferred.succeed(shutdown, void 0))))
      )
      const exit = yield* Effect.exit(
        Effect.fail("test failed").pipe(Effect.provide(TestClient.layerServer(ServerLive)))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* Deferred.isDone(shutdown)).toBe(true)
    })
  )

  it.scoped("layerServer keeps the bootstrap's outputs, so tests can reach the app's services", () =>
    Effect.gen(function* () {
      class Counter extends Context.Tag("Counter")<Counter, Ref.Ref<number>>() {}
      const CounterLive = Layer.effect(Counter, Ref.make(0))
      const router = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/hit",
          Effect.flatMap(Counter, (counter) =>
            Effect.as(
              Ref.update(counter, (n) => n + 1),
              HttpServerResponse.empty()
            )
          )
        )
      )
      const ServerLive = Layer.merge(HttpServer.serve(router), CounterLive).pipe(Layer.provideMerge(CounterLive))
      yield* Effect.gen(function* () {
        yield* TestClient.post("/hit")
        yield* TestClient.post("/hit")
        expect(yield* Ref.get(yield* Counter)).toBe(2)
      }).pipe(Effect.provide(TestClient.layerServer(ServerLive)))
    })
  )

  describe("an HttpApi app through HttpApiBuilder.serve()", () => {
    class User extends Schema.Class<User>("User")({ id: Schema.Number, name: Schema.String }) {}
    class UserNotFound extends Schema.TaggedError<UserNotFound>()(
      "UserNotFound",
      { id: Schema.Number },
      HttpApiSchema.annotations({ status: 404 })
    ) {}
    const Api = HttpApi.make("api").add(
      HttpApiGroup.make("users")
        .add(
          HttpApiEndpoint.get("get", "/users/:id")
            .setPath(Schema.Struct({ id: Schema.NumberFromString }))
            .addSuccess(User)
            .addError(UserNotFound)
        )
        .add(
          HttpApiEndpoint.post("create", "/users")
            .setPayload(Schema.Struct({ name: Schema.String }))
            .addSuccess(User)
        )
    )
    const UsersLive = HttpApiBuilder.group(Api, "users", (handlers) =>
      handlers
        .handle("get", ({ path }) =>
          path.id === 1
            ? Effect.succeed(new User({ id: 1, name: "Ada" }))
            : Effect.fail(new UserNotFound({ id: path.id }))
        )
        .handle("create", ({ payload }) => Effect.succeed(new User({ id: 2, name: payload.name })))
    )
    const ServerLive = HttpApiBuilder.serve().pipe(Layer.provide(HttpApiBuilder.api(Api)), Layer.provide(UsersLive))
    const TestApi = TestClient.layerServer(ServerLive)

    it.scoped("typed successes decode with the endpoint's schema", () =>
      Effect.gen(function* () {
        const r = yield* TestClient.get("/users/1")
        expect(yield* HttpClientResponse.schemaBodyJson(User)(r)).toEqual(new User({ id: 1, name: "Ada" }))
        const created = yield* TestClient.post("/users", { json: { name: "Grace" } })
        expect(yield* created.json).toEqual({ id: 2, name: "Grace" })
      }).pipe(Effect.provide(TestApi))
    )

    it.scoped("typed errors and invalid payloads are plain responses", () =>
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
  it.scoped("closing the client's scope disconnects requests still in flight and waits for them", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const finalized = yield* Deferred.make<void>()
      const hang = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/",
          Deferred.succeed(started, void 0).pipe(
            Effect.zipRight(Effect.never),
            Effect.ensuring(Deferred.succeed(finalized, void 0))
          )
        )
      )
      const outcome = yield* Effect.gen(function* () {
        const fiber = yield* Effect.forkDaemon(TestClient.get("/"))
        yield* Deferred.await(started)
        return fiber
        // In process the client still receives the 499 the disconnected app writes; over a
        // socket the connection is gone (test/Transport.test.ts has that case).
      }).pipe(Effect.provide(TestClient.layer(hang, { transport: "in-process" })))
      // The scope closed when Effect.provide finished: the handler was already finalized.
      expect(yield* Deferred.isDone(finalized)).toBe(true)
      const result = yield* Fiber.join(outcome).pipe(Effect.either)
      expect(Either.isRight(result) && result.right.status).toBe(499)
    })
  )
})

describe("a streamed body is read once", () => {
  const bytesOf = (r: TestClient.StreamResponse) =>
    Effect.map(Stream.runCollect(r.stream), (chunks) =>
      new TextDecoder().decode(concatBytes(Chunk.toReadonlyArray(chunks)))
    )

  it.scoped("stream read twice: the second read fails with a ResponseError saying so, never an empty body", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.stream("GET", "/stream")
      expect(yield* bytesOf(r)).toBe("abc")
      const reads: ReadonlyArray<Effect.Effect<unknown, HttpClientError.ResponseError>> = [
        bytesOf(r),
        r.text,
        Stream.runCollect(r.events)
      ]
      for (const again of reads) {
        const error = yield* Effect.flip(again)
        expect(error._tag).toBe("ResponseError")
        expect(error.reason).toBe("Decode")
        expect(error.message).toContain("the body was already read (by stream)")
      }
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("text, json and arrayBuffer share one read; stream after them fails saying who read it", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.stream("GET", "/stream")
      expect(yield* r.text).toBe("abc")
      expect(new TextDecoder().decode(yield* r.arrayBuffer)).toBe("abc")
      expect(yield* r.text).toBe("abc")
      const error = yield* Effect.flip(bytesOf(r))
      expect(error.message).toContain("already read (by text, json or arrayBuffer)")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("the platform HttpClient's streamed responses follow the same rule", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const r = yield* client.get("/stream")
      expect(new TextDecoder().decode(concatBytes(Chunk.toReadonlyArray(yield* Stream.runCollect(r.stream))))).toBe(
        "abc"
      )
      const error = yield* Effect.flip(Stream.runCollect(r.stream))
      expect(error.message).toContain("already read (by stream)")
    }).pipe(Effect.provide(TestApp))
  )
})
