/**
 * The README's comparison table, row by row: one app (an `HttpApi`) under four tools, and for
 * each row one test per tool showing what that tool does. The columns:
 *
 * - the kit: `TestClient.layer(app)` and `TestClient.get`, or the platform `HttpClient` it
 *   provides (for the typed client);
 * - `HttpApiTest.groups(Api, groups)`: Effect 4's in-memory typed client for an `HttpApi`;
 * - `NodeHttpServer.layerTest`: the app served by `HttpRouter.serve` on a real Node server on
 *   127.0.0.1, reached with its fetch-based `HttpClient`;
 * - `HttpRouter.toWebHandler(app)`: a Web `Request` to `Response` function (the router's
 *   form of `HttpEffect.toWebHandler`), called with Web requests.
 *
 * Speed is not a row here: it is measured by `bench/comparison.ts`, never asserted.
 */
import { createHook } from "node:async_hooks"
import * as Net from "node:net"
import { gzipSync } from "node:zlib"
import { NodeHttpServer, NodeSocket } from "@effect/platform-node"
import { NodeHttpIncomingMessage } from "@effect/platform-node/NodeHttpIncomingMessage"
import { describe, expect, it, vi } from "@effect/vitest"
import { TestClient, TestTracer } from "@effect-http-testkit/effect4"
import { Cause, Context, Deferred, Effect, Exit, Fiber, Layer, Option, Schema, Tracer } from "effect"
import {
  FetchHttpClient,
  HttpClient,
  HttpClientRequest,
  HttpRouter,
  HttpServer,
  HttpServerError,
  HttpServerResponse
} from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiClient, HttpApiEndpoint, HttpApiGroup, HttpApiTest } from "effect/http-api"
import { Socket } from "effect/socket"

// ---------------------------------------------------------------------------
// the app: one HttpApi, the same for every tool
// ---------------------------------------------------------------------------

const decoder = new TextDecoder()

const Seen = Schema.Struct({
  headerOrder: Schema.Array(Schema.String),
  remoteAddress: Schema.NullOr(Schema.String),
  platformNodeRequest: Schema.Boolean
})

class Demo extends HttpApiGroup.make("demo").add(
  HttpApiEndpoint.get("hello", "/hello", { success: Schema.String }),
  HttpApiEndpoint.get("boom", "/boom", { success: Schema.String }),
  HttpApiEndpoint.get("wait", "/wait", { success: Schema.String }),
  HttpApiEndpoint.get("socket", "/socket", { success: Schema.String }),
  HttpApiEndpoint.get("login", "/login", { success: Schema.String }),
  HttpApiEndpoint.get("me", "/me", { success: Schema.String }),
  HttpApiEndpoint.get("old", "/old", { success: Schema.String }),
  HttpApiEndpoint.get("new", "/new", { success: Schema.String }),
  HttpApiEndpoint.get("zipped", "/zipped", { success: Schema.String }),
  HttpApiEndpoint.get("later", "/later", { success: Schema.String }),
  HttpApiEndpoint.get("seen", "/seen", {
    headers: { "x-second": Schema.String, "x-first": Schema.String },
    success: Seen
  })
) {}

class Api extends HttpApi.make("compared").add(Demo) {}

/** What a test hands the app and reads back from it. */
interface Probe {
  /** The `wait` handler has started. */
  readonly waiting: Deferred.Deferred<void>
  /** How the `wait` handler ended. */
  readonly waitEnded: Deferred.Deferred<Exit.Exit<unknown, unknown>>
  /** Opened by the test to let the `later` handler's background work finish. */
  readonly gate: Deferred.Deferred<void>
  /** The `later` handler's background work has finished. */
  readonly workDone: Deferred.Deferred<void>
  /** The tracer the `hello` handler ran with. */
  readonly tracer: Deferred.Deferred<Tracer.Tracer>
}

const makeProbe: Effect.Effect<Probe> = Effect.gen(function* () {
  return {
    waiting: yield* Deferred.make<void>(),
    waitEnded: yield* Deferred.make<Exit.Exit<unknown, unknown>>(),
    gate: yield* Deferred.make<void>(),
    workDone: yield* Deferred.make<void>(),
    tracer: yield* Deferred.make<Tracer.Tracer>()
  }
})

