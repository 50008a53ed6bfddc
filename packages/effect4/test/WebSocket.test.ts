/**
 * WebSockets in process: `TestClient.websocket` (the handshake, refusals, messages and close
 * codes, bounds, cleanup), the app's socket as platform-node's upgrade handler gives it
 * (answered when the app runs it, close codes from the handler's exit, its HTTP response
 * going nowhere, a client abort before the upgrade), `TestClient.layerWebSocket` /
 * `layerWebSocketConstructor` under `Socket.makeWebSocket` and an `RpcClient`, and parity
 * with `NodeHttpServer.layerTest` and a real `ws` client on 127.0.0.1.
 */
import * as Http from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import * as NodeWS from "@effect/platform-node/NodeWS"
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, PubSub, Queue, Schema, Scope, Stream } from "effect"
import { HttpRouter, HttpServer, HttpServerError, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { Rpc, RpcClient, RpcGroup, RpcSerialization, RpcServer } from "effect/rpc"
import * as Socket from "effect/socket/Socket"

// ---------------------------------------------------------------------------------------------
// the app
// ---------------------------------------------------------------------------------------------

/** How one of the app's handlers ended, or (last for each request) what the server's middleware saw. */
type Ending =
  | { readonly closed: number; readonly reason: string }
  | { readonly returned: true }
  | { readonly interrupted: "client abort" | "other" }
  | { readonly failed: true }
  | { readonly middlewareSaw: number | "failed" | "interrupted" }

interface Endings {
  readonly record: (ending: Ending) => void
  /** What has been recorded so far. */
  readonly recorded: Effect.Effect<Array<Ending>>
  /** The next record, once there is one. */
  readonly take: Effect.Effect<Ending>
  /** Lets `/wait` return. */
  readonly released: Deferred.Deferred<void>
  /** What is recorded for the next request, up to what the middleware saw (live clock only: bounded at 2 s). */
  readonly nextRequest: Effect.Effect<Array<Ending>, Cause.TimeoutError>
}

const makeEndings: Effect.Effect<Endings> = Effect.map(Queue.unbounded<Ending>(), (queue) => ({
  released: Deferred.makeUnsafe<void>(),
  record: (ending) => {
    Queue.offerUnsafe(queue, ending)
  },
  recorded: Queue.clear(queue),
  take: Queue.take(queue),
  nextRequest: Effect.gen(function* () {
    const out: Array<Ending> = []
    while (out.length === 0 || !("middlewareSaw" in out[out.length - 1]!)) out.push(yield* Queue.take(queue))
    return out
  }).pipe(Effect.timeout("2 seconds"))
}))

const isClientAbort = (cause: Cause.Cause<unknown>): boolean =>
  cause.reasons.some((reason) => reason.annotations.has(HttpServerError.ClientAbort.key))

type Write = Socket.Writer["write"]

/** The close a socket reports as its end, if that is how it ended. */
const closeOf = (error: Socket.SocketError): Ending | undefined =>
  error.reason._tag === "SocketCloseError"
    ? { closed: error.reason.code, reason: error.reason.closeReason ?? "" }
    : undefined

/**
 * A handler that upgrades the request and runs `body` on its socket (`next` reads one message),
 * recording how it ended: the close it saw, a failure, an interruption.
 */
const serveSocket =
  (
    endings: Endings,
    body: (io: {
      readonly request: HttpServerRequest.HttpServerRequest
      readonly write: Write
      readonly next: Effect.Effect<string | Uint8Array, Socket.SocketError>
    }) => Effect.Effect<unknown, Socket.SocketError | HttpServerError.HttpServerError, Scope.Scope>
  ) =>
  (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function* () {
      const socket = yield* request.upgrade
      const { write } = yield* socket.writer
      const { pull } = yield* socket.reader
      let buffered: Array<string | Uint8Array> = []
      const next = Effect.suspend(() =>
        buffered.length > 0
          ? Effect.succeed(buffered.shift()!)
          : Effect.map(pull, (frames) => {
              buffered = frames.slice(1)
              return frames[0]
            })
      )
      const answer = yield* body({ request, write, next })
      return HttpServerResponse.isHttpServerResponse(answer) ? answer : HttpServerResponse.empty()
    }).pipe(
      Effect.catch((error) => {
        const close = Socket.isSocketError(error) ? closeOf(error) : undefined
        if (close === undefined) return Effect.fail(error)
        endings.record(close)
        return Effect.succeed(HttpServerResponse.empty())
      }),
      Effect.onError((cause) => Effect.sync(() => endings.record(causeEnding(cause))))
    )

const causeEnding = (cause: Cause.Cause<unknown>): Ending =>
  Cause.hasInterruptsOnly(cause) ? { interrupted: isClientAbort(cause) ? "client abort" : "other" } : { failed: true }

const describeData = (data: string | Uint8Array): string =>
  typeof data === "string" ? data : `binary:${Array.from(data).join(",")}`

/**
 * The routes: `/echo` echoes text as `echo: <text>` and binary as is (`close <code> <reason>`
 * makes the app close with that code); the others each show one behaviour.
 */
const routes = (endings: Endings) =>
  Layer.mergeAll(
    HttpRouter.add(
      "GET",
      "/echo",
      serveSocket(endings, ({ next, write }) =>
        Effect.forever(
          Effect.flatMap(next, (data) => {
            if (typeof data !== "string") return write(data)
            const close = /^close (\d+) ?(.*)$/.exec(data)
            if (close !== null) return write(new Socket.CloseEvent(Number(close[1]), close[2]))
            return write(`echo: ${data}`)
          })
        )
      )
    ),
    HttpRouter.add(
      "GET",
      "/refuse",
      Effect.succeed(
        HttpServerResponse.jsonUnsafe(
          { error: "no websockets for you" },
          { status: 403, headers: { "x-reason": "policy" } }
        )
      )
    ),
    HttpRouter.add(
      "GET",
      "/go-away",
      serveSocket(endings, ({ next, write }) =>
        Effect.andThen(write(new Socket.CloseEvent(4001, "go away")), Effect.forever(next))
      )
    ),
    HttpRouter.add(
      "GET",
      "/hello",
      serveSocket(endings, ({ next, request, write }) =>
        Effect.andThen(
          write(
            JSON.stringify({
              cookie: request.headers.cookie ?? null,
              protocol: request.headers["sec-websocket-protocol"] ?? null,
              upgrade: request.headers.upgrade ?? null,
              version: request.headers["sec-websocket-version"] ?? null,
              extra: request.headers["x-extra"] ?? null
            })
          ),
          Effect.forever(next)
        )
      )
    ),
    HttpRouter.add(
      "GET",
      "/silent",
      serveSocket(endings, ({ next }) => Effect.forever(next))
    ),
    // After one message the handler returns: the socket closes with 1000, its response goes nowhere.
    HttpRouter.add(
      "GET",
      "/finish",
      serveSocket(endings, ({ next, write }) =>
        Effect.gen(function* () {
          yield* next
          yield* write("bye")
          endings.record({ returned: true })
          return HttpServerResponse.text("this goes nowhere", { status: 500 })
        })
      )
    ),
    // After one message the handler dies (1011), or is interrupted (1001).
    HttpRouter.add(
      "GET",
      "/fail",
      serveSocket(endings, ({ next }) => Effect.andThen(next, Effect.die(new Error("the handler broke"))))
    ),
    HttpRouter.add(
      "GET",
      "/interrupt",
      serveSocket(endings, ({ next }) => Effect.andThen(next, Effect.interrupt))
    ),
    // What kind of value a binary message is for the app, then a normal close.
    HttpRouter.add(
      "GET",
      "/kind",
      serveSocket(endings, ({ next, write }) =>
        Effect.gen(function* () {
          const data = yield* next
          yield* write(`${Object.prototype.toString.call(data)} buffer:${Buffer.isBuffer(data)}`)
          yield* write(new Socket.CloseEvent(1000, "seen"))
          yield* Effect.forever(next)
        })
      )
    ),
    // Takes the socket but answers with plain HTTP without running it: a rejection.
    HttpRouter.add("GET", "/not-run", (request) =>
      Effect.as(request.upgrade, HttpServerResponse.text("not now", { status: 409 }))
    ),
    // Never upgrades: the client gives up first.
    HttpRouter.add(
      "GET",
      "/hang",
      Effect.never.pipe(Effect.onError((cause) => Effect.sync(() => endings.record(causeEnding(cause)))))
    ),
    // Waits for the test before answering with plain HTTP.
    HttpRouter.add(
      "GET",
      "/wait",
      Deferred.await(endings.released).pipe(
        Effect.map(() => {
          endings.record({ returned: true })
          return HttpServerResponse.empty()
        }),
        Effect.onError((cause) => Effect.sync(() => endings.record(causeEnding(cause))))
      )
    ),
    // Runs its socket a second time while it is open: a defect on platform-node.
    HttpRouter.add(
      "GET",
      "/twice",
      serveSocket(endings, ({ request }) => Effect.flatMap(request.upgrade, (socket) => socket.reader))
    ),
    HttpRouter.add("GET", "/breaks-first", Effect.die(new Error("broken before the upgrade"))),
    HttpRouter.add("GET", "/custom-headers", (request) =>
      Effect.as(request.upgradeWith({ headers: { "x-custom": "1" } }), HttpServerResponse.empty())
    ),
    HttpRouter.add(
      "POST",
      "/login",
      Effect.succeed(
        HttpServerResponse.empty({ status: 204 }).pipe(
          HttpServerResponse.setCookiesUnsafe([
            ["session", "abc", { path: "/" }],
            ["theme", "dark", { path: "/" }]
          ])
        )
      )
    )
  )

/** The app served as production serves it, its middleware recording the response it saw. */
const served = (endings: Endings) =>
  HttpRouter.serve(routes(endings), {
    disableListenLog: true,
    disableLogger: true,
    middleware: (effect) =>
      Effect.onExit(effect, (exit) =>
        Effect.sync(() =>
          endings.record({
            middlewareSaw: Exit.isSuccess(exit)
              ? exit.value.status
              : Cause.hasInterruptsOnly(exit.cause)
                ? "interrupted"
                : "failed"
          })
        )
      )
  })

/** Runs `test` against the app in process, with a fresh record of endings. */
const inProcess = <A, E>(
  test: (endings: Endings) => Effect.Effect<A, E, TestClient.TestClient | Scope.Scope>,
  options?: TestClient.Options
) =>
  Effect.flatMap(makeEndings, (endings) =>
    Effect.scoped(test(endings)).pipe(Effect.provide(TestClient.layerServer(served(endings), options)))
  )

// ---------------------------------------------------------------------------------------------
// TestClient.websocket
// ---------------------------------------------------------------------------------------------

describe("TestClient.websocket", () => {
  it.effect("text, binary and JSON messages round-trip in order, both directions", () =>
    inProcess(() =>
      Effect.gen(function* () {
        const ws = yield* TestClient.websocket("/echo")
        yield* ws.send("one")
        yield* ws.send(new Uint8Array([1, 2, 3]))
        yield* ws.sendJson({ n: 3 })
        yield* ws.send("four")
        expect(yield* ws.receiveText).toBe("echo: one")
        expect(Array.from((yield* ws.receive) as Uint8Array)).toEqual([1, 2, 3])
        expect(yield* ws.receiveText).toBe('echo: {"n":3}')
        expect(yield* ws.receive).toBe("echo: four")
        // The echo prefixes text, so JSON comes back as text that is not JSON: a clear error.
        yield* ws.sendJson({ ok: true })
        const notJson = yield* Effect.flip(ws.receiveJson())
        expect(notJson._tag).toBe("WebSocketMessageError")
        expect(notJson.message).toContain('the message is not valid JSON: "echo: {\\"ok\\":true}"')
        // Binary where text is expected is a clear error too.
        yield* ws.send(new Uint8Array([7]))
        const notText = yield* Effect.flip(ws.receiveText)
        expect(notText.message).toContain("expected a text message, received 1 bytes of binary")
      })
    )
  )

  it.effect("receiveJson decodes with a Schema; something that is not a Schema is a clear error", () =>
    inProcess(() =>
      Effect.gen(function* () {
        const ws = yield* TestClient.websocket("/hello")
        const Greeting = Schema.Struct({ upgrade: Schema.String, version: Schema.String })
        expect(yield* ws.receiveJson(Greeting)).toEqual({ upgrade: "websocket", version: "13" })
        const error = yield* Effect.flip(ws.receiveJson({ not: "a schema" } as never))
        expect(error._tag).toBe("WebSocketMessageError")
        expect(error.message).toContain('receiveJson takes a Schema (or nothing), got {"not":"a schema"}')
      })
    )
  )

  it.effect("close(code) reaches the handler's socket as that close; 1000 by default", () =>
    inProcess((endings) =>
      Effect.gen(function* () {
        yield* Effect.scoped(
          Effect.gen(function* () {
            const normal = yield* TestClient.websocket("/echo")
            yield* normal.close()
            expect(yield* normal.closed).toEqual({ code: 1000, reason: "" })
          })
        )
        yield* Effect.scoped(
          Effect.gen(function* () {
            const custom = yield* TestClient.websocket("/echo")
            yield* custom.close(4000, "bye")
            const error = yield* Effect.flip(custom.receive)
            expect(error._tag === "WebSocketClosed" && [error.code, error.reason]).toEqual([4000, "bye"])
          })
        )
        // Leaving each scope waited for its handler to end.
        expect(yield* endings.recorded).toEqual([
          { closed: 1000, reason: "" },
          { middlewareSaw: 101 },
          { closed: 4000, reason: "bye" },
          { middlewareSaw: 101 }
        ])
      })
    )
  )

  it.effect("a refused upgrade fails with WebSocketRejected exposing status, headers and body", () =>
    inProcess(() =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(TestClient.websocket("/refuse"))
        expect(error._tag).toBe("WebSocketRejected")
        if (error._tag !== "WebSocketRejected") return
        expect(error.status).toBe(403)
        expect(error.headers["x-reason"]).toBe("policy")
        expect(JSON.parse(error.text)).toEqual({ error: "no websockets for you" })
        expect(error.message).toContain("refused the upgrade with 403")
      })
    )
  )

  it.effect("a close before the first message surfaces the close code and reason", () =>
    inProcess(() =>
      Effect.gen(function* () {
        const ws = yield* TestClient.websocket("/go-away")
        const error = yield* Effect.flip(ws.receive)
        expect(error._tag === "WebSocketClosed" && [error.code, error.reason]).toEqual([4001, "go away"])
        // Receiving again on the closed socket fails at once, never hangs; so does sending.
        expect((yield* Effect.flip(ws.receiveText))._tag).toBe("WebSocketClosed")
        expect((yield* Effect.flip(ws.send("late")))._tag).toBe("WebSocketClosed")
        expect(yield* ws.closed).toEqual({ code: 4001, reason: "go away" })
      })
    )
  )

  it.effect("the handshake carries the jar's cookies, the upgrade headers and the offered subprotocols", () =>
    inProcess(() =>
      Effect.gen(function* () {
        yield* TestClient.post("/login")
        const ws = yield* TestClient.websocket("/hello", { protocols: ["chat.v2", "chat.v1"], cookies: { extra: "1" } })
        expect(ws.protocol).toBe("chat.v2")
        expect(yield* ws.receiveJson()).toEqual({
          cookie: "session=abc; theme=dark; extra=1",
          protocol: "chat.v2, chat.v1",
          upgrade: "websocket",
          version: "13",
          extra: null
        })
      })
    )
  )

  it.effect("subprotocols: an array of unique tokens; a string, a duplicate or a non-token is refused", () =>
    inProcess(() =>
      Effect.gen(function* () {
        const single = yield* Effect.flip(TestClient.websocket("/hello", { protocols: "chat" as never }))
        expect(single._tag).toBe("InvalidRequest")
        expect(single.message).toContain(
          'protocols must be an array of subprotocol names, e.g. ["chat.v1"], got "chat"'
        )
        const twice = yield* Effect.flip(TestClient.websocket("/hello", { protocols: ["chat", "chat"] }))
        expect(twice.message).toContain('subprotocol "chat" is offered more than once')
        const spaced = yield* Effect.flip(TestClient.websocket("/hello", { protocols: ["chat v1"] }))
        expect(spaced.message).toContain('subprotocol "chat v1" is not a token')
        // Valid ones are offered as given, and the handshake's headers can still be set.
        const ws = yield* TestClient.websocket("/hello", {
          protocols: ["chat.v2", "chat.v1"],
          headers: { "Sec-WebSocket-Version": "13", "x-extra": " padded " }
        })
        expect(ws.protocol).toBe("chat.v2")
        expect(yield* ws.receiveJson()).toMatchObject({ protocol: "chat.v2, chat.v1", version: "13", extra: "padded" })
      })
    )
  )

  it.effect("bad options, URLs and handshake headers fail with InvalidRequest saying what to fix", () =>
    inProcess(() =>
      Effect.gen(function* () {
        const cases: ReadonlyArray<readonly [string, unknown, string]> = [
          ["/echo", { protocol: ["chat"] }, 'unknown option "protocol" (did you mean "protocols"?)'],
          ["/echo", "chat", 'the websocket options must be an object such as { protocols: ["chat"] }, got "chat"'],
          ["ftp://testserver/echo", undefined, "unsupported WebSocket URL scheme ftp:"],
          ["/echo", { timeout: "soon" }, 'timeout "soon" is not a Duration'],
          ["/echo", { headers: { upgrade: "h2c" } }, 'a WebSocket handshake needs upgrade: websocket, got "h2c"'],
          ["/echo", { headers: { connection: undefined } }, "a WebSocket handshake needs connection: Upgrade"],
          ["/echo", { cookies: { "bad name": "1" } }, 'invalid cookie name "bad name"']
        ]
        for (const [url, options, message] of cases) {
          const error = yield* Effect.flip(TestClient.websocket(url, options as never))
          expect(error._tag).toBe("InvalidRequest")
          expect(error.message).toContain(message)
        }
      })
    )
  )

  it.effect("a ws:// or wss:// URL names the same origin as http(s); params add to the query", () =>
    inProcess(() =>
      Effect.gen(function* () {
        const ws = yield* TestClient.websocket("ws://testserver/echo", { params: { room: "a" } })
        yield* ws.send("kit")
        expect(yield* ws.receiveText).toBe("echo: kit")
      })
    )
  )

  it.effect(
    "a handshake the app refuses before the upgrade (WebSocket server rules) is a 400 rejection, and the app's socket fails to open",
    () =>
      inProcess(() =>
        Effect.gen(function* () {
          const version = yield* Effect.flip(
            TestClient.websocket("/echo", { headers: { "sec-websocket-version": "12" } })
          )
          expect(version._tag).toBe("WebSocketRejected")
          if (version._tag !== "WebSocketRejected") return
          expect([version.status, version.text, version.headers["sec-websocket-version"]]).toEqual([
            400,
            "Missing or invalid Sec-WebSocket-Version header",
            "13, 8"
          ])
          const key = yield* Effect.flip(TestClient.websocket("/echo", { headers: { "sec-websocket-key": "short" } }))
          expect(key.message).toContain("refused the upgrade with 400: Missing or invalid Sec-WebSocket-Key header")
        })
      )
  )

  it.effect("close: an invalid code or an over-long reason fails, sends nothing, and leaves the connection open", () =>
    inProcess((endings) =>
      Effect.gen(function* () {
        yield* Effect.scoped(
          Effect.gen(function* () {
            const ws = yield* TestClient.websocket("/echo")
            for (const [code, reason] of [
              [999, ""],
              [1005, ""],
              [1006, ""],
              [1015, ""],
              [5000, ""],
              [4000, "x".repeat(124)]
            ] as const) {
              const error = yield* Effect.flip(ws.close(code, reason))
              expect(error._tag).toBe("WebSocketMessageError")
              expect(error.message).toMatch(
                code === 4000 ? /124 bytes of UTF-8: a close frame holds at most 123/ : /3000–4999/
              )
            }
            // Nothing was sent: the connection still works.
            yield* ws.send("still open")
            expect(yield* ws.receiveText).toBe("echo: still open")
            // 1001 ("going away", what a browser sends when a page is left) and a 123-byte reason are valid.
            yield* ws.close(1001, "x".repeat(123))
            expect(yield* ws.closed).toEqual({ code: 1001, reason: "x".repeat(123) })
          })
        )
        expect(yield* endings.recorded).toEqual([{ closed: 1001, reason: "x".repeat(123) }, { middlewareSaw: 101 }])
      })
    )
  )

  it.effect("send: something that is not a string or a Uint8Array fails with WebSocketMessageError", () =>
    inProcess(() =>
      Effect.gen(function* () {
        const ws = yield* TestClient.websocket("/echo")
        const error = yield* Effect.flip(ws.send({ text: "hi" } as never))
        expect(error._tag).toBe("WebSocketMessageError")
        expect(error.message).toContain(
          'send takes a string (a text message) or a Uint8Array (binary), got {"text":"hi"}'
        )
        const nothing = yield* Effect.flip(ws.sendJson(undefined))
        expect(nothing.message).toContain("the value undefined serialises to nothing")
        yield* ws.send("after")
        expect(yield* ws.receiveText).toBe("echo: after")
      })
    )
  )

  it.effect("receive and closed are bounded by the timeout on the wall clock, under TestClock", () =>
    inProcess(() =>
      Effect.gen(function* () {
        const ws = yield* TestClient.websocket("/silent", { timeout: "40 millis" })
        const error = yield* Effect.flip(ws.receive)
        expect(error._tag).toBe("WebSocketTimeout")
        expect(error.message).toContain("no message within 40ms")
        const stillOpen = yield* Effect.flip(ws.closed)
        expect(stillOpen.message).toContain("still open after 40ms")
      })
    )
  )

  it.effect(
    "a handshake the app never answers fails with RequestTimeout under TestClock; the handler is interrupted as a client abort",
    () =>
      inProcess((endings) =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(TestClient.websocket("/hang", { timeout: "40 millis" }))
          expect(error._tag).toBe("RequestTimeout")
          expect(error.message).toContain("GET http://testserver/hang: no response within the timeout")
          expect([yield* endings.take, yield* endings.take]).toEqual([
            { interrupted: "client abort" },
            { middlewareSaw: "interrupted" }
          ])
        })
      )
  )

  it.effect("the handshake is answered only when the app runs the socket", () =>
    Effect.gen(function* () {
      const tookSocket = yield* Deferred.make<void>()
      const run = yield* Deferred.make<void>()
      const app = HttpRouter.add("GET", "/later", (request) =>
        Effect.gen(function* () {
          const socket = yield* request.upgrade
          yield* Deferred.succeed(tookSocket, undefined)
          yield* Deferred.await(run)
          const { write } = yield* socket.writer
          yield* socket.reader
          yield* write("running")
          return HttpServerResponse.empty()
        })
      )
      yield* Effect.gen(function* () {
        const connecting = yield* Effect.forkChild(TestClient.websocket("/later"))
        yield* Deferred.await(tookSocket)
        // The app holds its socket but has not run it: no answer yet.
        expect(connecting.pollUnsafe()).toBeUndefined()
        yield* Deferred.succeed(run, undefined)
        const ws = yield* Fiber.join(connecting)
        expect(yield* ws.receiveText).toBe("running")
        // The handler returned: its socket closes with 1000.
        expect(yield* ws.closed).toEqual({ code: 1000, reason: "" })
      }).pipe(Effect.scoped, Effect.provide(TestClient.layer(app)))
    })
  )

  it.effect("an app that takes the socket but answers with plain HTTP rejects the upgrade with its answer", () =>
    inProcess(() =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(TestClient.websocket("/not-run"))
        expect(error._tag === "WebSocketRejected" && [error.status, error.text]).toEqual([409, "not now"])
      })
    )
  )

  it.effect("once upgraded, the handler's exit closes the socket: 1000 returned, 1011 failed, 1001 interrupted", () =>
    inProcess((endings) =>
      Effect.gen(function* () {
        const closes: Array<unknown> = []
        for (const path of ["/finish", "/fail", "/interrupt"]) {
          yield* Effect.scoped(
            Effect.gen(function* () {
              const ws = yield* TestClient.websocket(path)
              yield* ws.send("go")
              const messages = yield* Stream.runCollect(ws.messages)
              closes.push({ path, messages, closed: yield* ws.closed })
            })
          )
        }
        expect(closes).toEqual([
          // The response the handler returned went nowhere: the test sees the close only.
          { path: "/finish", messages: ["bye"], closed: { code: 1000, reason: "" } },
          { path: "/fail", messages: [], closed: { code: 1011, reason: "" } },
          { path: "/interrupt", messages: [], closed: { code: 1001, reason: "" } }
        ])
        // Middleware sees the 101 in place of the handler's response, as on platform-node.
        expect(yield* endings.recorded).toEqual([
          { returned: true },
          { middlewareSaw: 101 },
          { failed: true },
          { middlewareSaw: "failed" },
          { interrupted: "other" },
          { middlewareSaw: "failed" }
        ])
      })
    )
  )

  it.effect(
    "a handler failing before the upgrade fails with ServerError; with serverErrors: respond, a 500 rejection",
    () =>
      Effect.gen(function* () {
        const failed = yield* inProcess(() => Effect.flip(TestClient.websocket("/breaks-first")))
        expect(failed._tag).toBe("ServerError")
        expect(failed._tag === "ServerError" && Cause.pretty(failed.cause)).toContain("broken before the upgrade")
        const responded = yield* inProcess(() => Effect.flip(TestClient.websocket("/breaks-first")), {
          serverErrors: "respond"
        })
        expect(responded._tag === "WebSocketRejected" && responded.status).toBe(500)
        // platform-node refuses response headers on a WebSocket upgrade: a 500, its own error answered.
        const custom = yield* inProcess(() => Effect.flip(TestClient.websocket("/custom-headers")))
        expect(custom._tag === "WebSocketRejected" && custom.status).toBe(500)
      })
  )

  it.effect("closing the scope drops the connection and interrupts the handler as a client abort, waiting for it", () =>
    inProcess((endings) =>
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const ws = yield* TestClient.websocket("/echo").pipe(Scope.provide(scope))
        yield* ws.send("hi")
        expect(yield* ws.receiveText).toBe("echo: hi")
        yield* Scope.close(scope, Exit.void)
        // By the time the scope has closed, the handler has ended: the dropped connection (1006)
        // or the client abort ended it, whichever it saw first.
        const [ending, seen] = yield* endings.recorded
        expect(ending).toSatisfy(
          (e: Ending) =>
            ("closed" in e && e.closed === 1006) || ("interrupted" in e && e.interrupted === "client abort")
        )
        expect(seen).toSatisfy((e: Ending) => "middlewareSaw" in e)
      })
    )
  )

  it.effect("two concurrent clients on one app exchange messages through the app", () =>
    Effect.gen(function* () {
      const room = yield* PubSub.unbounded<string>()
      const chat = HttpRouter.add("GET", "/chat/:name", (request) =>
        Effect.gen(function* () {
          const { name } = yield* HttpRouter.params
          const socket = yield* request.upgrade
          const { write } = yield* socket.writer
          const inbox = yield* PubSub.subscribe(room)
          yield* Effect.forkScoped(Stream.fromSubscription(inbox).pipe(Stream.runForEach(write)))
          const { pull } = yield* socket.reader
          yield* PubSub.publish(room, `${name} joined`)
          while (true) {
            for (const data of yield* pull) {
              yield* PubSub.publish(room, `${name}: ${typeof data === "string" ? data : "<binary>"}`)
            }
          }
        }).pipe(
          Effect.catch((error) => (error.reason._tag === "SocketCloseError" ? Effect.void : Effect.fail(error))),
          Effect.as(HttpServerResponse.empty())
        )
      )
      yield* Effect.gen(function* () {
        const alice = yield* TestClient.websocket("/chat/alice")
        expect(yield* alice.receiveText).toBe("alice joined")
        const bob = yield* TestClient.websocket("/chat/bob")
        expect(yield* bob.receiveText).toBe("bob joined")
        expect(yield* alice.receiveText).toBe("bob joined")
        yield* alice.send("hi bob")
        expect(yield* bob.receiveText).toBe("alice: hi bob")
        expect(yield* alice.receiveText).toBe("alice: hi bob")
        yield* bob.send("hi alice")
        const seen = yield* alice.messages.pipe(Stream.take(1), Stream.runCollect)
        expect(seen).toEqual(["bob: hi alice"])
      }).pipe(Effect.scoped, Effect.provide(TestClient.layer(chat)))
    })
  )

  it.effect("messages ends when the connection closes", () =>
    inProcess(() =>
      Effect.gen(function* () {
        const ws = yield* TestClient.websocket("/echo")
        yield* ws.send("a")
        yield* ws.send("b")
        yield* ws.send("close 1000 done")
        expect(yield* Stream.runCollect(ws.messages)).toEqual(["echo: a", "echo: b"])
        expect(yield* ws.closed).toEqual({ code: 1000, reason: "done" })
      })
    )
  )

  it.effect(
    "after 1,000 open/close cycles in one test, every handler has ended and no timer of ours is left",
    () =>
      inProcess((endings) =>
        Effect.gen(function* () {
          const resources = () => process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap").length
          const before = resources()
          for (let i = 0; i < 1000; i++) {
            yield* Effect.scoped(
              Effect.gen(function* () {
                const ws = yield* TestClient.websocket("/echo")
                yield* ws.send(`m${i}`)
                expect(yield* ws.receiveText).toBe(`echo: m${i}`)
                if (i % 2 === 0) yield* ws.close()
              })
            )
          }
          const recorded = yield* endings.recorded
          expect(recorded.filter((ending) => "middlewareSaw" in ending).length).toBe(1000)
          expect(resources()).toBeLessThanOrEqual(before)
        })
      ),
    // A stress test: 1,000 connections take a few seconds on a loaded two-core machine.
    { timeout: 30_000 }
  )
})

