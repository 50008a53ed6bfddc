/**
 * The socket transport: the same app and API over real connections, its address for other
 * tools, its errors, and nothing of it left once the client's scope closes.
 */
import * as Http from "node:http"
import {
  HttpClient,
  HttpIncomingMessage,
  HttpRouter,
  HttpServerRequest,
  HttpServerResponse,
  Socket
} from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { contentLengthMismatches, contentLengthOptions } from "@effect-http-testkit/core/scenarios"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Option, Scope, Stream } from "effect"
import { TestClient } from "effect-http-testkit"
import WebSocket from "ws"

const encoder = new TextEncoder()

/** What the app saw of a request: the part a client decides (no Host: that is the origin). */
const echo = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const { host: _host, ...headers } = request.headers
  return yield* HttpServerResponse.json({
    method: request.method,
    url: request.url,
    headers,
    body: yield* request.text,
    remoteAddress: Option.getOrNull(request.remoteAddress)
  })
})

const app = HttpRouter.empty.pipe(
  HttpRouter.all("/echo", echo),
  HttpRouter.get("/greet", HttpServerResponse.text("hello", { headers: { "x-kind": "greeting" } })),
  HttpRouter.get(
    "/chat",
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const socket = yield* request.upgrade
      const write = yield* socket.writer
      yield* socket.runRaw((message) => write(typeof message === "string" ? `echo: ${message}` : message))
      return HttpServerResponse.empty()
    })
  )
)

/** Node's own handles of the kinds a socket transport opens. */
const networkHandles = () =>
  process.getActiveResourcesInfo().filter((kind) => kind === "TCPServerWrap" || kind === "TCPSocketWrap").length

/** A ws client's first message (as text), then it closes. */
const wsRoundTrip = (url: string, message: string) =>
  Effect.async<string, Error>((resume) => {
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
  const hanging = HttpRouter.empty.pipe(
    HttpRouter.get(
      "/hang",
      Effect.zipRight(
        Effect.addFinalizer(() => Deferred.succeed(released, undefined)),
        Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)
      )
    )
  )
  return { hanging, started, released }
})