const demoFor = (probe: Probe) =>
  HttpApiBuilder.group(Api, "demo", (handlers) =>
    handlers
      .handle("hello", () =>
        Effect.gen(function* () {
          yield* Deferred.succeed(probe.tracer, yield* Effect.service(Tracer.Tracer))
          return "hello"
        }).pipe(Effect.withSpan("app.work"))
      )
      .handle("boom", () => Effect.die(new Error("boom")))
      .handle("wait", () =>
        Deferred.succeed(probe.waiting, undefined).pipe(
          Effect.andThen(Effect.never),
          Effect.onExit((exit) => Deferred.succeed(probe.waitEnded, exit))
        )
      )
      .handle("socket", ({ request }) =>
        Effect.gen(function* () {
          const socket = yield* request.upgrade
          const { write } = yield* socket.writer
          const { pull } = yield* socket.reader
          // Echoes one message, then ends (closing the connection).
          const [message] = yield* pull
          yield* write(`echo ${typeof message === "string" ? message : decoder.decode(message)}`)
          return "closed"
        }).pipe(Effect.scoped, Effect.orDie)
      )
      .handle("login", () =>
        Effect.succeed(
          HttpServerResponse.setCookieUnsafe(HttpServerResponse.jsonUnsafe("in"), "sid", "abc", { path: "/" })
        )
      )
      .handle("me", ({ request }) => Effect.succeed(request.cookies.sid ?? "no cookie"))
      .handle("old", () => Effect.succeed(HttpServerResponse.redirect("/new", { status: 302 })))
      .handle("new", () => Effect.succeed("moved here"))
      .handle("zipped", () =>
        Effect.succeed(
          HttpServerResponse.uint8Array(gzipSync(JSON.stringify("unzipped")), {
            contentType: "application/json",
            headers: { "content-encoding": "gzip" }
          })
        )
      )
      .handle("later", () =>
        Effect.gen(function* () {
          // Work the response does not wait for, as a welcome email would be.
          yield* Deferred.await(probe.gate).pipe(
            Effect.andThen(Deferred.succeed(probe.workDone, undefined)),
            Effect.forkDetach
          )
          return "accepted"
        })
      )
      .handle("seen", ({ request }) =>
        Effect.succeed({
          headerOrder: Object.keys(request.headers).filter((name) => name.startsWith("x-")),
          remoteAddress: Option.getOrNull(request.remoteAddress),
          platformNodeRequest: request instanceof NodeHttpIncomingMessage
        })
      )
  )

/** The app as a router layer, for the kit, `layerTest` and `toWebHandler`. */
const appFor = (probe: Probe) => HttpApiBuilder.layer(Api).pipe(Layer.provide(demoFor(probe)))

// ---------------------------------------------------------------------------
// the four tools
// ---------------------------------------------------------------------------

/** The kit: `TestClient.layer(app)` around the test. */
const withKit = <A, E, R>(probe: Probe, test: Effect.Effect<A, E, R>, options?: TestClient.Options) =>
  test.pipe(Effect.provide(TestClient.layer(appFor(probe), options)))

/** `HttpApiTest.groups`: the typed client, handlers and services taken from the context. */
const apiTest = (probe: Probe) =>
  HttpApiTest.groups(Api, ["demo"]).pipe(Effect.provide(Layer.mergeAll(demoFor(probe), HttpServer.layerServices)))

/** `NodeHttpServer.layerTest` with the app served on it, as its users write it. */
const withNodeServer = <A, E, R>(probe: Probe, test: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    yield* HttpRouter.serve(appFor(probe), { disableListenLog: true, disableLogger: true }).pipe(Layer.build)
    return yield* test
  }).pipe(Effect.provide(NodeHttpServer.layerTest))

/** `HttpRouter.toWebHandler(app)`, the app's layer also given `services`; disposed with the test's scope. */
const toWebHandler = <A = never>(probe: Probe, services?: Layer.Layer<A>) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      HttpRouter.toWebHandler(
        appFor(probe).pipe(Layer.provide(HttpServer.layerServices), Layer.provideMerge(services ?? Layer.empty)),
        { disableLogger: true }
      )
    ),
    (web) => Effect.promise(() => web.dispose())
  )

