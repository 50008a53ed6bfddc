/**
 * The socket transport: the same app and API over real connections, its address for other
 * tools, its errors, and nothing of it left once the client's scope closes.
 */
import * as Http from "node:http"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { WebSocket } from "@effect/platform-node/NodeWS"
import { describe, expect, it } from "@effect/vitest"
import { contentLengthMismatches, contentLengthOptions } from "@effect-http-testkit/core/scenarios"
import { TestClient, TestRequest, TestTracer } from "@effect-http-testkit/effect4"
import { ByteSize, Cause, Deferred, Effect, Exit, Fiber, Layer, Option, Scope, Stream } from "effect"
import {
  HttpClient,
  HttpIncomingMessage,
  HttpRouter,
  HttpServer,
  HttpServerRequest,
  HttpServerResponse
} from "effect/http"
import * as Socket from "effect/socket/Socket"

const encoder = new TextEncoder()

/** What the app saw of a request: the part a client decides (no Host: that is the origin). */
const echo = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const { host: _host, ...headers } = request.headers
  return HttpServerResponse.jsonUnsafe({
    method: request.method,
    url: request.url,
    headers,
    body: yield* request.text,
    remoteAddress: Option.getOrNull(request.remoteAddress)
  })
})

const Routes = Layer.mergeAll(
  HttpRouter.add("*", "/echo", echo),
  HttpRouter.add("GET", "/greet", HttpServerResponse.text("hello", { headers: { "x-kind": "greeting" } })),
  HttpRouter.add(
    "GET",
    "/chat",
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const socket = yield* request.upgrade
      const { write } = yield* socket.writer
      const { pull } = yield* socket.reader
      // Echoes until the client closes.
      yield* Effect.forever(
        Effect.flatMap(pull, (frames) =>
          Effect.forEach(frames, (frame) => write(typeof frame === "string" ? `echo: ${frame}` : frame), {
            discard: true
          })
        )
      ).pipe(Effect.ignore)
      return HttpServerResponse.empty()
    })
  )
)

/** Node's own handles of the kinds a socket transport opens. */
const networkHandles = () =>
  process.getActiveResourcesInfo().filter((kind) => kind === "TCPServerWrap" || kind === "TCPSocketWrap").length

/** A ws client's first message (as text), then it closes. */
const wsRoundTrip = (url: string, message: string) =>
  Effect.callback<string, Error>((resume) => {
    const ws = new WebSocket(url)
    ws.on("open", () => ws.send(message))
    ws.on("message", (data) => {
      resume(Effect.succeed(String(data)))
      ws.close(1000)
    })
    ws.on("error", (error) => resume(Effect.fail(error)))
  })

/** An app whose `/hang` never answers: `started` once it runs, `released` once its finalizer has run. */
const hangingApp = Effect.gen(function* () {
  const started = yield* Deferred.make<void>()
  const released = yield* Deferred.make<void>()
  const hanging = HttpRouter.add(
    "GET",
    "/hang",
    Effect.andThen(
      Effect.addFinalizer(() => Deferred.succeed(released, undefined)),
      Effect.andThen(Deferred.succeed(started, undefined), Effect.never)
    )
  )
  return { hanging, started, released }
})

/** A port nothing listens on (one a probe server just released). */
const freePort = Effect.callback<number>((resume) => {
  const probe = Http.createServer()
  probe.listen(0, "127.0.0.1", () => {
    const port = (probe.address() as { port: number }).port
    probe.close(() => resume(Effect.succeed(port)))
  })
})

