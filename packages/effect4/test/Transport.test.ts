/**
 * The socket transport: the same app and API over real connections, its address for other
 * tools, its errors, and nothing of it left once the client's scope closes.
 */
import * as Http from "node:http"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { WebSocket } from "@effect/platform-node/NodeWS"
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Option, Result, Scope, Stream } from "effect"
import { HttpClient, HttpIncomingMessage, HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
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
})