/** `toWebHandler`'s handler called with Web requests, its caller interrupting the signal as a closed connection. */
const webHandler = <A = never>(probe: Probe, services?: Layer.Layer<A>) =>
  Effect.map(
    toWebHandler(probe, services),
    (web) => (path: string, init?: RequestInit) =>
      Effect.promise((signal) =>
        web.handler(new Request(new URL(path, "http://localhost"), { ...init, signal }), Context.empty())
      )
  )

const isClientAbort = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) &&
  exit.cause.reasons.some(
    (reason) => Cause.isInterruptReason(reason) && reason.annotations.has(HttpServerError.ClientAbort.key)
  )

const text = (response: Response) => Effect.promise(() => response.text())

// ---------------------------------------------------------------------------
// the rows
// ---------------------------------------------------------------------------

describe("runs through the production pipeline (HttpServer.serve's toHandled: a server span)", () => {
  it.effect("kit: yes, a server span with the route, the handler's spans under it", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withKit(
        probe,
        Effect.gen(function* () {
          const r = yield* TestClient.get("/hello")
          const server = yield* TestTracer.getSpan(r.spanId)
          expect(server.kind).toBe("server")
          expect(yield* TestTracer.getAttribute(server.spanId, "http.route")).toEqual(Option.some("/hello"))
          expect((yield* TestTracer.findSpan("app.work")).parentSpanId).toBe(server.spanId)
        })
      )
    })
  )

  it.effect("HttpApiTest: no, the router runs without toHandled: no server span, even with a tracer", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const client = yield* apiTest(probe)
      expect(yield* client.demo.hello()).toBe("hello")
      expect(yield* TestTracer.findSpans("GET", { kind: "server" })).toEqual([])
      // The handler's span sits under the typed client's own span.
      const work = yield* TestTracer.findSpan("app.work")
      const parent = yield* TestTracer.getSpan(work.parentSpanId ?? "")
      expect(parent.kind).toBe("client")
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect("NodeHttpServer.layerTest: yes, with a tracer provided", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withNodeServer(
        probe,
        Effect.gen(function* () {
          yield* HttpClient.get("/hello")
          const server = yield* TestTracer.findSpan("GET", { kind: "server" })
          expect(yield* TestTracer.getAttribute(server.spanId, "http.route")).toEqual(Option.some("/hello"))
          expect((yield* TestTracer.findSpan("app.work")).parentSpanId).toBe(server.spanId)
        })
      )
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect("toWebHandler: yes, with a tracer in the app's layer", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const tracer = yield* Layer.build(TestTracer.layer)
      const call = yield* webHandler(probe, Layer.succeedContext(tracer))
      expect(yield* Effect.flatMap(call("/hello"), text)).toBe('"hello"')
      yield* Effect.gen(function* () {
        const server = yield* TestTracer.findSpan("GET", { kind: "server" })
        expect(yield* TestTracer.getAttribute(server.spanId, "http.route")).toEqual(Option.some("/hello"))
        expect((yield* TestTracer.findSpan("app.work")).parentSpanId).toBe(server.spanId)
      }).pipe(Effect.provide(tracer))
    })
  )
})

describe("an unhandled failure (a defect in the handler)", () => {
  it.effect("kit: the request fails with ServerError holding the handler's Cause", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const error = yield* withKit(probe, Effect.flip(TestClient.get("/boom")))
      expect(error._tag).toBe("ServerError")
      if (error._tag !== "ServerError") return
      expect(Cause.squash(error.cause)).toEqual(new Error("boom"))
    })
  )

  it.effect("HttpApiTest: the call dies with the handler's defect", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const client = yield* apiTest(probe)
      const exit = yield* Effect.exit(client.demo.boom())
      expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
      if (Exit.isFailure(exit)) expect(Cause.squash(exit.cause)).toEqual(new Error("boom"))
    })
  )

  it.effect("NodeHttpServer.layerTest: a 500 with an empty body; the Cause stays on the server", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const response = yield* withNodeServer(probe, HttpClient.get("/boom"))
      expect(response.status).toBe(500)
      expect(yield* response.text).toBe("")
    })
  )

  it.effect("toWebHandler: a 500 Response with an empty body; the Cause stays in the handler", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const call = yield* webHandler(probe)
      const response = yield* call("/boom")
      expect(response.status).toBe(500)
      expect(yield* text(response)).toBe("")
    })
  )
})

