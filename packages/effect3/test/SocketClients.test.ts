/**
 * The platform's WebSocket clients in process: `TestClient.layerWebSocket` (the drop-in for
 * `NodeSocket.layerWebSocket`), `TestClient.layerWebSocketConstructor` under
 * `Socket.makeWebSocket`, and an `RpcClient` over the in-process WebSocket.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse, Socket } from "@effect/platform"
import { Rpc, RpcClient, RpcGroup, RpcSerialization, RpcServer } from "@effect/rpc"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Layer, Schema } from "effect"
import { TestClient } from "effect-http-testkit"

/** Echoes every text message as `echo: <text>`; reports the close code it saw. */
const echoApp = (closedWith: Deferred.Deferred<number>) =>
  HttpRouter.empty.pipe(
    HttpRouter.get(
      "/echo",
      Effect.gen(function* () {
        const socket = yield* (yield* HttpServerRequest.HttpServerRequest).upgrade
        const write = yield* socket.writer
        yield* socket
          .runRaw((data) => write(`echo: ${typeof data === "string" ? data : new TextDecoder().decode(data)}`))
          .pipe(
            Effect.catchTag("SocketError", (error) =>
              Deferred.succeed(closedWith, error.reason === "Close" ? error.code : -1)
            ),
            Effect.tap(() => Deferred.succeed(closedWith, 1000))
          )
        return HttpServerResponse.empty()
      })
    ),
    HttpRouter.get("/refuse", HttpServerResponse.text("no sockets here", { status: 403 }))
  )

/** Sends `messages` over a platform Socket and collects as many answers. */
const converse = (messages: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const socket = yield* Socket.Socket
    const answers: Array<string> = []
    const done = yield* Deferred.make<void>()
    const write = yield* socket.writer
    yield* Effect.forkScoped(
      socket.runRaw((data) => {
        answers.push(typeof data === "string" ? data : new TextDecoder().decode(data))
        if (answers.length === messages.length) return Deferred.succeed(done, undefined)
      })
    )
    for (const message of messages) yield* write(message)
    yield* Deferred.await(done)
    return answers
  })

/** How running a socket from `TestClient.layerWebSocket(url)` fails (it must fail). */
const openFailure = (url: string) =>
  Effect.flatMap(Deferred.make<number>(), (closedWith) =>
    Effect.flip(
      Effect.gen(function* () {
        const socket = yield* Socket.Socket
        yield* socket.runRaw(() => {})
      }).pipe(Effect.provide(TestClient.layerWebSocket(url)), Effect.provide(TestClient.layer(echoApp(closedWith))))
    )
  )

describe("TestClient.layerWebSocket", () => {
  it.scoped("a platform Socket reaches the app's upgrade handler; any ws:// URL does", () =>
    Effect.gen(function* () {
      const closedWith = yield* Deferred.make<number>()
      const answers = yield* converse(["one", "two"]).pipe(
        Effect.provide(TestClient.layerWebSocket("ws://127.0.0.1:9999/echo")),
        Effect.provide(TestClient.layer(echoApp(closedWith)))
      )
      expect(answers).toEqual(["echo: one", "echo: two"])
    })
  )

  it.scoped("closing the client's scope closes the socket cleanly; the app sees 1000", () =>
    Effect.gen(function* () {
      const closedWith = yield* Deferred.make<number>()
      yield* Effect.gen(function* () {
        yield* Effect.scoped(converse(["hi"]).pipe(Effect.provide(TestClient.layerWebSocket("/echo"))))
        expect(yield* Deferred.await(closedWith)).toBe(1000)
      }).pipe(Effect.provide(TestClient.layer(echoApp(closedWith))))
    })
  )

  it.scoped("an app that answers the handshake with plain HTTP fails the socket with the kit's WebSocketRejected", () =>
    Effect.gen(function* () {
      const error = yield* openFailure("ws://app/refuse")
      expect(error._tag).toBe("SocketError")
      expect(error.reason).toBe("Open")
      const rejected = (
        error.cause as { readonly error: TestClient.TestClientError | { _tag: string; status: number } }
      ).error
      expect(rejected._tag).toBe("WebSocketRejected")
      expect((rejected as { status: number }).status).toBe(403)
    })
  )

  it.scoped("a URL of another scheme fails the socket with InvalidRequest, never a defect", () =>
    Effect.gen(function* () {
      const error = yield* openFailure("ftp://app/echo")
      expect(error.reason).toBe("Open")
      const cause = (error.cause as { readonly error: { readonly _tag: string; readonly message: string } }).error
      expect(cause._tag).toBe("InvalidRequest")
      expect(cause.message).toContain("unsupported WebSocket URL scheme ftp:")
    })
  )
})