describe("transport: socket", () => {
  it.effect("TestClient.address hands the app to plain fetch and a ws client, which get what the kit gets", () =>
    Effect.gen(function* () {
      const address = yield* TestClient.address
      expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

      const viaKit = yield* TestClient.get("/greet")
      const viaFetch = yield* Effect.promise(async () => {
        const response = await fetch(`${address}/greet`)
        return { status: response.status, kind: response.headers.get("x-kind"), text: await response.text() }
      })
      expect(viaFetch).toEqual({ status: viaKit.status, kind: viaKit.headers["x-kind"], text: yield* viaKit.text })
      expect(viaFetch).toEqual({ status: 200, kind: "greeting", text: "hello" })
      // The server runs in this process: the kit's response names its server span.
      const span = yield* TestTracer.getSpan(viaKit.spanId)
      expect([span.kind, span.attributes.get("http.route")]).toEqual(["server", "/greet"])

      const kitSocket = yield* TestClient.websocket("/chat")
      yield* kitSocket.send("hi")
      const viaKitSocket = yield* kitSocket.receiveText
      const viaWs = yield* wsRoundTrip(`${address.replace(/^http/, "ws")}/chat`, "hi")
      expect(viaWs).toBe(viaKitSocket)
      expect(viaWs).toBe("echo: hi")
    }).pipe(Effect.provide(TestClient.layer(Routes, { transport: "socket" })))
  )

  it.effect("over a socket the app's request is platform-node's own: toIncomingMessage gives the real one", () =>
    Effect.gen(function* () {
      const peer = HttpRouter.add(
        "GET",
        "/peer",
        Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
          const incoming = NodeHttpServerRequest.toIncomingMessage(request)
          return HttpServerResponse.jsonUnsafe({
            httpVersion: incoming.httpVersion,
            local: incoming.socket.localAddress,
            peer: incoming.socket.remoteAddress
          })
        })
      )
      const r = yield* Effect.provide(TestClient.get("/peer"), TestClient.layer(peer, { transport: "socket" }))
      expect(yield* r.json).toEqual({ httpVersion: "1.1", local: "127.0.0.1", peer: "127.0.0.1" })
    })
  )

  it.effect("the app sees the same request through either transport", () =>
    Effect.gen(function* () {
      const send = (transport: "in-process" | "socket") =>
        Effect.flatMap(
          Effect.provide(
            Effect.all([
              TestClient.get("/echo?q=1", { headers: { "x-one": "a" }, cookies: { sid: "s1" } }),
              TestClient.post("/echo", { json: { name: "Ada" } }),
              TestClient.post("/echo", { body: Stream.make(encoder.encode("str"), encoder.encode("eamed")) }),
              TestClient.post("/echo")
            ]),
            TestClient.layer(Routes, { transport })
          ),
          (responses) => Effect.forEach(responses, (response) => response.json)
        )
      const inProcess = yield* send("in-process")
      const overSocket = yield* send("socket")
      expect(overSocket).toEqual(inProcess)
      expect(inProcess[0]).toMatchObject({ url: "/echo?q=1", headers: { "x-one": "a", cookie: "sid=s1" } })
      expect(inProcess[2]).toMatchObject({ body: "streamed", headers: { "transfer-encoding": "chunked" } })
    })
  )

  it.effect("after the scope closes no server or socket of the transport is left", () =>
    Effect.gen(function* () {
      const before = networkHandles()
      const started = yield* Deferred.make<void>()
      const finalized = yield* Deferred.make<void>()
      const slow = Layer.mergeAll(
        HttpRouter.add(
          "GET",
          "/slow",
          HttpServerResponse.stream(
            Stream.concat(
              Stream.make(encoder.encode("first")),
              Stream.fromEffect(Effect.andThen(Deferred.succeed(started, undefined), Effect.never))
            ).pipe(Stream.ensuring(Deferred.succeed(finalized, undefined)))
          )
        ),
        Routes
      )
      const during = yield* Effect.scoped(
        Effect.gen(function* () {
          yield* TestClient.get("/greet")
          yield* TestClient.websocket("/chat")
          // A stream left open, disconnected by the scope close.
          yield* TestClient.stream("GET", "/slow")
          yield* Deferred.await(started)
          return networkHandles()
        }).pipe(Effect.provide(TestClient.layer(slow, { transport: "socket" })))
      )
      expect(during).toBeGreaterThan(before)
      // The handler was disconnected and its finalizers ran before the scope close returned.
      expect(yield* Deferred.isDone(finalized)).toBe(true)
      expect(networkHandles()).toBe(before)
    })
  )

  it.effect(
    "a port in use gives SocketUnavailable naming it, on requests, streams, WebSockets, HttpClient and address",
    () =>
      Effect.gen(function* () {
        const holder = Http.createServer()
        const port = yield* Effect.callback<number>((resume) => {
          holder.listen(0, "127.0.0.1", () => resume(Effect.succeed((holder.address() as { port: number }).port)))
        })
        yield* Effect.addFinalizer(() =>
          Effect.callback<void>((resume) => {
            holder.close(() => resume(Effect.void))
          })
        )
        const before = networkHandles()
        const [request, stream, websocket, address, platform] = yield* Effect.provide(
          Effect.all([
            Effect.flip(TestClient.get("/greet")),
            Effect.flip(Effect.scoped(TestClient.stream("GET", "/greet"))),
            Effect.flip(Effect.scoped(TestClient.websocket("/chat"))),
            Effect.flip(TestClient.address),
            Effect.flip(HttpClient.get("/greet"))
          ]),
          TestClient.layer(Routes, { transport: "socket", port })
        )
        for (const error of [request, stream, websocket, address]) {
          expect(error._tag).toBe("SocketUnavailable")
          expect(error.message).toContain(`127.0.0.1:${port}`)
          expect(error.message).toContain("EADDRINUSE")
          expect(error.message).toContain("port: 0")
        }
        expect(platform.message).toContain(`127.0.0.1:${port}`)
        expect(platform.message).toContain("EADDRINUSE")
        // The server that could not listen left nothing behind.
        expect(networkHandles()).toBe(before)
      })
  )

  it.effect(
    "scope close interrupts another tool's request too, as production's shutdown does, and awaits its finalizers",
    () =>
      Effect.gen(function* () {
        const { hanging, started, released } = yield* hangingApp
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(TestClient.layer(hanging, { transport: "socket" }), scope)
        const address = yield* Effect.provide(TestClient.address, context)
        const outcome = Effect.runPromise(
          Effect.callback<string>((resume) => {
            Http.get(`${address}/hang`, (response) => resume(Effect.succeed(`status ${response.statusCode}`))).on(
              "error",
              (error) => resume(Effect.succeed(`error: ${error.message}`))
            )
          })
        )
        yield* Deferred.await(started)
        yield* Scope.close(scope, Exit.void)
        expect(yield* Deferred.isDone(released)).toBe(true)
        // platform-node answers a handler interrupted by the shutdown (no socket is left either way).
        expect(yield* Effect.promise(() => outcome)).toBe("status 503")
      })
  )

  it.effect("the app of a socket client listens on the port it was given", () =>
    Effect.gen(function* () {
      const free = yield* freePort
      const address = yield* Effect.provide(
        TestClient.address,
        TestClient.layer(Routes, { transport: "socket", port: free })
      )
      expect(address).toBe(`http://127.0.0.1:${free}`)
    })
  )

  it.effect("an in-process client has no address: SocketUnavailable says how to get one", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.address)
      expect(error._tag).toBe("SocketUnavailable")
      expect(error.message).toContain('transport: "socket"')
      expect(error.message).toContain("EFFECT_HTTP_TESTKIT_TRANSPORT")
    }).pipe(Effect.provide(TestClient.layer(Routes, { transport: "in-process" })))
  )

  it.effect("bad transport options fail requests with InvalidRequest saying what to fix", () =>
    Effect.gen(function* () {
      const problem = (options: TestClient.Options) =>
        Effect.map(
          Effect.flip(Effect.provide(TestClient.get("/greet"), TestClient.layer(Routes, options))),
          (error) => {
            expect(error._tag).toBe("InvalidRequest")
            return error.message
          }
        )
      expect(yield* problem({ transport: "tcp" as "socket" })).toContain(
        'transport must be "in-process" or "socket", got "tcp"'
      )
      expect(yield* problem({ transport: "in-process", port: 8080 })).toContain(
        'port applies to transport "socket" only'
      )
      expect(yield* problem({ transport: "socket", port: 70000 })).toContain(
        "port must be a whole number from 0 (a free port) to 65535, got 70000"
      )
      expect(yield* problem({ transport: "socket", remoteAddress: "10.0.0.7" })).toContain(
        'remoteAddress cannot be set with transport "socket"'
      )
      // With invalid options no socket is opened: the address says why.
      const address = yield* Effect.flip(
        Effect.provide(TestClient.address, TestClient.layer(Routes, { transport: "socket", port: -1 }))
      )
      expect(address._tag).toBe("SocketUnavailable")
      expect(address.message).toContain("no socket was opened, because the client's options are invalid")
      expect(address.message).toContain("port must be a whole number")
    })
  )

  it.effect("the environment variable picks the transport when no option does, and a bad value is named", () =>
    Effect.gen(function* () {
      const variable = "EFFECT_HTTP_TESTKIT_TRANSPORT"
      const saved = process.env[variable]
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (saved === undefined) delete process.env[variable]
          else process.env[variable] = saved
        })
      )
      process.env[variable] = "socket"
      const address = yield* Effect.provide(TestClient.address, TestClient.layer(Routes))
      expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      // An explicit option wins over the variable.
      const inProcess = yield* Effect.flip(
        Effect.provide(TestClient.address, TestClient.layer(Routes, { transport: "in-process" }))
      )
      expect(inProcess._tag).toBe("SocketUnavailable")
      process.env[variable] = "sockets"
      const bad = yield* Effect.flip(Effect.provide(TestClient.get("/greet"), TestClient.layer(Routes)))
      expect(bad.message).toContain(
        `the environment variable ${variable} must be "in-process" or "socket", got "sockets"`
      )
    })
  )

  it.effect("a socket client's scope close disconnects a handler still running and awaits its finalizers", () =>
    Effect.gen(function* () {
      const { hanging, started, released } = yield* hangingApp
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(TestClient.layer(hanging, { transport: "socket" }), scope)
      const request = yield* Effect.forkChild(Effect.provide(TestClient.get("/hang"), context))
      yield* Deferred.await(started)
      yield* Scope.close(scope, Exit.void)
      expect(yield* Deferred.isDone(released)).toBe(true)
      const exit = yield* Fiber.await(request)
      expect(Exit.isFailure(exit)).toBe(true)
    })
  )
})