describe("client-abort emulation (interrupting the call interrupts the handler with ClientAbort)", () => {
  it.effect("kit: yes", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withKit(
        probe,
        Effect.gen(function* () {
          const call = yield* Effect.forkChild(TestClient.get("/wait"))
          yield* Deferred.await(probe.waiting)
          yield* Fiber.interrupt(call)
          expect(isClientAbort(yield* Deferred.await(probe.waitEnded))).toBe(true)
        })
      )
    })
  )

  it.effect("HttpApiTest: the handler runs in the caller's fiber: interrupted, but not as a client abort", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const client = yield* apiTest(probe)
      const call = yield* Effect.forkChild(client.demo.wait())
      yield* Deferred.await(probe.waiting)
      yield* Fiber.interrupt(call)
      const ended = yield* Deferred.await(probe.waitEnded)
      expect(Exit.hasInterrupts(ended)).toBe(true)
      expect(isClientAbort(ended)).toBe(false)
    })
  )

  it.effect("NodeHttpServer.layerTest: yes (fetch aborts, the socket closes)", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withNodeServer(
        probe,
        Effect.gen(function* () {
          const call = yield* Effect.forkChild(HttpClient.get("/wait"))
          yield* Deferred.await(probe.waiting)
          yield* Fiber.interrupt(call)
          expect(isClientAbort(yield* Deferred.await(probe.waitEnded))).toBe(true)
        })
      )
    })
  )

  it.effect("toWebHandler: yes, when the Request's signal aborts", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const call = yield* webHandler(probe)
      const fiber = yield* Effect.forkChild(call("/wait"))
      yield* Deferred.await(probe.waiting)
      yield* Fiber.interrupt(fiber)
      expect(isClientAbort(yield* Deferred.await(probe.waitEnded))).toBe(true)
    })
  )
})

describe("WebSockets (the app upgrades the request)", () => {
  it.effect("kit: yes, TestClient.websocket, with no socket", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withKit(
        probe,
        Effect.gen(function* () {
          const ws = yield* TestClient.websocket("/socket")
          yield* ws.send("hi")
          expect(yield* ws.receiveText).toBe("echo hi")
          expect((yield* ws.closed).code).toBe(1000)
        })
      )
    })
  )

  it.effect("HttpApiTest: no, the request cannot be upgraded", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const client = yield* apiTest(probe)
      const exit = yield* Effect.exit(client.demo.socket())
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(String(Cause.squash(exit.cause))).toContain("Not an upgradeable ServerRequest")
    })
  )

  it.effect("NodeHttpServer.layerTest: yes, over a real WebSocket", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withNodeServer(
        probe,
        Effect.gen(function* () {
          const { port } = yield* HttpServer.addressFormattedWith((url) => Effect.succeed(new URL(url)))
          const socket = yield* Socket.makeWebSocket(`ws://127.0.0.1:${port}/socket`)
          const { write } = yield* socket.writer
          const { pull } = yield* socket.reader
          yield* write("hi")
          const [message] = yield* pull
          expect(typeof message === "string" ? message : decoder.decode(message)).toBe("echo hi")
        }).pipe(Effect.provide(NodeSocket.layerWebSocketConstructor))
      )
    })
  )

  it.effect("toWebHandler: no, a Web Request cannot be upgraded (the app's upgrade fails: a 400)", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const call = yield* webHandler(probe)
      const response = yield* call("/socket", {
        headers: { connection: "upgrade", upgrade: "websocket", "sec-websocket-version": "13" }
      })
      expect(response.status).toBe(400)
    })
  )
})