// ---------------------------------------------------------------------------------------------
// the platform's WebSocket clients
// ---------------------------------------------------------------------------------------------

/** Sends `messages` over a platform Socket and collects as many answers. */
const converse = (messages: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const socket = yield* Socket.Socket
    const { write } = yield* socket.writer
    const { pull } = yield* socket.reader
    for (const message of messages) yield* write(message)
    const answers: Array<string> = []
    while (answers.length < messages.length) {
      for (const data of yield* pull) answers.push(typeof data === "string" ? data : new TextDecoder().decode(data))
    }
    return answers
  }).pipe(Effect.scoped)

/** How opening a socket from `TestClient.layerWebSocket(url)` fails (it must fail). */
const openFailure = (
  url: string,
  options?: Parameters<typeof TestClient.layerWebSocket>[1],
  clientOptions?: TestClient.Options
) =>
  inProcess(
    () =>
      Effect.flip(
        Effect.gen(function* () {
          const socket = yield* Socket.Socket
          yield* Effect.scoped(socket.reader)
        }).pipe(Effect.provide(TestClient.layerWebSocket(url, options)))
      ),
    clientOptions
  )

/** The kit's error behind a socket that failed to open. */
const kitError = (error: Socket.SocketError) =>
  (error.reason as Socket.SocketOpenError).cause as {
    readonly error: { readonly _tag: string; readonly message: string }
  }