describe("TestClient.layerWebSocketConstructor", () => {
  it.scoped("repeated or non-token subprotocols fail the socket with InvalidRequest", () =>
    Effect.gen(function* () {
      const closedWith = yield* Deferred.make<number>()
      for (const protocols of [["chat", "chat"], ["not a token"]]) {
        const error = yield* Effect.flip(
          Effect.gen(function* () {
            const socket = yield* Socket.makeWebSocket("/echo", { protocols })
            yield* socket.runRaw(() => {})
          }).pipe(
            Effect.scoped,
            Effect.provide(TestClient.layerWebSocketConstructor),
            Effect.provide(TestClient.layer(echoApp(closedWith)))
          )
        )
        const cause = (error.cause as { readonly error: { readonly _tag: string; readonly message: string } }).error
        expect(cause._tag).toBe("InvalidRequest")
        expect(cause.message).toContain("subprotocol")
      }
    })
  )

  it.scoped("Socket.makeWebSocket connects in process, a relative URL against baseUrl", () =>
    Effect.gen(function* () {
      const closedWith = yield* Deferred.make<number>()
      const answers = yield* Effect.gen(function* () {
        const socket = yield* Socket.makeWebSocket("/echo")
        return yield* converse(["x"]).pipe(Effect.provideService(Socket.Socket, socket))
      }).pipe(
        Effect.provide(TestClient.layerWebSocketConstructor),
        Effect.provide(TestClient.layer(echoApp(closedWith)))
      )
      expect(answers).toEqual(["echo: x"])
    })
  )

  it.scoped(
    "the kit's own TestClient.websocket takes ws:// URLs too, and refuses other schemes with InvalidRequest",
    () =>
      Effect.gen(function* () {
        const closedWith = yield* Deferred.make<number>()
        yield* Effect.gen(function* () {
          const ws = yield* TestClient.websocket("ws://testserver/echo")
          yield* ws.send("kit")
          expect(yield* ws.receiveText).toBe("echo: kit")
          const error = yield* Effect.flip(TestClient.websocket("ftp://testserver/echo"))
          expect(error._tag).toBe("InvalidRequest")
        }).pipe(Effect.provide(TestClient.layer(echoApp(closedWith))))
      })
  )
})

// An RPC service served over WebSockets by the app, called by an RpcClient in the test.
class Greet extends Rpc.make("Greet", { payload: { name: Schema.String }, success: Schema.String }) {}
class Fail extends Rpc.make("Fail", { error: Schema.String }) {}
const Greeter = RpcGroup.make(Greet, Fail)

const GreeterLive = Greeter.toLayer({
  Greet: ({ name }) => Effect.succeed(`hello, ${name}`),
  Fail: () => Effect.fail("refused")
})

const ServerLive = HttpRouter.Default.serve().pipe(
  Layer.provide(RpcServer.layer(Greeter)),
  Layer.provide(GreeterLive),
  Layer.provide(RpcServer.layerProtocolWebsocket({ path: "/rpc" })),
  Layer.provide(RpcSerialization.layerJson)
)

const ClientProtocol = RpcClient.layerProtocolSocket().pipe(
  Layer.provide(TestClient.layerWebSocket("ws://localhost:3000/rpc")),
  Layer.provide(RpcSerialization.layerJson)
)

describe("RpcClient over the in-process WebSocket", () => {
  it.scoped("calls succeed and typed errors arrive typed", () =>
    Effect.gen(function* () {
      const client = yield* RpcClient.make(Greeter)
      expect(yield* client.Greet({ name: "Ada" })).toBe("hello, Ada")
      expect(yield* Effect.flip(client.Fail())).toBe("refused")
    }).pipe(Effect.provide(ClientProtocol.pipe(Layer.provideMerge(TestClient.layerServer(ServerLive)))))
  )
})
