/**
 * The platform `HttpClient` every TestClient layer provides, and `TestClient.layerTest`, the
 * drop-in for `NodeHttpServer.layerTest` (the port of the Effect 3 edition's
 * `test/HttpClient.test.ts`). On Effect 4 the client of `NodeHttpServer.layerTest` is fetch:
 * the kit's follows fetch's semantics in process, checked against the real server where the
 * answer is production's to give.
 */
import { existsSync } from "node:fs"
import { gzipSync } from "node:zlib"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { TestClient, TestTracer } from "@effect-http-testkit/effect4"
import { Cause, Context, Deferred, Effect, Exit, Fiber, Layer, Option, Scope, Stream } from "effect"
import {
  HttpBody,
  HttpClient,
  HttpClientRequest,
  HttpRouter,
  HttpServer,
  HttpServerError,
  type HttpServerRequest,
  HttpServerResponse
} from "effect/http"

const encoder = new TextEncoder()

/** Whether an exit is an interruption marked as a client abort. */
const isClientAbort = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) &&
  exit.cause.reasons.some(
    (reason) => Cause.isInterruptReason(reason) && reason.annotations.has(HttpServerError.ClientAbort.key)
  )

/** The messages along an error's chain of `cause`s. */
const causeMessages = (error: unknown): ReadonlyArray<string> => {
  const messages: Array<string> = []
  let at: unknown = error
  for (let depth = 0; depth < 10 && at instanceof Error; depth++) {
    messages.push(at.message)
    at = at.cause ?? (at as { readonly reason?: { readonly cause?: unknown } }).reason?.cause
  }
  return messages
}

/** What the app saw of a request, minus what only the transport decides. */
const seen = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const body = yield* Effect.orDie(request.text)
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(request.headers)) {
      // `host` names the origin (127.0.0.1:<port> vs testserver); `connection` is the socket
      // agent's; trace headers carry ids that differ run to run.
      if (name === "host" || name === "connection" || name === "traceparent" || name === "b3") continue
      headers[name] = name === "content-type" ? value.replace(/boundary=.*/, "boundary=…") : value
    }
    return HttpServerResponse.jsonUnsafe({ method: request.method, url: request.url, headers, body: body.length })
  })

const app = Layer.mergeAll(
  HttpRouter.add("GET", "/hello", HttpServerResponse.text("hello")),
  HttpRouter.add("GET", "/moved", HttpServerResponse.redirect("/hello", { status: 302 })),
  HttpRouter.add("GET", "/boom", Effect.die(new Error("boom"))),
  HttpRouter.add(
    "GET",
    "/gzip",
    Effect.sync(() =>
      HttpServerResponse.uint8Array(gzipSync("compressed"), { headers: { "content-encoding": "gzip" } })
    )
  ),
  // `/seen/*` also matches `/seen`.
  HttpRouter.add("*", "/seen/*", seen)
)

const serveApp = HttpRouter.serve(app, { disableListenLog: true, disableLogger: true }).pipe(Layer.build)

/**
 * An endless body (only the reader's backpressure paces it) that reports, when it stops,
 * whether it was interrupted as a client abort.
 */
const endless = (item: string, stoppedByClientAbort: Deferred.Deferred<boolean>) =>
  Stream.fromEffectRepeat(Effect.succeed(encoder.encode(item))).pipe(
    Stream.onExit((exit) => Deferred.succeed(stoppedByClientAbort, isClientAbort(exit)))
  )