describe("TestClient.layerWebSocket", () => {
  it.effect("a platform Socket reaches the app's upgrade handler; any ws:// URL does", () =>
    inProcess(() =>
      Effect.gen(function* () {
        const answers = yield* converse(["one", "two"]).pipe(
          Effect.provide(TestClient.layerWebSocket("ws://127.0.0.1:9999/echo"))
        )
        expect(answers).toEqual(["echo: one", "echo: two"])
      })
    )
  )

  it.effect("closing the client's scope closes the socket cleanly: the app sees 1000", () =>
    inProcess((endings) =>
      Effect.gen(function* () {
        yield* converse(["hi"]).pipe(Effect.provide(TestClient.layerWebSocket("/echo")))
        // The close reaches the app as an event: its handler records it.
        expect(yield* endings.take).toEqual({ closed: 1000, reason: "" })
      })
    )
  )

  it.effect("an app that answers the handshake with plain HTTP fails the socket with the kit's WebSocketRejected", () =>
    Effect.gen(function* () {
      const error = yield* openFailure("ws://app/refuse")
      expect(error.reason._tag).toBe("SocketOpenError")
      const rejected = kitError(error).error as unknown as { _tag: string; status: number }
      expect([rejected._tag, rejected.status]).toEqual(["WebSocketRejected", 403])
    })
  )

  it.effect("a handshake the app never answers fails the socket with RequestTimeout, under TestClock", () =>
    Effect.gen(function* () {
      const error = yield* openFailure("/hang", undefined, { timeout: "40 millis" })
      expect(kitError(error).error._tag).toBe("RequestTimeout")
    })
  )

  it.effect("a URL of another scheme fails the socket with InvalidRequest, never a defect", () =>
    Effect.gen(function* () {
      const error = yield* openFailure("ftp://app/echo")
      expect(error.reason._tag).toBe("SocketOpenError")
      expect(kitError(error).error._tag).toBe("InvalidRequest")
      expect(kitError(error).error.message).toContain("unsupported WebSocket URL scheme ftp:")
    })
  )
})