describe("a cookie jar across requests", () => {
  it.effect("kit: yes, the cookie /login set is sent to /me", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withKit(
        probe,
        Effect.gen(function* () {
          yield* TestClient.get("/login")
          expect(yield* (yield* TestClient.get("/me")).json).toBe("abc")
        })
      )
    })
  )

  it.effect("HttpApiTest: no", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const client = yield* apiTest(probe)
      expect(yield* client.demo.login()).toBe("in")
      expect(yield* client.demo.me()).toBe("no cookie")
    })
  )

  it.effect("NodeHttpServer.layerTest: no (fetch keeps no cookies)", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withNodeServer(
        probe,
        Effect.gen(function* () {
          const login = yield* HttpClient.get("/login")
          expect(login.headers["set-cookie"]).toBe("sid=abc; Path=/")
          expect(yield* (yield* HttpClient.get("/me")).json).toBe("no cookie")
        })
      )
    })
  )

  it.effect("toWebHandler: no (each Request is on its own)", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const call = yield* webHandler(probe)
      const login = yield* call("/login")
      expect(login.headers.getSetCookie()).toEqual(["sid=abc; Path=/"])
      expect(yield* Effect.flatMap(call("/me"), text)).toBe('"no cookie"')
    })
  )
})

describe("redirects followed", () => {
  it.effect("kit: yes, with the hops in history", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withKit(
        probe,
        Effect.gen(function* () {
          const r = yield* TestClient.get("/old")
          expect(r.status).toBe(200)
          expect(yield* r.json).toBe("moved here")
          expect(r.history.map((hop) => hop.status)).toEqual([302])
        })
      )
    })
  )

  it.effect("HttpApiTest: no, a 302 is not a declared response: the call fails", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const client = yield* apiTest(probe)
      const error = yield* Effect.flip(client.demo.old())
      expect(String(error)).toContain("undeclared status code (302 GET http://localhost:3000/old)")
    })
  )

  it.effect("NodeHttpServer.layerTest: yes (fetch follows them)", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withNodeServer(
        probe,
        Effect.gen(function* () {
          const r = yield* HttpClient.get("/old")
          expect(r.status).toBe(200)
          expect(yield* r.json).toBe("moved here")
        })
      )
    })
  )

  it.effect("toWebHandler: no, the 302 is the Response", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const call = yield* webHandler(probe)
      const response = yield* call("/old")
      expect(response.status).toBe(302)
      expect(response.headers.get("location")).toBe("/new")
    })
  )
})

describe("content decoding (a gzip body)", () => {
  it.effect("kit: yes", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withKit(
        probe,
        Effect.gen(function* () {
          expect(yield* (yield* TestClient.get("/zipped")).json).toBe("unzipped")
        })
      )
    })
  )

  it.effect("HttpApiTest: no, the typed client reads the gzip bytes as JSON and fails", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const client = yield* apiTest(probe)
      const error = yield* Effect.flip(client.demo.zipped())
      expect(String(error)).toContain("Expected a valid JSON string")
    })
  )

  it.effect("NodeHttpServer.layerTest: yes (fetch decodes it)", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withNodeServer(
        probe,
        Effect.gen(function* () {
          expect(yield* (yield* HttpClient.get("/zipped")).json).toBe("unzipped")
        })
      )
    })
  )

  it.effect("toWebHandler: no, the Response holds the gzip bytes", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const call = yield* webHandler(probe)
      const response = yield* call("/zipped")
      expect(response.headers.get("content-encoding")).toBe("gzip")
      const bytes = new Uint8Array(yield* Effect.promise(() => response.arrayBuffer()))
      expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b])
    })
  )
})

