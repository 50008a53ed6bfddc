/**
 * WebSockets in process (docs/behaviours.md#websockets): the handshake, refusals, early
 * closes, messages and close codes, parity with a real socket, and cleanup over many
 * connections.
 */

import { createServer } from "node:http"
import {
  HttpRouter,
  HttpServer,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse,
  Socket
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, HashSet, Layer, PubSub, Ref, Schedule, Scope, Stream } from "effect"
import { TestClient, TestTracer } from "effect-http-testkit"
import WebSocket from "ws"

/** What the handler saw when its socket ended. */
type Ending = { readonly code: number; readonly reason: string } | { readonly interrupted: boolean }

/**
 * Echoes text as `echo: <text>`, binary as is; `close <code> <reason>` makes the app close
 * with that code. Records how its socket ended.
 */
const echoApp = (endings: Ref.Ref<ReadonlyArray<Ending>>) =>
  HttpRouter.empty.pipe(
    HttpRouter.get(
      "/echo",
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const socket = yield* request.upgrade
        const write = yield* socket.writer
        yield* socket
          .runRaw((data) => {
            if (typeof data !== "string") return write(data)
            const close = /^close (\d+) ?(.*)$/.exec(data)
            if (close !== null) return write(new Socket.CloseEvent(Number(close[1]), close[2]))
            return write(`echo: ${data}`)
          })
          .pipe(
            Effect.tap(() => Ref.update(endings, (all) => [...all, { code: 1000, reason: "" }])),
            Effect.catchTag("SocketError", (error) =>
              Ref.update(endings, (all) => [
                ...all,
                error.reason === "Close"
                  ? { code: error.code, reason: error.closeReason ?? "" }
                  : { code: -1, reason: error.reason }
              ])
            ),
            Effect.onInterrupt((ids) =>
              Ref.update(endings, (all) => [
                ...all,
                { interrupted: HashSet.has(ids, HttpServerError.clientAbortFiberId) }
              ])
            )
          )
        return HttpServerResponse.empty()
      })
    ),
    HttpRouter.get(
      "/refuse",
      HttpServerResponse.json({ error: "no websockets for you" }, { status: 403, headers: { "x-reason": "policy" } })
    ),
    HttpRouter.get(
      "/go-away",
      Effect.gen(function* () {
        const socket = yield* (yield* HttpServerRequest.HttpServerRequest).upgrade
        const write = yield* socket.writer
        yield* socket
          .runRaw(() => Effect.void, { onOpen: Effect.ignore(write(new Socket.CloseEvent(4001, "go away"))) })
          .pipe(Effect.ignore)
        return HttpServerResponse.empty()
      })
    ),
    HttpRouter.get(
      "/hello",
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const socket = yield* request.upgrade
        const write = yield* socket.writer
        const greeting = {
          cookie: request.headers.cookie ?? null,
          protocol: request.headers["sec-websocket-protocol"] ?? null,
          upgrade: request.headers.upgrade ?? null,
          version: request.headers["sec-websocket-version"] ?? null
        }
        yield* socket
          .runRaw(() => Effect.void, { onOpen: Effect.ignore(write(JSON.stringify(greeting))) })
          .pipe(Effect.ignore)
        return HttpServerResponse.empty()
      })
    ),
    HttpRouter.get(
      "/silent",
      Effect.gen(function* () {
        const socket = yield* (yield* HttpServerRequest.HttpServerRequest).upgrade
        yield* socket.runRaw(() => Effect.void).pipe(Effect.ignore)
        return HttpServerResponse.empty()
      })
    )
  )