describe("TestClient.layerWebSocketConstructor", () => {
  it.effect("repeated or non-token subprotocols, and bad headers, fail the socket with InvalidRequest", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [Parameters<typeof TestClient.layerWebSocket>[1], string]> = [
        [{ protocols: ["chat", "chat"] }, "offered more than once"],
        [{ protocols: ["not a token"] }, "is not a token"],
        [{ headers: { "bad name": "1" } }, 'invalid header name "bad name"']
      ]
      for (const [options, message] of cases) {
        const error = yield* openFailure("/echo", options)
        expect(kitError(error).error._tag).toBe("InvalidRequest")
        expect(kitError(error).error.message).toContain(message)
      }
    })
  )

  it.effect(
    "Socket.makeWebSocket connects in process, a relative URL against baseUrl, with its headers and subprotocols",
    () =>
      inProcess(() =>
        Effect.gen(function* () {
          const socket = yield* Socket.makeWebSocket("/hello", {
            protocols: ["chat.v1"],
            headers: { "x-extra": "yes" }
          })
          const [greeting] = yield* Effect.scoped(Effect.flatMap(socket.reader, ({ pull }) => pull))
          expect(JSON.parse(greeting as string)).toEqual({
            cookie: null,
            protocol: "chat.v1",
            upgrade: "websocket",
            version: "13",
            extra: "yes"
          })
        }).pipe(Effect.provide(TestClient.layerWebSocketConstructor))
      )
  )

  it.effect("works beside TestClient.layerTest, for an app served from the test", () =>
    Effect.gen(function* () {
      const endings = yield* makeEndings
      yield* Layer.build(HttpRouter.serve(routes(endings), { disableListenLog: true, disableLogger: true }))
      const answers = yield* converse(["layerTest"]).pipe(
        Effect.provide(Socket.layerWebSocket("/echo")),
        Effect.provide(TestClient.layerWebSocketConstructor)
      )
      expect(answers).toEqual(["echo: layerTest"])
    }).pipe(Effect.provide(TestClient.layerTest))
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

const RpcApp = RpcServer.layer(Greeter).pipe(
  Layer.provide(GreeterLive),
  Layer.provide(RpcServer.layerProtocolWebsocket({ path: "/rpc" })),
  Layer.provide(RpcSerialization.layerJson)
)

const RpcClientProtocol = RpcClient.layerProtocolSocket().pipe(
  Layer.provide(TestClient.layerWebSocket("ws://localhost:3000/rpc")),
  Layer.provide(RpcSerialization.layerJson)
)

describe("RpcClient over the in-process WebSocket", () => {
  it.effect("calls succeed and typed errors arrive typed", () =>
    Effect.gen(function* () {
      const client = yield* RpcClient.make(Greeter)
      expect(yield* client.Greet({ name: "Ada" })).toBe("hello, Ada")
      expect(yield* Effect.flip(client.Fail())).toBe("refused")
    }).pipe(Effect.scoped, Effect.provide(RpcClientProtocol.pipe(Layer.provideMerge(TestClient.layer(RpcApp)))))
  )
})

// ---------------------------------------------------------------------------------------------
// parity with a real socket
// ---------------------------------------------------------------------------------------------

/** What a client saw of one connection: the open failure, or the messages and the close. */
type Seen =
  | { readonly openFailed: string }
  | { readonly received: ReadonlyArray<string>; readonly closed: { readonly code: number; readonly reason: string } }

/**
 * Opens `url` with `Socket.makeWebSocket`, sends `script` and reads until the close; with
 * `giveUpAfter`, abandons the handshake after that many millis (the live clock).
 */
const talk = (url: string, script: ReadonlyArray<string | Uint8Array>, giveUpAfter?: number) =>
  Effect.gen(function* () {
    const socket = yield* Socket.makeWebSocket(url)
    const received: Array<string> = []
    return yield* Effect.gen(function* () {
      const { write } = yield* socket.writer
      const open = socket.reader
      const { pull } = yield* giveUpAfter === undefined
        ? open
        : Effect.timeoutOrElse(open, { duration: giveUpAfter, orElse: () => Effect.fail("gave up" as const) })
      for (const message of script) yield* write(message)
      while (true) for (const data of yield* pull) received.push(describeData(data))
    }).pipe(
      Effect.scoped,
      Effect.catch((error) => {
        if (typeof error === "string") return Effect.succeed<Seen>({ openFailed: error })
        const close = closeOf(error)
        return Effect.succeed<Seen>(
          close !== undefined && "closed" in close
            ? { received, closed: { code: close.closed, reason: close.reason } }
            : { openFailed: error.reason._tag }
        )
      })
    )
  })

/** Each conversation: a path and what the client sends once open. */
const conversations: ReadonlyArray<readonly [string, ReadonlyArray<string | Uint8Array>, number?]> = [
  ["/echo", [new Uint8Array([9, 8]), "hello", "close 4005 done"]],
  ["/finish", ["one"]],
  ["/fail", ["one"]],
  ["/interrupt", ["one"]],
  ["/kind", [new Uint8Array([1, 2])]],
  ["/refuse", []],
  ["/not-run", []],
  ["/breaks-first", []],
  ["/twice", []]
]

/** Every conversation, each with what the client saw and what the server recorded for it. */
const runAll = (origin: string, endings: Endings) =>
  Effect.forEach(conversations, ([path, script, giveUpAfter]) =>
    Effect.gen(function* () {
      const seen = yield* talk(`${origin}${path}`, script, giveUpAfter)
      return { path, seen, server: yield* endings.nextRequest }
    })
  )

/** Runs `f` with the app served by NodeHttpServer.layerTest (a real server on 127.0.0.1) and `ws` clients. */
const overRealSocket = <A, E, R>(endings: Endings, f: (origin: string) => Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const server = yield* HttpServer.HttpServer
    return yield* f(`ws://127.0.0.1:${(server.address as { readonly port: number }).port}`)
  }).pipe(
    Effect.provide(NodeWS.layerWebSocketConstructor),
    Effect.provide(served(endings).pipe(Layer.provideMerge(NodeHttpServer.layerTest)))
  )