describe("transport: socket", () => {
  it.scoped("TestClient.address hands the app to plain fetch and a ws client, which get what the kit gets", () =>
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

      const kitSocket = yield* TestClient.websocket("/chat")
      yield* kitSocket.send("hi")
      const viaKitSocket = yield* kitSocket.receiveText
      const viaWs = yield* wsRoundTrip(`${address.replace(/^http/, "ws")}/chat`, "hi")
      expect(viaWs).toBe(viaKitSocket)
      expect(viaWs).toBe("echo: hi")
    }).pipe(Effect.provide(TestClient.layer(app, { transport: "socket" })))
  )

  it.scoped("over a socket the app's request is platform-node's own: toIncomingMessage gives the real one", () =>
    Effect.gen(function* () {
      const node = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/peer",
          Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
            const incoming = NodeHttpServerRequest.toIncomingMessage(request)
            return HttpServerResponse.unsafeJson({
              httpVersion: incoming.httpVersion,
              local: incoming.socket.localAddress,
              peer: incoming.socket.remoteAddress
            })
          })
        )
      )
      const r = yield* Effect.provide(TestClient.get("/peer"), TestClient.layer(node, { transport: "socket" }))
      expect(yield* r.json).toEqual({ httpVersion: "1.1", local: "127.0.0.1", peer: "127.0.0.1" })
    })
  )

  it.scoped("the app sees the same request through either transport", () =>
    Effect.gen(function* () {
      const send = (layer: Layer.Layer<TestClient.TestClient>) =>
        Effect.flatMap(
          Effect.provide(
            Effect.all([
              TestClient.get("/echo?q=1", { headers: { "x-many": ["a", "b"] }, cookies: { sid: "s1" } }),
              TestClient.post("/echo", { json: { name: "Ada" } }),
              TestClient.post("/echo", { body: Stream.make(encoder.encode("str"), encoder.encode("eamed")) }),
              TestClient.post("/echo")
            ]),
            layer
          ),
          (responses) => Effect.forEach(responses, (response) => response.json)
        )
      const inProcess = yield* send(TestClient.layer(app, { transport: "in-process" }))
      const overSocket = yield* send(TestClient.layer(app, { transport: "socket" }))
      expect(overSocket).toEqual(inProcess)
      expect(inProcess[0]).toMatchObject({ url: "/echo?q=1", headers: { "x-many": "a, b", cookie: "sid=s1" } })
      expect(inProcess[2]).toMatchObject({ body: "streamed", headers: { "transfer-encoding": "chunked" } })
    })
  )

  it.effect("after the scope closes no server or socket of the transport is left", () =>
    Effect.gen(function* () {
      const before = networkHandles()
      const started = yield* Deferred.make<void>()
      const finalized = yield* Deferred.make<void>()
      const slow = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/slow",
          HttpServerResponse.stream(
            Stream.concat(
              Stream.make(encoder.encode("first")),
              Stream.fromEffect(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never))
            ).pipe(Stream.ensuring(Deferred.succeed(finalized, undefined)))
          )
        ),
        HttpRouter.get("/greet", HttpServerResponse.text("hello")),
        HttpRouter.get(
          "/chat",
          Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
            Effect.flatMap(request.upgrade, (socket) =>
              Effect.as(
                socket.runRaw(() => Effect.void),
                HttpServerResponse.empty()
              )
            )
          )
        )
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

  it.effect("a port in use gives SocketUnavailable naming it, on requests and on address", () =>
    Effect.gen(function* () {
      const holder = Http.createServer()
      const port = yield* Effect.async<number>((resume) => {
        holder.listen(0, "127.0.0.1", () => resume(Effect.succeed((holder.address() as { port: number }).port)))
      })
      yield* Effect.addFinalizer(() =>
        Effect.async<void>((resume) => {
          holder.close(() => resume(Effect.void))
        })
      )
      const layer = TestClient.layer(app, { transport: "socket", port })
      const before = networkHandles()
      const [request, address] = yield* Effect.provide(
        Effect.all([Effect.flip(TestClient.get("/greet")), Effect.flip(TestClient.address)]),
        layer
      )
      for (const error of [request, address]) {
        expect(error._tag).toBe("SocketUnavailable")
        expect(error.message).toContain(`127.0.0.1:${port}`)
        expect(error.message).toContain("EADDRINUSE")
        expect(error.message).toContain("port: 0")
      }
      // The server that could not listen left nothing behind.
      expect(networkHandles()).toBe(before)
    }).pipe(Effect.scoped)
  )

  it.effect("scope close disconnects another tool's request too, and awaits its handler's finalizers", () =>
    Effect.gen(function* () {
      const { hanging, started, released } = yield* hangingApp
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(TestClient.layer(hanging, { transport: "socket" }), scope)
      const address = yield* Effect.provide(TestClient.address, context)
      const outcome = Effect.runPromise(
        Effect.async<string>((resume) => {
          Http.get(`${address}/hang`, () => resume(Effect.succeed("response"))).on("error", (error) =>
            resume(Effect.succeed(`error: ${error.message}`))
          )
        })
      )
      yield* Deferred.await(started)
      yield* Scope.close(scope, Exit.void)
      expect(yield* Deferred.isDone(released)).toBe(true)
      expect(yield* Effect.promise(() => outcome)).toBe("error: socket hang up")
    })
  )

  it.scoped("the app of a socket client listens on the port it was given", () =>
    Effect.gen(function* () {
      const free = yield* Effect.async<number>((resume) => {
        const probe = Http.createServer()
        probe.listen(0, "127.0.0.1", () => {
          const port = (probe.address() as { port: number }).port
          probe.close(() => resume(Effect.succeed(port)))
        })
      })
      const address = yield* Effect.provide(
        TestClient.address,
        TestClient.layer(app, { transport: "socket", port: free })
      )
      expect(address).toBe(`http://127.0.0.1:${free}`)
    })
  )

  it.scoped("an in-process client has no address: SocketUnavailable says how to get one", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.address)
      expect(error._tag).toBe("SocketUnavailable")
      expect(error.message).toContain('transport: "socket"')
      expect(error.message).toContain("EFFECT_HTTP_TESTKIT_TRANSPORT")
    }).pipe(Effect.provide(TestClient.layer(app, { transport: "in-process" })))
  )

  it.scoped("bad transport options fail requests with InvalidRequest saying what to fix", () =>
    Effect.gen(function* () {
      const problem = (options: TestClient.Options) =>
        Effect.map(Effect.flip(Effect.provide(TestClient.get("/greet"), TestClient.layer(app, options))), (error) => {
          expect(error._tag).toBe("InvalidRequest")
          return error.message
        })
      expect(yield* problem({ transport: "tcp" as "socket" })).toContain(
        'client option transport must be "in-process" or "socket", got "tcp"'
      )
      expect(yield* problem({ transport: "in-process", port: 8080 })).toContain(
        'client option port applies to transport "socket" only'
      )
      expect(yield* problem({ transport: "socket", port: 70000 })).toContain(
        "client option port must be a whole number from 0 (a free port) to 65535, got 70000"
      )
      expect(yield* problem({ transport: "socket", remoteAddress: "10.0.0.7" })).toContain(
        'remoteAddress cannot be set with transport "socket"'
      )
      // With invalid options no socket is opened: the address says why.
      const address = yield* Effect.flip(
        Effect.provide(TestClient.address, TestClient.layer(app, { transport: "socket", port: -1 }))
      )
      expect(address._tag).toBe("SocketUnavailable")
      expect(address.message).toContain("no socket was opened, because the client's options are invalid")
      expect(address.message).toContain("client option port must be a whole number")
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
      const address = yield* Effect.provide(TestClient.address, TestClient.layer(app))
      expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      // An explicit option wins over the variable.
      const inProcess = yield* Effect.flip(
        Effect.provide(TestClient.address, TestClient.layer(app, { transport: "in-process" }))
      )
      expect(inProcess._tag).toBe("SocketUnavailable")
      process.env[variable] = "sockets"
      const bad = yield* Effect.flip(Effect.provide(TestClient.get("/greet"), TestClient.layer(app)))
      expect(bad.message).toContain(
        `the environment variable ${variable} must be "in-process" or "socket", got "sockets"`
      )
    }).pipe(Effect.scoped)
  )

  it.effect("a socket client's scope close disconnects a handler still running and awaits its finalizers", () =>
    Effect.gen(function* () {
      const { hanging, started, released } = yield* hangingApp
      const scope = yield* Scope.make()
      const layer = TestClient.layer(hanging, { transport: "socket" })
      const context = yield* Layer.buildWithScope(layer, scope)
      const request = yield* Effect.fork(Effect.provide(TestClient.get("/hang"), context))
      yield* Deferred.await(started)
      yield* Scope.close(scope, Exit.void)
      expect(yield* Deferred.isDone(released)).toBe(true)
      const exit = yield* request.await
      expect(Exit.isFailure(exit)).toBe(true)
    })
  )
})

