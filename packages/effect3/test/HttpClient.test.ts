/**
 * The platform `HttpClient` every TestClient layer provides, and `TestClient.layerTest`, the
 * drop-in for `NodeHttpServer.layerTest`: platform-node's client semantics in process, checked
 * against a real socket where the answer is Node's to give.
 */
import { existsSync } from "node:fs"
import { gzipSync } from "node:zlib"
import {
  HttpBody,
  HttpClient,
  HttpClientRequest,
  HttpRouter,
  HttpServer,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, HashSet, Layer, Scope, Stream } from "effect"
import { TestClient, TestTracer } from "effect-http-testkit"

const encoder = new TextEncoder()

/** What the app saw of a request, minus what only the transport decides. */
const seen = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const body = yield* request.text
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    // `host` names the origin (127.0.0.1:<port> vs testserver); `connection: close` is the
    // socket agent's; trace headers carry ids that differ run to run.
    if (name === "host" || name === "connection" || name === "traceparent" || name === "b3") continue
    headers[name] = name === "content-type" ? value.replace(/boundary=.*/, "boundary=…") : value
  }
  return HttpServerResponse.unsafeJson({ method: request.method, url: request.url, headers, body: body.length })
})

const app = HttpRouter.empty.pipe(
  HttpRouter.get("/hello", HttpServerResponse.text("hello")),
  HttpRouter.get("/moved", HttpServerResponse.redirect("/hello", { status: 302 })),
  HttpRouter.get("/boom", Effect.die(new Error("boom"))),
  HttpRouter.get(
    "/gzip",
    Effect.succeed(HttpServerResponse.uint8Array(gzipSync("compressed"), { headers: { "content-encoding": "gzip" } }))
  ),
  HttpRouter.all("/seen", seen),
  HttpRouter.all("/seen/*", seen)
)

const serveApp = HttpServer.serveEffect(app)

/**
 * An endless body (only the reader's backpressure paces it) that reports, when it stops,
 * whether it was interrupted as a client abort.
 */
const endless = (item: string, stoppedByClientAbort: Deferred.Deferred<boolean>) =>
  Stream.unwrapScoped(
    Effect.as(
      Effect.addFinalizer((exit) =>
        Deferred.succeed(
          stoppedByClientAbort,
          Exit.isFailure(exit) && HashSet.has(Cause.interruptors(exit.cause), HttpServerError.clientAbortFiberId)
        )
      ),
      Stream.repeatEffect(Effect.succeed(encoder.encode(item)))
    )
  )

