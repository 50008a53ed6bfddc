/**
 * `TestClient.layerTest`: a drop-in for `NodeHttpServer.layerTest`. Tests that serve their app
 * and talk to it with the platform `HttpClient` run in process, unchanged.
 */

import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Deferred, Effect, Exit, Fiber, Latch, Layer, Stream } from "effect"
import { HttpClient, HttpClientRequest, HttpMiddleware, HttpRouter, HttpServerResponse } from "effect/http"

const encoder = new TextEncoder()
const serve = <A, E, R>(app: Layer.Layer<A, E, R>, middleware?: HttpMiddleware.HttpMiddleware) =>
  HttpRouter.serve(app, {
    disableListenLog: true,
    disableLogger: true,
    ...(middleware === undefined ? {} : { middleware })
  }).pipe(Layer.build)

describe("TestClient.layerTest", () => {
  it.effect("serves the app and answers the platform HttpClient, relative URLs against the server", () =>
    Effect.gen(function* () {
      yield* serve(
        HttpRouter.add("GET", "/todos/:id", (request) =>
          Effect.map(HttpRouter.params, (p) => HttpServerResponse.jsonUnsafe({ id: p.id, url: request.url }))
        )
      )
      const response = yield* HttpClient.get("/todos/1?x=y")
      expect(response.status).toBe(200)
      expect(yield* response.json).toEqual({ id: "1", url: "/todos/1?x=y" })
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  it.effect("follows redirects as fetch does (a 302 after POST becomes a GET)", () =>
    Effect.gen(function* () {
      yield* serve(
        Layer.mergeAll(
          HttpRouter.add("POST", "/login", HttpServerResponse.redirect("/home", { status: 302 })),
          HttpRouter.add("GET", "/home", (request) =>
            Effect.succeed(HttpServerResponse.text(`home via ${request.method}`))
          )
        )
      )
      const response = yield* HttpClient.post("/login")
      expect(response.status).toBe(200)
      expect(yield* response.text).toBe("home via GET")
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  it.effect("a streamed body reaches the client as the handler writes it, compressed or not", () =>
    Effect.gen(function* () {
      const latch = yield* Latch.make(false)
      yield* serve(
        HttpRouter.add(
          "GET",
          "/events",
          HttpServerResponse.stream(
            Stream.concat(
              Stream.succeed(encoder.encode("data: first\n\n")),
              Stream.concat(
                Stream.drain(Stream.fromEffect(latch.await)),
                Stream.succeed(encoder.encode("data: second\n\n"))
              )
            ),
            { contentType: "text/event-stream" }
          )
        ),
        HttpMiddleware.compression()
      )
      for (const encoding of ["gzip", "identity"]) {
        yield* latch.close
        const response = yield* HttpClient.get("/events", { headers: { "accept-encoding": encoding } })
        expect(response.headers["content-type"]).toBe("text/event-stream")
        // The second event waits for the latch, which opens only once the first has arrived.
        const received: Array<string> = []
        yield* response.stream.pipe(
          Stream.runForEach((chunk) =>
            Effect.suspend(() => {
              received.push(new TextDecoder().decode(chunk))
              return latch.open
            })
          )
        )
        expect(received.join("")).toBe("data: first\n\ndata: second\n\n")
      }
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  for (const encoding of ["identity", "gzip"]) {
    it.effect(`a client that stops reading a streamed body ends the handler as a client abort (${encoding})`, () =>
      Effect.gen(function* () {
        const ended = yield* Deferred.make<Exit.Exit<unknown, unknown>>()
        yield* serve(
          HttpRouter.add(
            "GET",
            "/forever",
            // text/plain: compression() compresses it when the client accepts gzip.
            HttpServerResponse.stream(
              Stream.concat(Stream.succeed(encoder.encode("tick\n")), Stream.never).pipe(
                Stream.onExit((exit) => Deferred.succeed(ended, exit))
              ),
              { contentType: "text/plain" }
            )
          ),
          HttpMiddleware.compression()
        )
        const response = yield* HttpClient.get("/forever", { headers: { "accept-encoding": encoding } })
        expect(response.headers["content-encoding"]).toBe(encoding === "gzip" ? "gzip" : undefined)
        const first = yield* response.stream.pipe(Stream.take(1), Stream.runCollect)
        expect(new TextDecoder().decode(Array.from(first)[0])).toBe("tick\n")
        const exit = yield* Deferred.await(ended)
        expect(Exit.hasInterrupts(exit)).toBe(true)
      }).pipe(Effect.provide(TestClient.layerTest))
    )
  }

  it.effect("the TestClient beside it reaches the same app", () =>
    Effect.gen(function* () {
      yield* serve(HttpRouter.add("GET", "/ping", HttpServerResponse.text("pong")))
      const viaClient = yield* Effect.flatMap(HttpClient.get("/ping"), (r) => r.text)
      const viaTestClient = yield* Effect.flatMap(TestClient.get("/ping"), (r) => r.text)
      expect([viaClient, viaTestClient]).toEqual(["pong", "pong"])
    }).pipe(Effect.provide(TestClient.layerTest))
  )
})

describe("TestClient.layerTest against NodeHttpServer.layerTest", () => {
  const FormApp = HttpRouter.add("GET", "/form", () => {
    const form = new FormData()
    form.append("name", "Ada")
    form.append("file", new File(["col1\n1\n"], "data.csv", { type: "text/csv" }))
    return Effect.succeed(HttpServerResponse.formData(form))
  })
  const read = Effect.gen(function* () {
    yield* serve(FormApp)
    const response = yield* HttpClient.get("/form")
    const form = yield* response.formData
    const file = form.get("file") as File
    return {
      status: response.status,
      multipart: response.headers["content-type"]?.startsWith("multipart/form-data; boundary=") ?? false,
      name: form.get("name"),
      file: [file.name, file.type, yield* Effect.promise(() => file.text())]
    }
  })

  it.effect("a FormData response: the multipart body and its content-type, as Node writes them", () =>
    Effect.gen(function* () {
      const inProcess = yield* read.pipe(Effect.provide(TestClient.layerTest))
      const overSocket = yield* read.pipe(Effect.provide(NodeHttpServer.layerTest))
      expect(inProcess).toEqual(overSocket)
      expect(inProcess).toEqual({
        status: 200,
        multipart: true,
        name: "Ada",
        file: ["data.csv", "text/csv", "col1\n1\n"]
      })
    })
  )
})

describe("TestClient.layerTest, failures and interruptions as production has them", () => {
  for (const encoding of ["identity", "gzip"]) {
    it.effect(`a body that fails after its first chunk fails the read, not the test run (${encoding})`, () =>
      Effect.gen(function* () {
        const latch = yield* Latch.make(false)
        yield* serve(
          HttpRouter.add(
            "GET",
            "/late",
            HttpServerResponse.stream(
              Stream.concat(
                Stream.succeed(encoder.encode("x".repeat(2000))),
                Stream.fromEffect(Effect.andThen(latch.await, Effect.die(new Error("late"))))
              ),
              { contentType: "text/plain" }
            )
          ),
          HttpMiddleware.compression()
        )
        const response = yield* HttpClient.get("/late", { headers: { "accept-encoding": encoding } })
        const read = yield* response.stream.pipe(
          Stream.runForEach(() => latch.open),
          Effect.flip
        )
        expect(read._tag).toBe("HttpClientError")
      }).pipe(Effect.provide(TestClient.layerTest))
    )
  }

  it.effect("a Stream body that fails before its first chunk: no response, a transport error", () =>
    Effect.gen(function* () {
      yield* serve(HttpRouter.add("GET", "/early", HttpServerResponse.stream(Stream.fail("boom"))))
      const error = yield* Effect.flip(HttpClient.get("/early"))
      expect(error._tag).toBe("HttpClientError")
      expect(error.reason._tag).toBe("TransportError")
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  it.effect("interrupting a request as soon as its handler starts interrupts the handler", () =>
    Effect.gen(function* () {
      const clients = [
        ["/via-http-client", HttpClient.get("/via-http-client")],
        ["/via-test-client", TestClient.get("/via-test-client")]
      ] as const
      for (const [path, send] of clients) {
        const started = yield* Deferred.make<void>()
        const ended = yield* Deferred.make<Exit.Exit<unknown, unknown>>()
        yield* serve(
          HttpRouter.add(
            "GET",
            path,
            Effect.andThen(Deferred.succeed(started, undefined), Effect.never).pipe(
              Effect.onExit((exit) => Deferred.succeed(ended, exit)),
              Effect.as(HttpServerResponse.text("never"))
            )
          )
        )
        const fiber = yield* Effect.forkChild(send)
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        expect(Exit.hasInterrupts(yield* Deferred.await(ended))).toBe(true)
      }
    }).pipe(Effect.provide(TestClient.layerTest))
  )
})

describe("TestClient.layerTest fails where NodeHttpServer.layerTest fails", () => {
  const outcomes = Effect.gen(function* () {
    yield* serve(
      Layer.mergeAll(
        HttpRouter.add("GET", "/raw", () =>
          Effect.succeed(
            HttpServerResponse.raw(
              new ReadableStream({
                start(controller) {
                  controller.enqueue(encoder.encode("hi"))
                  controller.close()
                }
              })
            )
          )
        ),
        HttpRouter.add("POST", "/again", HttpServerResponse.redirect("/target", { status: 307 })),
        HttpRouter.add(
          "GET",
          "/unparseable",
          HttpServerResponse.empty({ status: 302, headers: { location: "http://[::1" } })
        ),
        HttpRouter.add("*", "/target", HttpServerResponse.text("target"))
      )
    )
    const failed = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.map(Effect.exit(effect), Exit.isFailure)
    return {
      // Node's end() refuses a web ReadableStream: the connection resets.
      rawWebStream: yield* failed(Effect.flatMap(HttpClient.get("/raw"), (r) => r.text)),
      // fetch cannot send a streamed body twice.
      streamedBodyOn307: yield* failed(
        HttpClient.execute(
          HttpClientRequest.post("/again").pipe(HttpClientRequest.bodyStream(Stream.make(encoder.encode("x"))))
        )
      ),
      // fetch cannot follow a Location that does not parse.
      unparseableLocation: yield* failed(HttpClient.get("/unparseable"))
    }
  })

  it.effect("a Raw body Node cannot write, a streamed body on a 307, a Location that does not parse", () =>
    Effect.gen(function* () {
      const inProcess = yield* outcomes.pipe(Effect.provide(TestClient.layerTest))
      const overSocket = yield* outcomes.pipe(Effect.provide(NodeHttpServer.layerTest))
      expect(overSocket).toEqual({ rawWebStream: true, streamedBodyOn307: true, unparseableLocation: true })
      expect(inProcess).toEqual(overSocket)
    })
  )
})