describe("background work (what a handler forks and leaves running)", () => {
  it.effect("kit: tracked by request; TestClient.drainTasks waits until it has ended", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withKit(
        probe,
        Effect.gen(function* () {
          expect(yield* (yield* TestClient.get("/later")).json).toBe("accepted")
          // While the work waits on the gate, draining gives up (past drainTimeout) and names it.
          const error = yield* Effect.flip(TestClient.drainTasks)
          expect(error._tag).toBe("DrainTimeout")
          expect(error.message).toContain("started by GET /later")
          yield* Deferred.succeed(probe.gate, undefined)
          yield* TestClient.drainTasks
          expect(yield* Deferred.isDone(probe.workDone)).toBe(true)
        }),
        { drainTimeout: "100 millis" }
      )
    })
  )

  it.effect("HttpApiTest: not tracked; the work outlives the client's scope", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* Effect.scoped(
        Effect.gen(function* () {
          const client = yield* apiTest(probe)
          expect(yield* client.demo.later()).toBe("accepted")
        })
      )
      expect(yield* Deferred.isDone(probe.workDone)).toBe(false)
      // Still running: only a signal of the test's own tells when it ends.
      yield* Deferred.succeed(probe.gate, undefined)
      yield* Deferred.await(probe.workDone)
    })
  )

  it.effect("NodeHttpServer.layerTest: not tracked; the work outlives the server", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withNodeServer(
        probe,
        Effect.gen(function* () {
          expect(yield* (yield* HttpClient.get("/later")).json).toBe("accepted")
        })
      )
      expect(yield* Deferred.isDone(probe.workDone)).toBe(false)
      yield* Deferred.succeed(probe.gate, undefined)
      yield* Deferred.await(probe.workDone)
    })
  )

  it.effect("toWebHandler: not tracked; the work outlives dispose", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* Effect.scoped(
        Effect.gen(function* () {
          const call = yield* webHandler(probe)
          expect(yield* Effect.flatMap(call("/later"), text)).toBe('"accepted"')
        })
      )
      expect(yield* Deferred.isDone(probe.workDone)).toBe(false)
      yield* Deferred.succeed(probe.gate, undefined)
      yield* Deferred.await(probe.workDone)
    })
  )
})

describe("a recording tracer (TestTracer) comes with it", () => {
  it.effect("kit: yes, the app's server is built with it", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withKit(
        probe,
        Effect.gen(function* () {
          const r = yield* TestClient.get("/hello")
          expect(yield* Deferred.await(probe.tracer)).not.toBe(Tracer.nativeTracer)
          expect((yield* TestTracer.findSpan("app.work", { rootId: r.spanId })).parentSpanId).toBe(r.spanId)
        })
      )
    })
  )

  it.effect("HttpApiTest: no, the handler traces to Effect's native tracer (provide one yourself)", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const client = yield* apiTest(probe)
      yield* client.demo.hello()
      expect(yield* Deferred.await(probe.tracer)).toBe(Tracer.nativeTracer)
    })
  )

  it.effect("NodeHttpServer.layerTest: no, Effect's native tracer (provide one yourself)", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withNodeServer(probe, HttpClient.get("/hello"))
      expect(yield* Deferred.await(probe.tracer)).toBe(Tracer.nativeTracer)
    })
  )

  it.effect("toWebHandler: no, Effect's native tracer (provide one in the app's layer)", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const call = yield* webHandler(probe)
      yield* call("/hello")
      expect(yield* Deferred.await(probe.tracer)).toBe(Tracer.nativeTracer)
    })
  )
})

/**
 * What `use` did with the network: its calls to `net.Server.prototype.listen` (every Node
 * server listens through it) and the TCP resources Node created meanwhile (a listening server
 * is a TCPSERVERWRAP, each connection a TCPWRAP), seen by an async hook.
 */
const watchingSockets = <A, E, R>(use: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const created: Array<string> = []
      const hook = createHook({
        init: (_id, type) => {
          if (type.startsWith("TCP")) created.push(type)
        }
      }).enable()
      return { created, hook, listen: vi.spyOn(Net.Server.prototype, "listen") }
    }),
    (watch) =>
      Effect.map(use, (result) => ({
        result,
        listens: watch.listen.mock.calls.length,
        created: [...new Set(watch.created)].sort()
      })),
    (watch) =>
      Effect.sync(() => {
        watch.hook.disable()
        watch.listen.mockRestore()
      })
  )