describe("websockets", () => {
  // docs/behaviours.md#ws-messages
  it.scoped("text, binary and JSON messages round-trip in order, both directions", () =>
    Effect.gen(function* () {
      const endings = yield* Ref.make<ReadonlyArray<Ending>>([])
      yield* Effect.gen(function* () {
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
        // Binary where text is expected is a clear error too.
        yield* ws.send(new Uint8Array([7]))
        const notText = yield* Effect.flip(ws.receiveText)
        expect(notText.message).toContain("expected a text message, received 1 bytes of binary")
      }).pipe(Effect.scoped, Effect.provide(TestClient.layer(echoApp(endings))))
    })
  )

  // docs/behaviours.md#ws-close-codes
  it.scoped("close(code) reaches the handler; codes other than 1000 are errors on the app's socket", () =>
    Effect.gen(function* () {
      const endings = yield* Ref.make<ReadonlyArray<Ending>>([])
      yield* Effect.gen(function* () {
        const normal = yield* TestClient.websocket("/echo")
        yield* normal.close()
        expect(yield* normal.closed).toEqual({ code: 1000, reason: "" })
        const custom = yield* TestClient.websocket("/echo")
        yield* custom.close(4000, "bye")
        const error = yield* Effect.flip(custom.receive)
        expect(error._tag).toBe("WebSocketClosed")
        expect(error._tag === "WebSocketClosed" && [error.code, error.reason]).toEqual([4000, "bye"])
        yield* TestClient.drainTasks
      }).pipe(Effect.scoped, Effect.provide(TestClient.layer(echoApp(endings))))
      expect(yield* Ref.get(endings)).toEqual([
        { code: 1000, reason: "" },
        { code: 4000, reason: "bye" }
      ])
    })
  )

  // docs/behaviours.md#ws-rejected
  it.scoped("a refused upgrade fails with WebSocketRejected exposing status, headers and body", () =>
    Effect.gen(function* () {
      const endings = yield* Ref.make<ReadonlyArray<Ending>>([])
      const error = yield* Effect.flip(TestClient.websocket("/refuse")).pipe(
        Effect.scoped,
        Effect.provide(TestClient.layer(echoApp(endings)))
      )
      expect(error._tag).toBe("WebSocketRejected")
      if (error._tag !== "WebSocketRejected") return
      expect(error.status).toBe(403)
      expect(error.headers["x-reason"]).toBe("policy")
      expect(JSON.parse(error.text)).toEqual({ error: "no websockets for you" })
      expect(error.message).toContain("refused the upgrade with 403")
    })
  )

  // docs/behaviours.md#ws-closed-early
  it.scoped("a close before the first message surfaces the close code and reason", () =>
    Effect.gen(function* () {
      const endings = yield* Ref.make<ReadonlyArray<Ending>>([])
      yield* Effect.gen(function* () {
        const ws = yield* TestClient.websocket("/go-away")
        const error = yield* Effect.flip(ws.receive)
        expect(error._tag === "WebSocketClosed" && [error.code, error.reason]).toEqual([4001, "go away"])
        // Receiving again on the closed socket fails at once, never hangs.
        const again = yield* Effect.flip(ws.receiveText)
        expect(again._tag).toBe("WebSocketClosed")
        expect((yield* Effect.flip(ws.send("late")))._tag).toBe("WebSocketClosed")
        expect(yield* ws.closed).toEqual({ code: 4001, reason: "go away" })
      }).pipe(Effect.scoped, Effect.provide(TestClient.layer(echoApp(endings))))
    })
  )

  // docs/behaviours.md#ws-handshake
  it.scoped(
    "the handshake carries the jar's cookies as a valid Cookie header, the upgrade headers and subprotocols",
    () =>
      Effect.gen(function* () {
        const endings = yield* Ref.make<ReadonlyArray<Ending>>([])
        yield* Effect.gen(function* () {
          yield* TestClient.setCookie("session", "abc")
          yield* TestClient.setCookie("theme", "dark")
          const ws = yield* TestClient.websocket("/hello", {
            protocols: ["chat.v2", "chat.v1"],
            cookies: { extra: "1" }
          })
          expect(ws.protocol).toBe("chat.v2")
          expect(yield* ws.receiveJson()).toEqual({
            cookie: "session=abc; theme=dark; extra=1",
            protocol: "chat.v2, chat.v1",
            upgrade: "websocket",
            version: "13"
          })
        }).pipe(Effect.scoped, Effect.provide(TestClient.layer(echoApp(endings))))
      })
  )

  // docs/behaviours.md#ws-send-validation
  it.scoped("subprotocols: an array of unique tokens; a string, a duplicate or a non-token is refused", () =>
    Effect.gen(function* () {
      const endings = yield* Ref.make<ReadonlyArray<Ending>>([])
      yield* Effect.gen(function* () {
        const single = yield* Effect.flip(TestClient.websocket("/hello", { protocols: "chat" as never }))
        expect(single._tag).toBe("InvalidRequest")
        expect(single.message).toContain(
          'protocols must be an array of subprotocol names, e.g. ["chat.v1"], got "chat"'
        )
        const twice = yield* Effect.flip(TestClient.websocket("/hello", { protocols: ["chat", "chat"] }))
        expect(twice.message).toContain('subprotocol "chat" is offered more than once')
        const spaced = yield* Effect.flip(TestClient.websocket("/hello", { protocols: ["chat v1"] }))
        expect(spaced.message).toContain('subprotocol "chat v1" is not a token')
        // Valid ones are offered as given, and the handshake headers can still be overridden.
        const ws = yield* TestClient.websocket("/hello", {
          protocols: ["chat.v2", "chat.v1"],
          headers: { "Sec-WebSocket-Version": "13", "x-extra": " padded " }
        })
        expect(ws.protocol).toBe("chat.v2")
        expect(yield* ws.receiveJson()).toMatchObject({ protocol: "chat.v2, chat.v1", version: "13" })
      }).pipe(Effect.scoped, Effect.provide(TestClient.layer(echoApp(endings))))
    })
  )

  // docs/behaviours.md#ws-send-validation
  it.scoped("close: an invalid code or an over-long reason fails, sends nothing, and leaves the connection open", () =>
    Effect.gen(function* () {
      const endings = yield* Ref.make<ReadonlyArray<Ending>>([])
      yield* Effect.gen(function* () {
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
        yield* TestClient.drainTasks
      }).pipe(Effect.scoped, Effect.provide(TestClient.layer(echoApp(endings))))
      expect(yield* Ref.get(endings)).toEqual([{ code: 1001, reason: "x".repeat(123) }])
    })
  )

  // docs/behaviours.md#ws-send-validation
  it.scoped("send: something that is not a string or a Uint8Array fails with WebSocketMessageError", () =>
    Effect.gen(function* () {
      const endings = yield* Ref.make<ReadonlyArray<Ending>>([])
      yield* Effect.gen(function* () {
        const ws = yield* TestClient.websocket("/echo")
        const error = yield* Effect.flip(ws.send({ text: "hi" } as never))
        expect(error._tag).toBe("WebSocketMessageError")
        expect(error.message).toContain(
          'send takes a string (a text message) or a Uint8Array (binary), got {"text":"hi"}'
        )
        yield* ws.send("after")
        expect(yield* ws.receiveText).toBe("echo: after")
      }).pipe(Effect.scoped, Effect.provide(TestClient.layer(echoApp(endings))))
    })
  )

  // docs/behaviours.md#ws-receive-timeout
  it.scoped("receive respects the client timeout on the wall clock, under TestClock", () =>
    Effect.gen(function* () {
      const endings = yield* Ref.make<ReadonlyArray<Ending>>([])
      yield* Effect.gen(function* () {
        const ws = yield* TestClient.websocket("/silent", { timeout: "40 millis" })
        const error = yield* Effect.flip(ws.receive)
        expect(error._tag).toBe("WebSocketTimeout")
        expect(error.message).toContain("no message within 40ms")
      }).pipe(Effect.scoped, Effect.provide(TestClient.layer(echoApp(endings))))
    })
  )

  // docs/behaviours.md#ws-scope-close
  it.scoped("closing the scope drops the connection and interrupts the handler as a client abort, waiting for it", () =>
    Effect.gen(function* () {
      const endings = yield* Ref.make<ReadonlyArray<Ending>>([])
      yield* Effect.gen(function* () {
        const scope = yield* Scope.make()
        const ws = yield* TestClient.websocket("/echo").pipe(Scope.extend(scope))
        yield* ws.send("hi")
        expect(yield* ws.receiveText).toBe("echo: hi")
        yield* Scope.close(scope, Exit.void)
        // By the time the scope has closed, the handler has ended.
        expect((yield* Ref.get(endings)).length).toBe(1)
      }).pipe(Effect.provide(TestClient.layer(echoApp(endings))))
      const [ending] = yield* Ref.get(endings)
      // The client-abort interruption ended it, or the dropped connection did: platform's socket
      // treats 1006 as a normal end, so `runRaw` returns (recorded as 1000). Over a real
      // socket either may come first, as in production.
      expect(ending).toSatisfy(
        (e: Ending) => ("code" in e && (e.code === 1006 || e.code === 1000)) || ("interrupted" in e && e.interrupted)
      )
    })
  )

  // docs/behaviours.md#ws-messages
  it.scoped("two concurrent clients on one app exchange messages through the app", () =>
    Effect.gen(function* () {
      const room = yield* PubSub.unbounded<string>()
      const chat = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/chat/:name",
          Effect.gen(function* () {
            const { name } = yield* HttpRouter.params
            const socket = yield* (yield* HttpServerRequest.HttpServerRequest).upgrade
            const write = yield* socket.writer
            const inbox = yield* PubSub.subscribe(room)
            yield* Effect.forkScoped(Stream.fromQueue(inbox).pipe(Stream.runForEach(write)))
            yield* socket
              .runRaw((data) => PubSub.publish(room, `${name}: ${typeof data === "string" ? data : "<binary>"}`), {
                onOpen: PubSub.publish(room, `${name} joined`)
              })
              .pipe(Effect.ignore)
            return HttpServerResponse.empty()
          })
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
        expect(Chunk.toReadonlyArray(seen)).toEqual(["bob: hi alice"])
      }).pipe(Effect.scoped, Effect.provide(TestClient.layer(chat)))
    })
  )

  // docs/behaviours.md#ws-messages
  it.scoped("messages ends when the connection closes", () =>
    Effect.gen(function* () {
      const endings = yield* Ref.make<ReadonlyArray<Ending>>([])
      yield* Effect.gen(function* () {
        const ws = yield* TestClient.websocket("/echo")
        yield* ws.send("a")
        yield* ws.send("b")
        yield* ws.send("close 1000 done")
        const all = yield* Stream.runCollect(ws.messages)
        expect(Chunk.toReadonlyArray(all)).toEqual(["echo: a", "echo: b"])
        expect(yield* ws.closed).toEqual({ code: 1000, reason: "done" })
      }).pipe(Effect.scoped, Effect.provide(TestClient.layer(echoApp(endings))))
    })
  )

  // docs/behaviours.md#ws-scope-close
  it.scoped(
    "after 1,000 open/close cycles in one test, no fiber, span or timer of ours is left",
    () =>
      Effect.gen(function* () {
        const endings = yield* Ref.make<ReadonlyArray<Ending>>([])
        const resources = () => process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap").length
        yield* Effect.gen(function* () {
          const before = resources()
          for (let i = 0; i < 1000; i++) {
            yield* Effect.scoped(
              Effect.gen(function* () {
                const ws = yield* TestClient.websocket("/echo")
                yield* ws.send(`m${i}`)
                expect(yield* ws.receiveText).toBe(`m${i}`.replace(/^/, "echo: "))
                if (i % 2 === 0) yield* ws.close()
              })
            )
          }
          yield* TestClient.drainTasks
          expect(yield* TestTracer.hasOpenSpans).toBe(false)
          expect(resources()).toBeLessThanOrEqual(before)
        }).pipe(Effect.provide(TestClient.layer(echoApp(endings))))
        expect((yield* Ref.get(endings)).length).toBe(1000)
      }),
    // A stress test: 1,000 connections take a few seconds on a loaded two-core machine.
    { timeout: 30_000 }
  )
})