describe("TestClient.layerTest", () => {
  it.effect("serves an app from the test body and answers through HttpClient", () =>
    Effect.gen(function* () {
      yield* serveApp
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get("/hello")
      expect(response.status).toBe(200)
      expect(yield* response.text).toBe("hello")
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  // Effect 4: NodeHttpServer.layerTest's client is fetch, which follows redirects and decodes
  // content-encoding (the Effect 3 edition's platform-node client did neither).
  it.effect("follows redirects and decodes content-encoding as fetch does, keeps 5xx as responses", () =>
    Effect.gen(function* () {
      const outcome = Effect.gen(function* () {
        yield* serveApp
        const client = yield* HttpClient.HttpClient
        const moved = yield* client.get("/moved")
        const boom = yield* client.get("/boom")
        const gzip = yield* client.get("/gzip")
        return {
          moved: [moved.status, yield* moved.text],
          boom: [boom.status, yield* boom.text],
          gzip: [gzip.headers["content-encoding"], yield* gzip.text]
        }
      })
      const inProcess = yield* outcome.pipe(Effect.scoped, Effect.provide(TestClient.layerTest))
      const overSocket = yield* outcome.pipe(Effect.scoped, Effect.provide(NodeHttpServer.layerTest))
      expect(overSocket).toEqual({ moved: [200, "hello"], boom: [500, ""], gzip: ["gzip", "compressed"] })
      expect(inProcess).toEqual(overSocket)
    })
  )

  it.effect("the kit's own client works beside it, on the same app", () =>
    Effect.gen(function* () {
      yield* serveApp
      const r = yield* TestClient.get("/hello")
      expect(yield* r.text).toBe("hello")
      // The kit's client reports the server error the HttpClient reads as a 500.
      const error = yield* Effect.flip(TestClient.get("/boom"))
      expect(error._tag).toBe("ServerError")
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  it.effect("outputs what NodeHttpServer.layerTest outputs", () =>
    Effect.gen(function* () {
      const address = Effect.map(Effect.service(HttpServer.HttpServer), (server) => server.address._tag)
      // A TCP address, as the real server has (Effect 4 names it by IP version).
      expect(yield* address).toMatch(/^InetAddressV[46]$/)
      expect(yield* Effect.provide(address, NodeHttpServer.layerTest)).toMatch(/^InetAddressV[46]$/)
      // HttpServer.serve as a layer, built inside the test, as Effect's own suites do.
      yield* Layer.build(HttpServer.serve(Effect.succeed(HttpServerResponse.text("hello"))))
      const response = yield* HttpClient.get("/hello")
      expect(yield* response.text).toBe("hello")
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  it.effect("a request before anything is served fails with a transport error naming the cause", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(HttpClient.get("/hello"))
      expect(error.reason._tag).toBe("TransportError")
      expect(error.message).toContain("not served")
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  it.effect("after its scope closed, the HttpClient fails with a transport error, never a defect", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(TestClient.layerTest, scope)
      const client = Context.get(context, HttpClient.HttpClient)
      yield* Scope.close(scope, Exit.void)
      const exit = yield* Effect.exit(client.get("/hello"))
      expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(false)
      const error = yield* Effect.flip(client.get("/hello"))
      expect(error.reason._tag).toBe("TransportError")
    })
  )
})

describe("the HttpClient of every TestClient layer", () => {
  it.effect("TestClient.layer provides it too; a relative URL resolves against baseUrl", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      expect(yield* Effect.flatMap(client.get("/hello"), (r) => r.text)).toBe("hello")
      yield* client.get("/seen")
      const exchanges = yield* TestClient.exchanges
      expect(exchanges.map((e) => e.request.url)).toEqual(["http://testserver/hello", "http://testserver/seen"])
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  // The base URL's path prefix is kept, as the Effect 3 edition keeps it; an absolute URL is
  // kept as given (NodeHttpServer.layerTest's base is its origin only, which it prepends to an
  // absolute URL too: see the README).
  it.effect("layerTestWith takes client options: a baseUrl with a path prefix; an absolute URL is kept", () =>
    Effect.gen(function* () {
      yield* serveApp
      const relative = yield* HttpClient.get("/x?y=1")
      expect(yield* relative.json).toMatchObject({ url: "/seen/x?y=1" })
      const bare = yield* HttpClient.get("x")
      expect(yield* bare.json).toMatchObject({ url: "/seen/x" })
      const base = yield* HttpClient.get("")
      expect(yield* base.json).toMatchObject({ url: "/seen" })
      const absolute = yield* HttpClient.get("http://elsewhere.test/hello")
      expect(yield* absolute.text).toBe("hello")
      expect(absolute.url).toBe("http://elsewhere.test/hello")
    }).pipe(Effect.provide(TestClient.layerTestWith({ baseUrl: "http://api.test/seen", report: "never" })))
  )

  // fetch refuses them before sending anything (a TypeError from its Headers, or undici's
  // "invalid x-a header"): a TransportError over a socket too, whose message does not always
  // name the header; the kit's does.
  it.effect("a header fetch cannot send is refused with an HttpClientError naming it, as over a socket", () =>
    Effect.gen(function* () {
      const refused = [
        HttpClientRequest.get("/seen").pipe(HttpClientRequest.setHeader("x-a", "€")),
        HttpClientRequest.get("/seen").pipe(HttpClientRequest.setHeader("x-a", "a\r\nx-injected: 1")),
        HttpClientRequest.get("/seen").pipe(HttpClientRequest.setHeader("x-a", "a\u0001b")),
        HttpClientRequest.get("/seen").pipe(HttpClientRequest.setHeader("x a", "1"))
      ]
      const send = Effect.gen(function* () {
        yield* serveApp
        return yield* Effect.forEach(refused, (request) => Effect.flip(HttpClient.execute(request)))
      }).pipe(Effect.scoped)
      const inProcess = yield* Effect.provide(send, TestClient.layerTest)
      const overSocket = yield* Effect.provide(send, NodeHttpServer.layerTest)
      for (const [i, error] of inProcess.entries()) {
        expect(error._tag).toBe("HttpClientError")
        expect(error.reason._tag).toBe(overSocket[i]!.reason._tag)
        expect(error.message).toContain(i === 3 ? '"x a"' : '"x-a"')
      }
      // Surrounding whitespace (CR and LF included) is trimmed, as fetch trims it: sent.
      const sent = yield* Effect.gen(function* () {
        yield* serveApp
        const response = yield* HttpClient.execute(
          HttpClientRequest.get("/seen").pipe(HttpClientRequest.setHeader("x-a", "\r\n value \r\n"))
        )
        return yield* response.json
      }).pipe(Effect.scoped, Effect.provide(TestClient.layerTest))
      expect(sent).toMatchObject({ headers: { "x-a": "value" } })
    })
  )

  // Over a socket (NodeHttpServer.layerTest) the scope close waits for ever here: the Effect 3
  // edition's rule, a client abort, applies.
  it.effect("a body left unread when the client's scope closes: the handler is disconnected as a client abort", () =>
    Effect.gen(function* () {
      const ended = yield* Deferred.make<boolean>()
      const Endless = HttpRouter.add("GET", "/endless", HttpServerResponse.stream(endless("x", ended)))
      const response = yield* Effect.gen(function* () {
        const response = yield* HttpClient.get("/endless")
        expect(response.status).toBe(200)
        return response
      }).pipe(Effect.provide(TestClient.layer(Endless, { report: "never" })))
      expect(yield* Deferred.await(ended)).toBe(true)
      // A read after says the handler was disconnected.
      const error = yield* Effect.flip(Stream.runDrain(response.stream))
      expect(causeMessages(error).join("\n")).toContain("disconnected the handler")
    })
  )

  it.effect("with layerTestWith, a body left unread is disconnected as the client's scope closes", () =>
    Effect.gen(function* () {
      const ended = yield* Deferred.make<boolean>()
      const Endless = HttpRouter.add("GET", "/endless", HttpServerResponse.stream(endless("x", ended)))
      yield* Effect.gen(function* () {
        yield* HttpRouter.serve(Endless, { disableListenLog: true, disableLogger: true }).pipe(Layer.build)
        expect((yield* HttpClient.get("/endless")).status).toBe(200)
      }).pipe(Effect.scoped, Effect.provide(TestClient.layerTestWith({ report: "never" })))
      expect(yield* Deferred.await(ended)).toBe(true)
    })
  )

  // The platform client returns at the headers: the handler's request scope (which deletes
  // the multipart temp file) closes after the response was written.
  it.effect("drainTasks waits for a handler still finishing after its response: its request scope is closed", () =>
    Effect.gen(function* () {
      const Upload = HttpRouter.add("POST", "/upload", (request) =>
        Effect.map(request.multipart, (parts) => {
          const file = parts.file as ReadonlyArray<{ readonly path: string }>
          return HttpServerResponse.text(file[0]!.path)
        })
      )
      yield* Effect.gen(function* () {
        const form = new FormData()
        form.append("file", new File(["content"], "a.txt"))
        const response = yield* HttpClient.execute(
          HttpClientRequest.post("/upload").pipe(HttpClientRequest.bodyFormData(form))
        )
        const path = yield* response.text
        yield* TestClient.drainTasks
        expect(existsSync(path)).toBe(false)
      }).pipe(Effect.provide(TestClient.layer(Upload, { report: "never" })))
    })
  )

  // A streamed body the test is still reading is an exchange in progress, not background work:
  // drainTasks does not wait for its handler (which waits for the test to read on).
  it.effect("drainTasks does not wait for a handler whose streamed body the test is still reading", () =>
    Effect.gen(function* () {
      const ended = yield* Deferred.make<boolean>()
      const Endless = HttpRouter.add("GET", "/endless", HttpServerResponse.stream(endless("x", ended)))
      yield* Effect.gen(function* () {
        const response = yield* HttpClient.get("/endless")
        const first = yield* response.stream.pipe(
          Stream.take(1),
          Stream.runCollect,
          Effect.andThen(TestClient.drainTasks),
          Effect.as("drained")
        )
        expect(first).toBe("drained")
        expect(yield* Deferred.await(ended)).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(Endless, { drainTimeout: "2 seconds", report: "never" })))
    })
  )

  // Effect 4: `mapRequest` runs after the client's own mapping (the base URL is already
  // prepended, in the kit as in NodeHttpServer.layerTest); a prefix goes in `mapRequestInput`.
  it.effect("the caller's own URL mapping composes: a prefix with mapRequestInput, as over a socket", () =>
    Effect.gen(function* () {
      const outcome = Effect.gen(function* () {
        yield* serveApp
        const base = yield* HttpClient.HttpClient
        const prefixed = base.pipe(HttpClient.mapRequestInput(HttpClientRequest.prependUrl("/seen")))
        return yield* Effect.flatMap(prefixed.get("/x"), (r) => r.json)
      })
      const inProcess = yield* outcome.pipe(Effect.scoped, Effect.provide(TestClient.layerTest))
      const overSocket = yield* outcome.pipe(Effect.scoped, Effect.provide(NodeHttpServer.layerTest))
      expect(inProcess).toMatchObject({ url: "/seen/x" })
      expect(overSocket).toMatchObject({ url: "/seen/x" })
      // The platform's response is streamed: the exchange log holds no buffered body for it.
      yield* Effect.gen(function* () {
        yield* HttpClient.get("/hello")
        expect("body" in (yield* TestClient.exchanges).slice(-1)[0].response).toBe(false)
        yield* TestClient.get("/hello")
        expect("body" in (yield* TestClient.exchanges).slice(-1)[0].response).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  // Effect 4: fetch sends its own defaults (accept, accept-language, sec-fetch-mode,
  // user-agent, accept-encoding); the kit's HttpClient sends what fetch sends.
  it.effect("sends the request's headers and fetch's defaults, as NodeHttpServer.layerTest's client does", () =>
    Effect.gen(function* () {
      const outcome = Effect.gen(function* () {
        yield* serveApp
        const response = yield* HttpClient.get("/seen")
        return yield* response.json
      }).pipe(Effect.provideService(HttpClient.TracerPropagationEnabled, false), Effect.scoped)
      const inProcess = yield* Effect.provide(outcome, TestClient.layerTest)
      const overSocket = yield* Effect.provide(outcome, NodeHttpServer.layerTest)
      expect(inProcess).toEqual(overSocket)
      expect(inProcess).toEqual({
        method: "GET",
        url: "/seen",
        headers: {
          accept: "*/*",
          "accept-language": "*",
          "sec-fetch-mode": "cors",
          "user-agent": "node",
          "accept-encoding": "gzip, deflate"
        },
        body: 0
      })
    })
  )

  it.effect("returns at the headers: an endless SSE body read with Stream.take disconnects the handler", () =>
    Effect.gen(function* () {
      const ended = yield* Deferred.make<boolean>()
      const feed = HttpRouter.add(
        "GET",
        "/feed",
        HttpServerResponse.stream(endless("data: tick\n\n", ended), { contentType: "text/event-stream" })
      )
      yield* Effect.gen(function* () {
        const client = yield* HttpClient.HttpClient
        const response = yield* client.get("/feed")
        expect(response.headers["content-type"]).toBe("text/event-stream")
        const ticks = yield* response.stream.pipe(Stream.take(2), Stream.runCollect)
        expect(Array.from(ticks).length).toBe(2)
        // Ending the body early closes the connection: the handler is interrupted as a client abort.
        expect(yield* Deferred.await(ended)).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(feed)))
    })
  )

  it.effect("interrupting a pending request disconnects the handler as a client abort", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const ended = yield* Deferred.make<boolean>()
      const slow = HttpRouter.add(
        "GET",
        "/slow",
        Deferred.succeed(started, undefined).pipe(
          Effect.andThen(Effect.never),
          Effect.onExit((exit) => Deferred.succeed(ended, isClientAbort(exit))),
          Effect.as(HttpServerResponse.text("never"))
        )
      )
      yield* Effect.gen(function* () {
        const client = yield* HttpClient.HttpClient
        const fiber = yield* Effect.forkChild(client.get("/slow"))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        expect(yield* Deferred.await(ended)).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(slow)))
    })
  )

  // The Effect 3 edition's error is a RequestError caused by TestClient.RequestTimeout; Effect 4's
  // HttpClientError here is a TransportError saying so.
  it.effect("a handler that never answers fails with a transport error after the timeout", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const error = yield* Effect.flip(client.get("/never"))
      expect(error.reason._tag).toBe("TransportError")
      expect(error.message).toContain("no response within 100 ms (the handler was interrupted)")
    }).pipe(Effect.provide(TestClient.layer(HttpRouter.add("GET", "/never", Effect.never), { timeout: "100 millis" })))
  )

  it.effect("its spans: the client span parents the app's server span", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get("/hello")
      yield* response.text
      const clientSpan = yield* TestTracer.findSpan("GET", { kind: "client" })
      const serverSpan = yield* TestTracer.findSpan("GET", { rootId: clientSpan.spanId, kind: "server" })
      expect(serverSpan.parentSpanId).toBe(clientSpan.spanId)
      expect(yield* TestTracer.getAttribute(serverSpan.spanId, "http.route")).toEqual(Option.some("/hello"))
      expect(serverSpan.traceId).toBe(clientSpan.traceId)
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.effect("a request body Stream that fails mid-way fails the request, never becomes the app's answer", () =>
    Effect.gen(function* () {
      const upload = HttpRouter.add("POST", "/upload", (request) =>
        request.text.pipe(
          Effect.as(HttpServerResponse.text("stored")),
          Effect.catch(() => Effect.succeed(HttpServerResponse.text("bad", { status: 400 })))
        )
      )
      const body = Stream.concat(Stream.make(encoder.encode("part one")), Stream.fail(new Error("disk gone")))
      const send = Effect.gen(function* () {
        yield* HttpRouter.serve(upload, { disableListenLog: true, disableLogger: true }).pipe(Layer.build)
        const client = yield* HttpClient.HttpClient
        return yield* Effect.flip(
          client.execute(HttpClientRequest.post("/upload").pipe(HttpClientRequest.bodyStream(body)))
        )
      }).pipe(Effect.scoped)
      for (const error of [
        yield* Effect.provide(send, TestClient.layerTest),
        yield* Effect.provide(send, NodeHttpServer.layerTest)
      ]) {
        expect(error.reason._tag).toBe("TransportError")
        // The stream's failure is in the error's chain of causes (fetch wraps it in a TypeError).
        expect(causeMessages(error)).toContain("disk gone")
      }
      // And the kit's own client: InvalidRequest, never the app's 400.
      const kit = yield* Effect.flip(TestClient.post("/upload", { body })).pipe(
        Effect.provide(TestClient.layer(upload))
      )
      expect(kit._tag).toBe("InvalidRequest")
      expect(kit.message).toContain("disk gone")
    })
  )
})

/**
 * Effect 4's fetch client decides the framing and default headers; the in-process HttpClient
 * must send what it sends, so the app sees the same request either way.
 */
describe("request headers: parity with NodeHttpServer.layerTest's client over a socket", () => {
  // fetch adds `content-length: 0` to a POST, PUT or PATCH with no body, and types a raw string
  // `text/plain;charset=UTF-8` and a URLSearchParams urlencoded.
  const requests: ReadonlyArray<readonly [string, HttpClientRequest.HttpClientRequest]> = [
    ["GET", HttpClientRequest.get("/seen")],
    ["DELETE with no body", HttpClientRequest.delete("/seen")],
    ["POST with no body", HttpClientRequest.post("/seen")],
    ["PUT with no body", HttpClientRequest.put("/seen")],
    ["PATCH with no body", HttpClientRequest.patch("/seen")],
    ["POST a raw string", HttpClientRequest.post("/seen").pipe(HttpClientRequest.setBody(HttpBody.raw("hello")))],
    [
      "POST raw bytes",
      HttpClientRequest.post("/seen").pipe(HttpClientRequest.setBody(HttpBody.raw(encoder.encode("hello"))))
    ],
    [
      "POST a raw URLSearchParams",
      HttpClientRequest.post("/seen").pipe(HttpClientRequest.setBody(HttpBody.raw(new URLSearchParams({ q: "x y" }))))
    ],
    [
      "POST a raw string with its own content-type",
      HttpClientRequest.post("/seen").pipe(
        HttpClientRequest.setBody(HttpBody.raw("{}", { contentType: "application/json" }))
      )
    ],
    ["PUT text", HttpClientRequest.put("/seen").pipe(HttpClientRequest.bodyText("hello"))],
    ["POST json", HttpClientRequest.post("/seen").pipe(HttpClientRequest.bodyJsonUnsafe({ a: 1 }))],
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