describe("TestClient.layerTest", () => {
  it.scoped("serves an app from the test body and answers through HttpClient", () =>
    Effect.gen(function* () {
      yield* serveApp
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get("/hello")
      expect(response.status).toBe(200)
      expect(yield* response.text).toBe("hello")
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  it.scoped("follows no redirect, keeps 5xx as responses, decodes no content-encoding", () =>
    Effect.gen(function* () {
      yield* serveApp
      const client = yield* HttpClient.HttpClient
      const moved = yield* client.get("/moved")
      expect(moved.status).toBe(302)
      expect(moved.headers.location).toBe("/hello")
      const boom = yield* client.get("/boom")
      expect(boom.status).toBe(500)
      const gzip = yield* client.get("/gzip")
      expect(gzip.headers["content-encoding"]).toBe("gzip")
      expect(new Uint8Array(yield* gzip.arrayBuffer)).toEqual(new Uint8Array(gzipSync("compressed")))
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  it.scoped("the kit's own client works beside it, on the same app", () =>
    Effect.gen(function* () {
      yield* serveApp
      const r = yield* TestClient.get("/hello")
      expect(yield* r.text).toBe("hello")
      // The kit's client reports the server error the HttpClient reads as a 500.
      const error = yield* Effect.flip(TestClient.get("/boom"))
      expect(error._tag).toBe("ServerError")
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  it.scoped("outputs what NodeHttpServer.layerTest outputs", () =>
    Effect.gen(function* () {
      const server = yield* HttpServer.HttpServer
      expect(server.address._tag).toBe("TcpAddress")
      // HttpServer.serve as a layer, built inside the test, as Effect's own suites do.
      yield* Layer.build(HttpServer.serve(app))
      const response = yield* HttpClient.get("/hello")
      expect(yield* response.text).toBe("hello")
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  it.scoped("a request before anything is served fails with a RequestError naming the cause", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(HttpClient.get("/hello"))
      expect(error._tag).toBe("RequestError")
      expect(error.message).toContain("no app is being served")
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  it.effect("after its scope closed, the HttpClient fails with a RequestError, never a defect", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(TestClient.layerTest, scope)
      const client = yield* Effect.provide(HttpClient.HttpClient, context)
      yield* Scope.close(scope, Exit.void)
      const error = yield* Effect.flip(client.get("/hello"))
      expect(error._tag).toBe("RequestError")
      expect(error.message).toContain("scope has closed")
    })
  )

  it.scoped("layerTestWith takes client options: a baseUrl with a path prefix", () =>
    Effect.gen(function* () {
      yield* serveApp
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get("/x?y=1")
      expect(yield* response.json).toMatchObject({ url: "/seen/x?y=1" })
    }).pipe(Effect.provide(TestClient.layerTestWith({ baseUrl: "http://api.test/seen" })))
  )
})

describe("the HttpClient of every TestClient layer", () => {
  it.scoped("TestClient.layer provides it too; a relative URL resolves against baseUrl, an absolute one is kept", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      expect(yield* Effect.flatMap(client.get("/hello"), (r) => r.text)).toBe("hello")
      expect(yield* Effect.flatMap(client.get("http://elsewhere.test/hello"), (r) => r.text)).toBe("hello")
      const exchanges = yield* TestClient.exchanges
      expect(exchanges.map((e) => e.response.url)).toEqual(["http://testserver/hello", "http://elsewhere.test/hello"])
      // The app sees the host of the URL asked for.
      const seenHost = yield* Effect.flatMap(client.get("http://elsewhere.test/seen"), () => TestClient.exchanges)
      expect(seenHost.at(-1)?.request.url).toBe("http://elsewhere.test/seen")
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.scoped("the caller's own URL mapping composes: relative URLs resolve last, absolute ones are kept", () =>
    Effect.gen(function* () {
      const base = yield* HttpClient.HttpClient
      const prefixed = base.pipe(HttpClient.mapRequest(HttpClientRequest.prependUrl("/seen")))
      expect(yield* Effect.flatMap(prefixed.get("/x"), (r) => r.json)).toMatchObject({ url: "/seen/x" })
      const elsewhere = base.pipe(HttpClient.mapRequest(HttpClientRequest.prependUrl("http://api.example.com")))
      const r = yield* elsewhere.get("/hello")
      expect(yield* r.text).toBe("hello")
      const [exchange] = (yield* TestClient.exchanges).slice(-1)
      // The request as sent, with the host Node's client adds; the platform's response is streamed.
      expect(exchange.request.headers.host).toBe("api.example.com")
      expect("body" in exchange.response).toBe(false)
      yield* TestClient.get("/hello")
      expect("body" in (yield* TestClient.exchanges).slice(-1)[0].response).toBe(true)
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.scoped("drainTasks waits for a handler still finishing after its response: its request scope is closed", () =>
    Effect.gen(function* () {
      const upload = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/upload",
          Effect.gen(function* () {
            const request = yield* HttpServerRequest.HttpServerRequest
            const parts = yield* request.multipart
            const file = parts.file as ReadonlyArray<{ readonly path: string }>
            return HttpServerResponse.text(file[0].path)
          })
        )
      )
      yield* Effect.gen(function* () {
        const client = yield* HttpClient.HttpClient
        const form = new FormData()
        form.append("file", new File(["content"], "a.txt"))
        const response = yield* client.execute(
          HttpClientRequest.post("/upload").pipe(HttpClientRequest.bodyFormData(form))
        )
        const path = yield* response.text
        // The platform client returns at the response; the temp file goes when the handler's
        // request scope closes, which drainTasks waits for.
        yield* TestClient.drainTasks
        expect(existsSync(path)).toBe(false)
      }).pipe(Effect.provide(TestClient.layer(upload)))
    })
  )

  it.scoped("a header value Node cannot send is refused with a RequestError saying why", () =>
    Effect.gen(function* () {
      for (const value of ["€", "a\r\nx-injected: 1"]) {
        const error = yield* Effect.flip(
          HttpClient.execute(HttpClientRequest.get("/echo").pipe(HttpClientRequest.setHeader("x-a", value)))
        )
        expect(error._tag === "RequestError" && error.reason).toBe("Encode")
        expect(error.message).toContain("a control character or a character beyond Latin-1")
      }
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.scoped("sends no default headers: only what the request carries and Node's framing", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient.pipe(Effect.map(HttpClient.withTracerPropagation(false)))
      const response = yield* client.get("/seen")
      expect(yield* response.json).toEqual({ method: "GET", url: "/seen", headers: {}, body: 0 })
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.scoped("returns at the headers: an endless SSE body read with Stream.take disconnects the handler", () =>
    Effect.gen(function* () {
      const ended = yield* Deferred.make<boolean>()
      const feed = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/feed",
          Effect.succeed(
            HttpServerResponse.stream(endless("data: tick\n\n", ended), { contentType: "text/event-stream" })
          )
        )
      )
      yield* Effect.gen(function* () {
        const client = yield* HttpClient.HttpClient
        const response = yield* client.get("/feed")
        expect(response.headers["content-type"]).toBe("text/event-stream")
        const ticks = yield* response.stream.pipe(Stream.take(2), Stream.runCollect)
        expect(ticks.length).toBe(2)
        // Ending the body early closes the connection: the handler is interrupted as a client abort.
        expect(yield* Deferred.await(ended)).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(feed)))
    })
  )

  it.scoped("interrupting a pending request disconnects the handler as a client abort", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const interruptedBy = yield* Deferred.make<boolean>()
      const slow = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/slow",
          Deferred.succeed(started, undefined).pipe(
            Effect.zipRight(Effect.never),
            Effect.onInterrupt((ids) =>
              Deferred.succeed(interruptedBy, HashSet.has(ids, HttpServerError.clientAbortFiberId))
            )
          )
        )
      )
      yield* Effect.gen(function* () {
        const client = yield* HttpClient.HttpClient
        const fiber = yield* Effect.fork(client.get("/slow"))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        expect(yield* Deferred.await(interruptedBy)).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(slow)))
    })
  )

  it.scoped("a body left unread when the client's scope closes: the handler is disconnected as a client abort", () =>
    Effect.gen(function* () {
      const interruptedBy = yield* Deferred.make<boolean>()
      const endlessApp = HttpRouter.empty.pipe(
        HttpRouter.get("/endless", Effect.succeed(HttpServerResponse.stream(endless("x", interruptedBy))))
      )
      yield* Effect.gen(function* () {
        const response = yield* HttpClient.get("/endless")
        expect(response.status).toBe(200)
      }).pipe(Effect.provide(TestClient.layer(endlessApp)))
      expect(yield* Deferred.await(interruptedBy)).toBe(true)
    })
  )

  it.scoped("a handler that never answers fails with a RequestError caused by RequestTimeout", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const error = yield* Effect.flip(client.get("/never"))
      expect(error._tag).toBe("RequestError")
      expect(error._tag === "RequestError" && (error.cause as TestClient.RequestTimeout)._tag).toBe("RequestTimeout")
    }).pipe(
      Effect.provide(
        TestClient.layer(HttpRouter.empty.pipe(HttpRouter.get("/never", Effect.never)), { timeout: "100 millis" })
      )
    )
  )

  it.scoped("its spans: the http.client span parents the app's http.server span", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get("/hello")
      yield* response.text
      const clientSpan = yield* TestTracer.findSpan("http.client GET")
      const serverSpan = yield* TestTracer.findSpan("http.server GET", { rootId: clientSpan.spanId })
      expect(serverSpan.attributes.get("http.route")).toBe("/hello")
      expect(serverSpan.traceId).toBe(clientSpan.traceId)
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.scoped("a request body Stream that fails mid-way fails the request, never becomes the app's answer", () =>
    Effect.gen(function* () {
      const upload = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/upload",
          Effect.gen(function* () {
            const request = yield* HttpServerRequest.HttpServerRequest
            yield* request.text
            return HttpServerResponse.text("stored")
          }).pipe(Effect.catchAll(() => HttpServerResponse.text("bad", { status: 400 })))
        )
      )
      const body = Stream.concat(Stream.make(encoder.encode("part one")), Stream.fail(new Error("disk gone")))
      yield* Effect.gen(function* () {
        const client = yield* HttpClient.HttpClient
        const error = yield* Effect.flip(
          client.execute(HttpClientRequest.post("/upload").pipe(HttpClientRequest.bodyStream(body)))
        )
        expect(error._tag === "RequestError" && error.reason).toBe("Encode")
        expect(error.message).toContain("disk gone")
        // And the kit's own client: InvalidRequest, never the app's 400.
        const kit = yield* Effect.flip(TestClient.post("/upload", { body }))
        expect(kit._tag).toBe("InvalidRequest")
        expect(kit.message).toContain("disk gone")
      }).pipe(Effect.provide(TestClient.layer(upload)))
    })
  )
})

/**
 * Node's client decides the framing headers; the in-process HttpClient must send what it
 * sends, so the app sees the same request either way.
 */
describe("request headers: parity with platform-node's client over a socket", () => {
  const requests: ReadonlyArray<readonly [string, HttpClientRequest.HttpClientRequest]> = [
    ["GET", HttpClientRequest.get("/seen")],
    ["POST with no body", HttpClientRequest.post("/seen")],
    ["DELETE with no body", HttpClientRequest.del("/seen")],
    ["PUT text", HttpClientRequest.put("/seen").pipe(HttpClientRequest.bodyText("hello"))],
    ["POST json", HttpClientRequest.post("/seen").pipe(HttpClientRequest.bodyUnsafeJson({ a: 1 }))],
    ["POST a raw string", HttpClientRequest.post("/seen").pipe(HttpClientRequest.setBody(HttpBody.raw("raw text")))],
    [
      "POST a Stream",
      HttpClientRequest.post("/seen").pipe(
        HttpClientRequest.bodyStream(Stream.make(encoder.encode("a"), encoder.encode("b")))
      )
    ],
    ["POST FormData", HttpClientRequest.post("/seen").pipe(HttpClientRequest.bodyFormDataRecord({ a: "1", b: "2" }))],
    ["PATCH urlencoded", HttpClientRequest.patch("/seen").pipe(HttpClientRequest.bodyUrlParams({ q: "x y" }))],
    [
      "a header value with surrounding spaces and tabs",
      HttpClientRequest.get("/seen").pipe(HttpClientRequest.setHeader("x-pad", " \t padded value \t "))
    ],
    [
      "custom headers",
      HttpClientRequest.get("/seen?x=1").pipe(HttpClientRequest.setHeaders({ "x-one": "1", accept: "text/plain" }))
    ]
  ]

  const sendAll = Effect.gen(function* () {
    yield* serveApp
    const client = yield* HttpClient.HttpClient
    return yield* Effect.forEach(requests, ([, request]) =>
      Effect.flatMap(client.execute(request), (response) => response.json)
    )
  })

  it.live("every request reaches the app with the same headers in process as over a socket", () =>
    Effect.gen(function* () {
      const overSocket = yield* sendAll.pipe(Effect.scoped, Effect.provide(NodeHttpServer.layerTest))
      const inProcess = yield* sendAll.pipe(Effect.scoped, Effect.provide(TestClient.layerTest))
      for (let i = 0; i < requests.length; i++) {
        expect([requests[i][0], inProcess[i]]).toEqual([requests[i][0], overSocket[i]])
      }
    })
  )
})