describe("transport: socket, the other layers and bounds", () => {
  it.effect(
    "layerTestWith serves the test's own app over a socket: HttpServer.serve, its HttpClient, the address",
    () =>
      Effect.gen(function* () {
        yield* HttpServer.serveEffect()(Effect.succeed(HttpServerResponse.text("served by the test")))
        const viaClient = yield* Effect.flatMap(HttpClient.get("/"), (response) => response.text)
        const address = yield* TestClient.address
        const viaFetch = yield* Effect.promise(() => fetch(`${address}/`).then((response) => response.text()))
        expect([viaClient, viaFetch]).toEqual(["served by the test", "served by the test"])
      }).pipe(Effect.provide(TestClient.layerTestWith({ transport: "socket" })))
  )

  it.effect("a handler that ignores interruption fails the scope close with DrainTimeout naming it, on time", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const stubborn = HttpRouter.add(
        "GET",
        "/stubborn",
        Effect.uninterruptible(Effect.andThen(Deferred.succeed(started, undefined), Deferred.await(release))).pipe(
          Effect.as(HttpServerResponse.empty())
        )
      )
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        TestClient.layer(stubborn, { transport: "socket", drainTimeout: "200 millis" }),
        scope
      )
      yield* Effect.forkChild(Effect.provide(TestClient.get("/stubborn"), context))
      yield* Deferred.await(started)
      const closed = yield* Effect.exit(Scope.close(scope, Exit.void))
      // Let the handler end, so nothing outlives the test.
      yield* Deferred.succeed(release, undefined)
      expect(Exit.isFailure(closed)).toBe(true)
      const pretty = Exit.isFailure(closed) ? Cause.pretty(closed.cause) : ""
      expect(pretty).toContain("DrainTimeout")
      expect(pretty).toContain("GET /stubborn")
    })
  )
})