describe("transport: the same answers both ways", () => {
  const both = ["in-process", "socket"] as const

  it.scoped("a WebSocket handshake the app never accepts is cut at the timeout and its handler interrupted", () =>
    Effect.gen(function* () {
      for (const transport of both) {
        const interrupted = yield* Deferred.make<void>()
        const never = HttpRouter.empty.pipe(
          HttpRouter.get(
            "/never",
            Effect.onInterrupt(Effect.never, () => Deferred.succeed(interrupted, undefined))
          )
        )
        const error = yield* Effect.flip(
          Effect.provide(
            TestClient.websocket("/never", { timeout: "200 millis" }),
            TestClient.layer(never, { transport, drainTimeout: "5 seconds" })
          )
        )
        expect(error._tag).toBe("RequestTimeout")
        expect(error.message).toContain("the handler was interrupted as a client abort")
        expect(yield* Deferred.isDone(interrupted)).toBe(true)
      }
    }).pipe(Effect.scoped)
  )

  it.scoped("requests Node's server refuses are refused alike: bad framing 400, an unknown expectation 417", () =>
    Effect.gen(function* () {
      const requests: ReadonlyArray<readonly [string, TestClient.RequestOptions]> = [
        ["expect: foo", { headers: { expect: "foo" } }],
        ["expect: 100-continue", { headers: { expect: "100-continue" }, body: "hi" }],
        ["transfer-encoding and content-length", { headers: { "transfer-encoding": "chunked" }, body: "hi" }],
        ["two content-lengths", { headers: { "content-length": ["2", "2"] }, body: "hi" }],
        ["content-length: abc", { headers: { "content-length": "abc" }, body: "hi" }],
        ["transfer-encoding: gzip", { headers: { "transfer-encoding": "gzip" }, body: "hi" }]
      ]
      const statuses = (transport: "in-process" | "socket") =>
        Effect.provide(
          Effect.forEach(requests, ([name, options]) =>
            Effect.map(TestClient.post("/echo", options), (r) => `${name}: ${r.status}`)
          ),
          TestClient.layer(app, { transport })
        )
      const inProcess = yield* statuses("in-process")
      expect(yield* statuses("socket")).toEqual(inProcess)
      expect(inProcess).toEqual([
        "expect: foo: 417",
        "expect: 100-continue: 200",
        "transfer-encoding and content-length: 400",
        "two content-lengths: 400",
        "content-length: abc: 400",
        "transfer-encoding: gzip: 400"
      ])
    })
  )

  it.scoped("a Content-Length that contradicts the body is refused before anything is sent", () =>
    Effect.gen(function* () {
      for (const transport of both) {
        const error = yield* Effect.flip(
          Effect.provide(
            TestClient.post("/echo", { headers: { "content-length": "1" }, body: "hi" }),
            TestClient.layer(app, { transport })
          )
        )
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain("the content-length header says 1 but the body is 2 bytes")
      }
    })
  )

  it.scoped("a Content-Length the test gives must match the body, a Stream one's as it is produced", () =>
    Effect.gen(function* () {
      const bytes = (chunks: ReadonlyArray<string>) => Stream.fromIterable(chunks.map((chunk) => encoder.encode(chunk)))
      for (const transport of both) {
        const layer = TestClient.layer(app, { transport, report: "never" })
        for (const mismatch of contentLengthMismatches) {
          const error = yield* Effect.flip(
            Effect.provide(TestClient.post("/echo", contentLengthOptions(mismatch, bytes)), layer)
          )
          expect([transport, mismatch.name, error._tag]).toEqual([transport, mismatch.name, "InvalidRequest"])
          expect(error.message).toContain(mismatch.says)
          expect(error.message).toContain("drop the header")
        }
        // TestClient.stream checks a Stream body the same way.
        const streamed = yield* Effect.flip(
          Effect.provide(
            TestClient.stream("POST", "/echo", { headers: { "content-length": "1" }, body: bytes(["AB"]) }),
            layer
          )
        )
        expect(streamed.message).toContain("says 1 but the Stream body gave more")
        // A Stream body of the length it declares is sent as it is: with that header, unchunked.
        const seen = yield* Effect.provide(
          Effect.flatMap(
            TestClient.post("/echo", { headers: { "content-length": "2" }, body: bytes(["A", "B"]) }),
            (r) => r.json
          ),
          layer
        )
        expect(seen).toMatchObject({ body: "AB", headers: { "content-length": "2" } })
        expect((seen as { headers: Record<string, string> }).headers["transfer-encoding"]).toBeUndefined()
      }
    })
  )

  it.scoped("the platform HttpClient gets a whole response while the handler's finalizers still run", () =>
    Effect.gen(function* () {
      for (const transport of both) {
        const release = yield* Deferred.make<void>()
        const finalized = yield* Deferred.make<void>()
        const lingering = HttpRouter.empty.pipe(
          HttpRouter.get(
            "/f",
            Effect.zipRight(
              Effect.addFinalizer(() =>
                Effect.zipRight(Deferred.await(release), Deferred.succeed(finalized, undefined))
              ),
              Effect.succeed(HttpServerResponse.text("ok"))
            )
          )
        )
        yield* Effect.gen(function* () {
          const response = yield* HttpClient.get("/f")
          expect([response.status, yield* response.text]).toEqual([200, "ok"])
          expect(yield* Deferred.isDone(finalized)).toBe(false)
          yield* Deferred.succeed(release, undefined)
          yield* Deferred.await(finalized)
        }).pipe(Effect.scoped, Effect.provide(TestClient.layer(lingering, { transport })))
      }
    })
  )

  it.scoped("an app may answer a streamed request body before the first chunk exists", () =>
    Effect.gen(function* () {
      const early = HttpRouter.empty.pipe(
        HttpRouter.post("/early", Effect.succeed(HttpServerResponse.text("accepted", { status: 202 })))
      )
      for (const transport of both) {
        const never = Stream.fromEffect(Effect.as(Effect.never, encoder.encode("late")))
        const r = yield* Effect.provide(
          TestClient.post("/early", { body: never }),
          TestClient.layer(early, { transport })
        )
        expect([r.status, yield* r.text]).toEqual([202, "accepted"])
      }
    })
  )

  it.scoped("a body over the app's MaxBodySize resets the connection, and the error says why", () =>
    Effect.gen(function* () {
      const limited = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/limited",
          Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => request.text).pipe(
            Effect.as(HttpServerResponse.text("read")),
            HttpIncomingMessage.withMaxBodySize(Option.some(10))
          )
        )
      )
      for (const transport of both) {
        const error = yield* Effect.flip(
          Effect.provide(
            TestClient.post("/limited", { body: "x".repeat(100_000) }),
            TestClient.layer(limited, { transport })
          )
        )
        expect(error._tag).toBe("ConnectionReset")
        expect(error.message).toMatch(/MaxBodySize|maximum body size|exceeds/i)
      }
    })
  )

  it.scoped("Socket.makeWebSocket reads a burst the app sends and closes with right after the upgrade", () =>
    Effect.gen(function* () {
      const burst = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/burst",
          Effect.gen(function* () {
            const socket = yield* (yield* HttpServerRequest.HttpServerRequest).upgrade
            const write = yield* socket.writer
            yield* Effect.forkScoped(socket.runRaw(() => Effect.void).pipe(Effect.ignore))
            for (const message of ["a", "b", "c"]) yield* write(message)
            yield* write(new Socket.CloseEvent(1000, "done"))
            return HttpServerResponse.empty()
          })
        )
      )
      for (const transport of both) {
        const received = yield* Effect.gen(function* () {
          const socket = yield* Socket.makeWebSocket("/burst")
          const messages: Array<string> = []
          const end = yield* socket
            .runRaw((data) => {
              messages.push(typeof data === "string" ? data : new TextDecoder().decode(data))
            })
            .pipe(Effect.either)
          return [messages, end._tag] as const
        }).pipe(
          Effect.scoped,
          Effect.provide(TestClient.layerWebSocketConstructor),
          Effect.provide(TestClient.layer(burst, { transport }))
        )
        expect([transport, ...received]).toEqual([transport, ["a", "b", "c"], "Right"])
      }
    })
  )

  it.scoped("a request that asks to upgrade, answered with plain HTTP, leaves the next request unharmed", () =>
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
          TestClient.layer(app, { transport })
        )
        expect(statuses).toEqual([200, 200])
      }
    })
  )

  it.scoped("the handshake's version header, when the test gives one, is what the app sees", () =>
    Effect.gen(function* () {
      const version = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/version",
          Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
            HttpServerResponse.text(request.headers["sec-websocket-version"] ?? "", { status: 426 })
          )
        )
      )
      for (const transport of both) {
        const rejected = yield* Effect.flip(
          Effect.provide(
            TestClient.websocket("/version", { headers: { "sec-websocket-version": "8" } }),
            TestClient.layer(version, { transport })
          )
        )
        expect(rejected._tag === "WebSocketRejected" && new TextDecoder().decode(rejected.body)).toBe("8")
      }
    })
  )

  it.scoped("a body that fails short of its Content-Length fails at once, with the bytes sent before", () =>
    Effect.gen(function* () {
      const download = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/download",
          HttpServerResponse.stream(
            Stream.concat(Stream.make(encoder.encode("part")), Stream.fail(new Error("disk read failed"))),
            { headers: { "content-length": "100" } }
          )
        )
      )
      for (const transport of ["in-process", "socket"] as const) {
        const outcome = yield* Effect.gen(function* () {
          const buffered = yield* Effect.flip(TestClient.get("/download"))
          const streamed = yield* TestClient.stream("GET", "/download")
          const chunks: Array<string> = []
          const failure = yield* streamed.stream.pipe(
            Stream.runForEach((chunk) => Effect.sync(() => chunks.push(new TextDecoder().decode(chunk)))),
            Effect.flip
          )
          return [buffered._tag, chunks.join(""), failure._tag, String(failure.cause)]
        }).pipe(Effect.scoped, Effect.provide(TestClient.layer(download, { transport, timeout: "20 seconds" })))
        expect(outcome[0]).toBe("ServerError")
        expect(outcome.slice(1)).toEqual(["part", "ResponseError", expect.stringContaining("disk read failed")])
      }
    })
  )

  const quirks = HttpRouter.empty.pipe(
    // Node's writeHead refuses a status outside 100-999: the app dies and production answers 500.
    HttpRouter.get(
      "/status/:code",
      Effect.map(HttpRouter.params, ({ code }) => HttpServerResponse.empty({ status: Number(code) }))
    ),
    // A client reads header values as Node's parser hands them: without surrounding spaces and tabs.
    HttpRouter.get(
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
      const invalid = yield* Effect.flip(TestClient.get("/status/NaN"))
      const tooLow = yield* TestClient.get("/status/42", { headers: {} }).pipe(Effect.either)
      const padded = yield* TestClient.get("/padded")
      return {
        invalid: invalid._tag === "ServerError" ? [invalid.status, String(Cause.squash(invalid.cause))] : invalid._tag,
        tooLow: tooLow._tag === "Left" ? tooLow.left._tag : tooLow.right.status,
        padded: [padded.headers["x-padded"], padded.setCookie, yield* TestClient.cookieHeader()]
      }
    }).pipe(Effect.provide(TestClient.layer(quirks, { transport })))

  it.scoped("an invalid status dies as Node's writeHead makes it; header values arrive trimmed", () =>
    Effect.gen(function* () {
      const inProcess = yield* answers("in-process")
      expect(inProcess).toEqual(yield* answers("socket"))
      expect(inProcess).toEqual({
        invalid: [500, "RangeError [ERR_HTTP_INVALID_STATUS_CODE]: Invalid status code: NaN"],
        tooLow: "ServerError",
        padded: ["value", ["sid=1; Path=/"], "sid=1"]
      })
    })
  )

  it.effect("a request in flight when a socket client's scope closes fails with ConnectionReset saying why", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const hang = HttpRouter.empty.pipe(
        HttpRouter.get("/", Effect.zipRight(Deferred.succeed(started, undefined), Effect.never))
      )
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(TestClient.layer(hang, { transport: "socket" }), scope)
      const request = yield* Effect.fork(Effect.provide(TestClient.get("/"), context))
      yield* Deferred.await(started)
      yield* Scope.close(scope, Exit.void)
      const error = yield* Effect.flip(Fiber.join(request))
      expect(error._tag).toBe("ConnectionReset")
      expect(error.message).toContain("the TestClient's scope closed while the request was in flight")
    })
  )
})