describe("parity with a real socket", () => {
  /** The same conversation, driven through a transport; returns what the client saw and how the handler's socket ended. */
  const script = ["hello", "close 4005 done"] as const

  // docs/behaviours.md#ws-parity
  // Live clock: the real socket needs real time, and the test waits for the server side to
  // record how its socket ended before shutting the server down.
  it.live("the same handler gives the same messages and close codes through NodeHttpServer + ws and in process", () =>
    Effect.gen(function* () {
      // In process.
      const inProcessEndings = yield* Ref.make<ReadonlyArray<Ending>>([])
      const inProcess = yield* Effect.gen(function* () {
        const ws = yield* TestClient.websocket("/echo")
        const received: Array<string> = []
        yield* ws.send(new Uint8Array([9, 8]))
        received.push(`binary:${Array.from((yield* ws.receive) as Uint8Array).join(",")}`)
        for (const message of script) yield* ws.send(message)
        received.push(yield* ws.receiveText)
        const closed = yield* ws.closed
        return { received, closed }
      }).pipe(Effect.scoped, Effect.provide(TestClient.layer(echoApp(inProcessEndings))))

      // Over a real socket, with the ws client.
      const socketEndings = yield* Ref.make<ReadonlyArray<Ending>>([])
      const overSocket = yield* Effect.gen(function* () {
        const server = yield* HttpServer.HttpServer
        const address = server.address as HttpServer.TcpAddress
        return yield* Effect.async<{ received: Array<string>; closed: { code: number; reason: string } }, Error>(
          (resume) => {
            const ws = new WebSocket(`ws://127.0.0.1:${address.port}/echo`)
            const received: Array<string> = []
            ws.on("open", () => ws.send(Buffer.from([9, 8])))
            ws.on("message", (data, isBinary) => {
              if (isBinary) {
                received.push(`binary:${Array.from(data as Buffer).join(",")}`)
                for (const message of script) ws.send(message)
              } else {
                received.push(String(data))
              }
            })
            ws.on("close", (code, reason) =>
              resume(Effect.succeed({ received, closed: { code, reason: String(reason) } }))
            )
            ws.on("error", (error) => resume(Effect.fail(error)))
          }
        ).pipe(
          Effect.zipLeft(
            Ref.get(socketEndings).pipe(
              Effect.repeat({ until: (endings) => endings.length > 0, schedule: Schedule.spaced("5 millis") }),
              Effect.timeout("2 seconds")
            )
          )
        )
      }).pipe(
        Effect.provide(
          HttpServer.serve(echoApp(socketEndings)).pipe(
            Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
          )
        ),
        Effect.scoped
      )

      expect(inProcess).toEqual(overSocket)
      expect(inProcess).toEqual({ received: ["binary:9,8", "echo: hello"], closed: { code: 4005, reason: "done" } })
      expect(yield* Ref.get(inProcessEndings)).toEqual(yield* Ref.get(socketEndings))
    })
  )
})