describe("transport: the same answers both ways", () => {
  const both = ["in-process", "socket"] as const

  it.effect("a WebSocket handshake the app never accepts is cut at the timeout and its handler interrupted", () =>
    Effect.gen(function* () {
      for (const transport of both) {
        const interrupted = yield* Deferred.make<void>()
        const never = HttpRouter.add(
          "GET",
          "/never",
          Effect.onInterrupt(Effect.never, () => Deferred.succeed(interrupted, undefined))
        )
        const error = yield* Effect.flip(
          Effect.scoped(
            Effect.provide(
              TestClient.websocket("/never", { timeout: "200 millis" }),
              TestClient.layer(never, { transport, drainTimeout: "5 seconds" })
            )
          )
        )
        expect([transport, error._tag]).toEqual([transport, "RequestTimeout"])
        expect(error.message).toContain("interrupted as a client abort")
        expect(yield* Deferred.isDone(interrupted)).toBe(true)
      }
    })
  )

  it.effect("requests Node's server refuses are refused alike: bad framing 400, an unknown expectation 417", () =>
    Effect.gen(function* () {
      const requests: ReadonlyArray<readonly [string, TestClient.RequestOptions]> = [
        ["expect: foo", { headers: { expect: "foo" } }],
        ["expect: 100-continue", { headers: { expect: "100-continue" }, body: "hi" }],
        ["transfer-encoding and content-length", { headers: { "transfer-encoding": "chunked" }, body: "hi" }],
        ["content-length: abc", { headers: { "content-length": "abc" }, body: "hi" }],
        ["transfer-encoding: gzip", { headers: { "transfer-encoding": "gzip" }, body: "hi" }]
      ]
      const statuses = (transport: "in-process" | "socket") =>
        Effect.provide(
          Effect.forEach(requests, ([name, options]) =>
            Effect.map(TestClient.post("/echo", options), (r) => `${name}: ${r.status}`)
          ),
          TestClient.layer(Routes, { transport })
        )
      const inProcess = yield* statuses("in-process")
      expect(yield* statuses("socket")).toEqual(inProcess)
      expect(inProcess).toEqual([
        "expect: foo: 417",
        "expect: 100-continue: 200",
        // The kit sends the test's transfer-encoding alone (no content-length of its own).
        "transfer-encoding and content-length: 200",
        "content-length: abc: 400",
        "transfer-encoding: gzip: 400"
      ])
    })
  )

  it.effect("a content-length the test gives must match the body, or the request fails with InvalidRequest", () =>
    Effect.gen(function* () {
      const bytes = (chunks: ReadonlyArray<string>) => Stream.fromIterable(chunks.map((chunk) => encoder.encode(chunk)))
      for (const transport of both) {
        const layer = TestClient.layer(Routes, { transport, report: "never" })
        for (const mismatch of contentLengthMismatches) {
          const error = yield* Effect.flip(TestClient.post("/echo", contentLengthOptions(mismatch, bytes))).pipe(
            Effect.provide(layer)
          )
          expect([transport, mismatch.name, error._tag]).toEqual([transport, mismatch.name, "InvalidRequest"])
          expect(error.message).toContain(mismatch.says)
          expect(error.message).toContain("drop the header")
        }
        // TestClient.stream checks a Stream body the same way.
        const streamed = yield* Effect.flip(
          Effect.scoped(TestClient.stream("POST", "/echo", { headers: { "content-length": "1" }, body: bytes(["AB"]) }))
        ).pipe(Effect.provide(layer))
        expect(streamed.message).toContain("says 1 but the Stream body gave more")
        // A Stream body of the length it declares is sent as it is: with that header, unchunked.
        const seen = yield* Effect.flatMap(
          TestClient.post("/echo", { headers: { "content-length": "2" }, body: bytes(["A", "B"]) }),
          (r) => r.json
        ).pipe(Effect.provide(layer))
        expect(seen).toMatchObject({ body: "AB", headers: { "content-length": "2" } })
        expect((seen as { headers: Record<string, string> }).headers["transfer-encoding"]).toBeUndefined()
      }
      // A request handed to a handler directly is checked too.
      const direct = yield* Effect.flip(
        TestRequest.make("POST", "/echo", { headers: { "content-length": "1" }, body: bytes(["A", "B"]) })
      )
      expect(direct.message).toContain("says 1 but the body is 2 bytes")
    })
  )

  it.effect("the platform HttpClient gets a whole response while the handler's finalizers still run", () =>
    Effect.gen(function* () {
      for (const transport of both) {
        const release = yield* Deferred.make<void>()
        const finalized = yield* Deferred.make<void>()
        const lingering = HttpRouter.add(
          "GET",
          "/f",
          Effect.andThen(
            Effect.addFinalizer(() => Effect.andThen(Deferred.await(release), Deferred.succeed(finalized, undefined))),
            Effect.succeed(HttpServerResponse.text("ok"))
          )
        )
        yield* Effect.gen(function* () {
          const response = yield* HttpClient.get("/f")
          expect([transport, response.status, yield* response.text]).toEqual([transport, 200, "ok"])
          expect(yield* Deferred.isDone(finalized)).toBe(false)
          yield* Deferred.succeed(release, undefined)
          yield* Deferred.await(finalized)
        }).pipe(Effect.provide(TestClient.layer(lingering, { transport })))
      }
    })
  )

  it.effect("a body over the app's MaxBodySize is answered alike", () =>
    Effect.gen(function* () {
      const limited = HttpRouter.add(
        "POST",
        "/limited",
        Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => request.text).pipe(
          Effect.as(HttpServerResponse.text("read")),
          Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(10))
        )
      )
      const outcomes: Array<unknown> = []
      for (const transport of both) {
        const outcome = yield* Effect.provide(
          TestClient.post("/limited", { body: "x".repeat(100_000) }),
          TestClient.layer(limited, { transport, serverErrors: "respond" })
        )
        outcomes.push(outcome.status)
      }
      expect(outcomes).toEqual([413, 413])
    })
  )

  it.effect("Socket.makeWebSocket reads a burst the app sends and closes with right after the upgrade", () =>
    Effect.gen(function* () {
      const burst = HttpRouter.add(
        "GET",
        "/burst",
        Effect.gen(function* () {
          const socket = yield* (yield* HttpServerRequest.HttpServerRequest).upgrade
          const { write } = yield* socket.writer
          yield* socket.reader
          for (const message of ["a", "b", "c"]) yield* write(message)
          yield* write(new Socket.CloseEvent(1000, "done"))
          return HttpServerResponse.empty()
        })
      )
      const ends: Array<string> = []
      for (const transport of both) {
        const received = yield* Effect.gen(function* () {
          const socket = yield* Socket.makeWebSocket("/burst")
          const { pull } = yield* socket.reader
          const messages: Array<string> = []
          const end = yield* Effect.exit(
            Effect.forever(
              Effect.flatMap(pull, (frames) =>
                Effect.sync(() => {
                  for (const data of frames)
                    messages.push(typeof data === "string" ? data : new TextDecoder().decode(data))
                })
              )
            )
          )
          return [messages, Exit.isFailure(end) ? String(Cause.squash(end.cause)) : "ended"] as const
        }).pipe(
          Effect.provide(TestClient.layerWebSocketConstructor),
          Effect.provide(TestClient.layer(burst, { transport }))
        )
        ends.push(received[1])
        expect([transport, received[0]]).toEqual([transport, ["a", "b", "c"]])
      }
      // The app's close (1000, "done") ends the reader alike.
      expect(ends[1]).toBe(ends[0])
    })
  )

  it.effect("a request that asks to upgrade, answered with plain HTTP, leaves the next request unharmed", () =>
    Effect.gen(function* () {
      for (const transport of both) {
        const statuses = yield* Effect.provide(
          Effect.all([
            Effect.map(
              TestClient.get("/greet", { headers: { upgrade: "h2c", connection: "Upgrade" } }),
              (r) => r.status
            ),
            Effect.map(TestClient.get("/greet"), (r) => r.status)
          ]),
          TestClient.layer(Routes, { transport })
        )
        expect([transport, statuses]).toEqual([transport, [200, 200]])
      }
    })
  )

  it.effect("the handshake's version header, when the test gives one, is what the app sees", () =>
    Effect.gen(function* () {
      const version = HttpRouter.add(
        "GET",
        "/version",
        Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
          HttpServerResponse.text(request.headers["sec-websocket-version"] ?? "", { status: 426 })
        )
      )
      for (const transport of both) {
        const rejected = yield* Effect.flip(
          Effect.scoped(
            Effect.provide(
              TestClient.websocket("/version", { headers: { "sec-websocket-version": "8" } }),
              TestClient.layer(version, { transport })
            )
          )
        )
        expect([transport, rejected._tag === "WebSocketRejected" && new TextDecoder().decode(rejected.body)]).toEqual([
          transport,
          "8"
        ])
      }
    })
  )

  it.effect("a body that fails short of its Content-Length fails, with the bytes sent before", () =>
    Effect.gen(function* () {
      for (const transport of both) {
        const read = yield* Deferred.make<void>()
        const failing = (after: Effect.Effect<void>) =>
          HttpServerResponse.stream(
            Stream.concat(
              Stream.make(encoder.encode("part")),
              Stream.fromEffect(Effect.andThen(after, Effect.fail(new Error("disk read failed"))))
            ),
            { headers: { "content-length": "100" } }
          )
        const download = Layer.mergeAll(
          HttpRouter.add("GET", "/download", failing(Effect.void)),
          // Fails once the test has read the first chunk.
          HttpRouter.add("GET", "/download-slowly", failing(Deferred.await(read)))
        )
        const outcome = yield* Effect.gen(function* () {
          const buffered = yield* Effect.flip(TestClient.get("/download"))
          const streamed = yield* TestClient.stream("GET", "/download-slowly")
          const chunks: Array<string> = []
          const failure = yield* streamed.stream.pipe(
            Stream.runForEach((chunk) =>
              Effect.andThen(
                Effect.sync(() => chunks.push(new TextDecoder().decode(chunk))),
                Deferred.succeed(read, undefined)
              )
            ),
            Effect.flip
          )
          return [buffered._tag, chunks.join(""), failure._tag, String(failure)]
        }).pipe(Effect.provide(TestClient.layer(download, { transport, timeout: "20 seconds" })))
        expect([transport, ...outcome.slice(0, 3)]).toEqual([transport, "ServerError", "part", "HttpClientError"])
        expect(outcome[3]).toContain("disk read failed")
      }
    })
  )

  it.effect("an invalid status dies as Node's writeHead makes it; header values arrive trimmed both ways", () =>
    Effect.gen(function* () {
      const quirks = Layer.mergeAll(
        HttpRouter.add("GET", "/status/:code", (request) =>
          Effect.succeed(
            HttpServerResponse.empty({ status: Number(new URL(request.url, "http://x").pathname.split("/")[2]) })
          )
        ),
        HttpRouter.add(
          "GET",
          "/padded",
          Effect.succeed(
            HttpServerResponse.text("ok", { headers: { "x-padded": "  value\t" } }).pipe(
              HttpServerResponse.setHeader("set-cookie", " sid=1; Path=/ ")
            )
          )
        )
      )
      const answers = (transport: "in-process" | "socket") =>
        Effect.gen(function* () {
          const invalid = yield* Effect.flip(TestClient.get("/status/42"))
          const padded = yield* TestClient.get("/padded")
          return {
            invalid:
              invalid._tag === "ServerError" ? [invalid.status, String(Cause.squash(invalid.cause))] : invalid._tag,
            padded: [padded.headers["x-padded"], padded.setCookie, yield* TestClient.cookieHeader()]
          }
        }).pipe(Effect.provide(TestClient.layer(quirks, { transport })))
      const inProcess = yield* answers("in-process")
      const overSocket = yield* answers("socket")
      expect(overSocket.invalid).toEqual(inProcess.invalid)
      expect(inProcess.invalid).toEqual([500, "RangeError: Invalid final response status: 42"])
      // Header values are as Node's parser hands them: trimmed, both ways.
      expect(overSocket.padded).toEqual(["value", ["sid=1; Path=/"], "sid=1"])
      expect(inProcess.padded).toEqual(overSocket.padded)
    })
  )

  it.effect("a request in flight when the client's scope closes fails alike, saying the handler was interrupted", () =>
    Effect.gen(function* () {
      const outcomes: Array<unknown> = []
      for (const transport of both) {
        const started = yield* Deferred.make<void>()
        const hang = HttpRouter.add("GET", "/", Effect.andThen(Deferred.succeed(started, undefined), Effect.never))
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(TestClient.layer(hang, { transport }), scope)
        const request = yield* Effect.forkChild(Effect.provide(TestClient.get("/"), context))
        yield* Deferred.await(started)
        yield* Scope.close(scope, Exit.void)
        const error = yield* Effect.flip(Fiber.join(request))
        outcomes.push([error._tag, error._tag === "ServerError" && Cause.hasInterruptsOnly(error.cause)])
      }
      expect(outcomes).toEqual([
        ["ServerError", true],
        ["ServerError", true]
      ])
    })
  )
})