describe("parity with a real socket", () => {
  // Live clock: the real socket needs real time.
  it.live(
    "the same app and client give the same messages, close codes and handler endings in process and over NodeHttpServer with ws",
    () =>
      Effect.gen(function* () {
        const inProcessEndings = yield* makeEndings
        const inProcessRuns = yield* runAll("ws://testserver", inProcessEndings).pipe(
          Effect.provide(TestClient.layerWebSocketConstructor),
          Effect.provide(TestClient.layerServer(served(inProcessEndings)))
        )
        const realEndings = yield* makeEndings
        const realRuns = yield* overRealSocket(realEndings, (origin) => runAll(origin, realEndings))
        expect(inProcessRuns).toEqual(realRuns)
        expect(inProcessRuns).toEqual([
          {
            path: "/echo",
            seen: { received: ["binary:9,8", "echo: hello"], closed: { code: 4005, reason: "done" } },
            server: [{ closed: 4005, reason: "done" }, { middlewareSaw: 101 }]
          },
          {
            path: "/finish",
            seen: { received: ["bye"], closed: { code: 1000, reason: "" } },
            server: [{ returned: true }, { middlewareSaw: 101 }]
          },
          {
            path: "/fail",
            seen: { received: [], closed: { code: 1011, reason: "" } },
            server: [{ failed: true }, { middlewareSaw: "failed" }]
          },
          {
            path: "/interrupt",
            seen: { received: [], closed: { code: 1001, reason: "" } },
            // toHandled answers the interrupt, which middleware sees with the answer as a defect.
            server: [{ interrupted: "other" }, { middlewareSaw: "failed" }]
          },
          {
            path: "/kind",
            seen: { received: ["[object Uint8Array] buffer:false"], closed: { code: 1000, reason: "seen" } },
            server: [{ closed: 1000, reason: "seen" }, { middlewareSaw: 101 }]
          },
          { path: "/refuse", seen: { openFailed: "SocketOpenError" }, server: [{ middlewareSaw: 403 }] },
          { path: "/not-run", seen: { openFailed: "SocketOpenError" }, server: [{ middlewareSaw: 409 }] },
          { path: "/breaks-first", seen: { openFailed: "SocketOpenError" }, server: [{ middlewareSaw: "failed" }] },
          {
            path: "/twice",
            seen: { received: [], closed: { code: 1011, reason: "" } },
            server: [{ failed: true }, { middlewareSaw: "failed" }]
          }
        ])
      }),
    { timeout: 20_000 }
  )

  it.live(
    "a client leaving before the upgrade: in process the handler is interrupted as a client abort; Node's server never hears of it",
    () =>
      Effect.gen(function* () {
        // The client gives up after 100 ms; then the test lets the handler answer.
        const leave = (origin: string, endings: Endings) =>
          Effect.gen(function* () {
            const seen = yield* talk(`${origin}/wait`, [], 100)
            yield* Deferred.succeed(endings.released, undefined)
            return { seen, server: yield* endings.nextRequest }
          })
        const inProcessEndings = yield* makeEndings
        const inProcessRun = yield* leave("ws://testserver", inProcessEndings).pipe(
          Effect.provide(TestClient.layerWebSocketConstructor),
          Effect.provide(TestClient.layerServer(served(inProcessEndings)))
        )
        const realEndings = yield* makeEndings
        const realRun = yield* overRealSocket(realEndings, (origin) => leave(origin, realEndings))
        // A difference kept on purpose: Node does not read a socket waiting to be upgraded, so
        // platform-node's handler runs on (until it answers, or upgrades into a dead
        // connection); the kit ends it, so no handler outlives the test's connection.
        expect(inProcessRun).toEqual({
          seen: { openFailed: "gave up" },
          server: [{ interrupted: "client abort" }, { middlewareSaw: "interrupted" }]
        })
        expect(realRun).toEqual({
          seen: { openFailed: "gave up" },
          server: [{ returned: true }, { middlewareSaw: 204 }]
        })
      })
  )

  it.live(
    "a handshake the WebSocket server refuses (a bad version) gets its 400, and the app's socket fails to open",
    () =>
      Effect.gen(function* () {
        const inProcessEndings = yield* makeEndings
        const inProcessRun = yield* Effect.gen(function* () {
          const error = yield* Effect.flip(
            TestClient.websocket("/echo", { headers: { "sec-websocket-version": "12" } })
          )
          if (error._tag !== "WebSocketRejected") return error._tag
          const answer = { status: error.status, body: error.text, version: error.headers["sec-websocket-version"] }
          return { answer, server: yield* inProcessEndings.nextRequest }
        }).pipe(Effect.scoped, Effect.provide(TestClient.layerServer(served(inProcessEndings))))
        const realEndings = yield* makeEndings
        const realRun = yield* overRealSocket(realEndings, (origin) =>
          Effect.gen(function* () {
            // A raw handshake: a ws client always sends version 13.
            const answer = yield* Effect.callback<{ status: number; body: string; version: unknown }, Error>(
              (resume) => {
                const request = Http.request(`${origin.replace(/^ws/, "http")}/echo`, {
                  headers: {
                    connection: "Upgrade",
                    upgrade: "websocket",
                    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
                    "sec-websocket-version": "12"
                  }
                })
                request.on("response", (response) => {
                  const chunks: Array<Buffer> = []
                  response.on("data", (chunk: Buffer) => chunks.push(chunk))
                  response.on("end", () =>
                    resume(
                      Effect.succeed({
                        status: response.statusCode!,
                        body: Buffer.concat(chunks).toString(),
                        version: response.headers["sec-websocket-version"]
                      })
                    )
                  )
                })
                request.on("upgrade", () => resume(Effect.fail(new Error("upgraded"))))
                request.on("error", (error) => resume(Effect.fail(error)))
                request.end()
              }
            )
            return { answer, server: yield* realEndings.nextRequest }
          })
        )
        expect(inProcessRun).toEqual(realRun)
        expect(inProcessRun).toEqual({
          answer: { status: 400, body: "Missing or invalid Sec-WebSocket-Version header", version: "13, 8" },
          server: [{ failed: true }, { middlewareSaw: "failed" }]
        })
      })
  )

  it.live("TestClient.websocket sees of the echo conversation what a ws client sees of the real server", () =>
    Effect.gen(function* () {
      const endings = yield* makeEndings
      const kit = yield* inProcess(() =>
        Effect.gen(function* () {
          const ws = yield* TestClient.websocket("/echo")
          for (const message of conversations[0]![1]) yield* ws.send(message)
          const received = yield* Stream.runCollect(ws.messages)
          return { received: received.map(describeData), closed: yield* ws.closed }
        })
      )
      const real = yield* overRealSocket(endings, (origin) => talk(`${origin}/echo`, conversations[0]![1]))
      expect(kit).toEqual(real)
    })
  )
})