describe("no socket opened", () => {
  it.effect("kit: none: nothing listens, no TCP resource is created", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const watched = yield* watchingSockets(
        withKit(
          probe,
          Effect.flatMap(TestClient.get("/hello"), (r) => r.json)
        )
      )
      expect(watched).toEqual({ result: "hello", listens: 0, created: [] })
    })
  )

  it.effect("HttpApiTest: none", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const watched = yield* watchingSockets(Effect.flatMap(apiTest(probe), (client) => client.demo.hello()))
      expect(watched).toEqual({ result: "hello", listens: 0, created: [] })
    })
  )

  it.effect("NodeHttpServer.layerTest: a listening server and a connection per test", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const watched = yield* watchingSockets(
        withNodeServer(
          probe,
          Effect.flatMap(HttpClient.get("/hello"), (r) => r.json)
        )
      )
      expect(watched.result).toBe("hello")
      expect(watched.listens).toBe(1)
      expect(watched.created).toEqual(expect.arrayContaining(["TCPSERVERWRAP", "TCPWRAP"]))
    })
  )

  it.effect("toWebHandler: none", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const watched = yield* watchingSockets(
        Effect.scoped(Effect.flatMap(webHandler(probe), (call) => Effect.flatMap(call("/hello"), text)))
      )
      expect(watched).toEqual({ result: '"hello"', listens: 0, created: [] })
    })
  )
})

describe("a Schema-typed client", () => {
  it.effect("kit: HttpApiClient.make(Api) over the HttpClient every TestClient layer provides", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withKit(
        probe,
        Effect.gen(function* () {
          const client = yield* HttpApiClient.make(Api)
          expect(yield* client.demo.hello()).toBe("hello")
        })
      )
    })
  )

  it.effect("HttpApiTest: its own, built from the Api", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const client = yield* apiTest(probe)
      expect(yield* client.demo.hello()).toBe("hello")
    })
  )

  it.effect("NodeHttpServer.layerTest: HttpApiClient.make(Api) over its HttpClient", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      yield* withNodeServer(
        probe,
        Effect.gen(function* () {
          const client = yield* HttpApiClient.make(Api)
          expect(yield* client.demo.hello()).toBe("hello")
        })
      )
    })
  )

  it.effect("toWebHandler: HttpApiClient.make(Api) over FetchHttpClient with the handler as its fetch", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const web = yield* toWebHandler(probe)
      const fetch: typeof globalThis.fetch = (input, init) => web.handler(new Request(input, init), Context.empty())
      const client = yield* HttpApiClient.make(Api, { baseUrl: "http://localhost" }).pipe(
        Effect.provide(FetchHttpClient.layer),
        Effect.provideService(FetchHttpClient.Fetch, fetch)
      )
      expect(yield* client.demo.hello()).toBe("hello")
    })
  )
})

describe("request fidelity (what the app's request holds)", () => {
  const sent = HttpClientRequest.get("/seen").pipe(
    HttpClientRequest.setHeader("x-second", "2"),
    HttpClientRequest.setHeader("x-first", "1")
  )

  it.effect("kit: platform-node's request, headers in the order sent, a loopback peer", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const seen = yield* withKit(
        probe,
        Effect.flatMap(TestClient.get("/seen", { headers: { "x-second": "2", "x-first": "1" } }), (r) => r.json)
      )
      expect(seen).toEqual({
        headerOrder: ["x-second", "x-first"],
        remoteAddress: "127.0.0.1",
        platformNodeRequest: true
      })
    })
  )

  it.effect("HttpApiTest: the client's request wrapped, headers in the order sent, no peer address", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const client = yield* apiTest(probe)
      const seen = yield* client.demo.seen({ headers: { "x-second": "2", "x-first": "1" } })
      expect(seen).toEqual({ headerOrder: ["x-second", "x-first"], remoteAddress: null, platformNodeRequest: false })
    })
  )

  it.effect("NodeHttpServer.layerTest: platform-node's request, headers in the order sent, a loopback peer", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const seen = yield* withNodeServer(
        probe,
        Effect.flatMap(HttpClient.execute(sent), (r) => r.json)
      )
      expect(seen).toEqual({
        headerOrder: ["x-second", "x-first"],
        remoteAddress: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/),
        platformNodeRequest: true
      })
    })
  )

  it.effect("toWebHandler: a Web Request, headers sorted by name, no peer address", () =>
    Effect.gen(function* () {
      const probe = yield* makeProbe
      const call = yield* webHandler(probe)
      const response = yield* call("/seen", {
        headers: [
          ["x-second", "2"],
          ["x-first", "1"]
        ]
      })
      expect(JSON.parse(yield* text(response))).toEqual({
        headerOrder: ["x-first", "x-second"],
        remoteAddress: null,
        platformNodeRequest: false
      })
    })
  )
})