describe("a Stream request body over the socket", () => {
  const encoder = new TextEncoder()

  it.effect("reaches the handler chunk by chunk, as in process; one failing midway fails the request", () =>
    Effect.gen(function* () {
      const firstChunkSeen = yield* Deferred.make<void>()
      const Ingest = HttpRouter.add("POST", "/ingest", (request) =>
        Effect.map(
          request.stream.pipe(
            Stream.decodeText,
            Stream.tap(() => Deferred.succeed(firstChunkSeen, undefined)),
            Stream.runCollect
          ),
          (chunks) => HttpServerResponse.jsonUnsafe(Array.from(chunks).join(""))
        )
      )
      const layer = TestClient.layer(Ingest, { transport: "socket", timeout: "5 seconds", report: "never" })
      // The second chunk waits for the handler to have seen the first.
      const body = Stream.concat(
        Stream.make(encoder.encode("first")),
        Stream.fromEffect(Effect.as(Deferred.await(firstChunkSeen), encoder.encode("second")))
      )
      const got = yield* Effect.flatMap(TestClient.post("/ingest", { body }), (r) => r.json).pipe(Effect.provide(layer))
      expect(got).toBe("firstsecond")
      const failing = Stream.concat(Stream.make(encoder.encode("first")), Stream.fail("disk gone"))
      const error = yield* Effect.flip(TestClient.post("/ingest", { body: failing })).pipe(Effect.provide(layer))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("the request body stream failed: disk gone")
    })
  )
})
