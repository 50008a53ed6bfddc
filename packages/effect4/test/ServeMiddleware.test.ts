/**
 * Server errors when `serve` is given a middleware (`HttpServer.serve(app, mw)`,
 * `HttpRouter.serve(routes, { middleware })`): the most common production bootstrap. An
 * unhandled failure must surface as `ServerError` with the app's own cause whatever middleware
 * `serve` runs, responses the app or a middleware produce deliberately stay responses, and with
 * `serverErrors: "respond"` the client gets exactly what a real Node server sends. The port of
 * the Effect 3 edition's `ServeMiddleware.test.ts`.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Cause, Deferred, Effect, Layer, Logger, Option, Result, Schema, Stream } from "effect"
import { HttpClient, HttpMiddleware, HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { IpNetwork } from "effect/net"

/** The middleware's own log lines are not what these tests look at. */
const quiet = Logger.layer([])

const Routes = Layer.mergeAll(
  HttpRouter.add("GET", "/ok", HttpServerResponse.text("ok")),
  HttpRouter.add("GET", "/boom", Effect.die(new Error("kaboom"))),
  HttpRouter.add("GET", "/typed", Effect.fail("inventory unavailable" as const)),
  HttpRouter.add("GET", "/not-found", HttpServerResponse.text("gone", { status: 404 })),
  HttpRouter.add(
    "GET",
    "/stream-late",
    HttpServerResponse.stream(
      Stream.concat(Stream.make(new TextEncoder().encode("first ")), Stream.die(new Error("late")))
    )
  ),
  HttpRouter.add(
    "GET",
    "/ws-boom",
    Effect.gen(function* () {
      yield* Effect.die(new Error("before upgrade"))
      return HttpServerResponse.empty()
    })
  )
)

/** A middleware that keeps the app's types. */
type Middleware = <E, R>(
  app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>

/** Turns any failure into a 503 of its own: effective around the app, too late inside `serve`. */
const mapErrors: Middleware = (app) =>
  Effect.catchCause(app, () => Effect.succeed(HttpServerResponse.text("mapped", { status: 503 })))

/** A middleware that dies before the app runs (a broken auth check, say). */
const brokenGate: Middleware = (app) => Effect.andThen(Effect.die(new Error("gate")), app)

/** Stamps every response: a middleware that does its own work and passes failures on. */
const stamp: Middleware = (app) => Effect.map(app, HttpServerResponse.setHeader("x-mw", "yes"))

/** Trusts loopback proxies (the kit's default peer is 127.0.0.1). */
const forwarded = HttpMiddleware.xForwardedHeaders({ trustedProxies: [IpNetwork.fromStringUnsafe("127.0.0.0/8")] })

/** The message of the cause's defect. */
const defectOf = (cause: Cause.Cause<unknown>): string | undefined => {
  const found = Cause.findDefect(cause)
  return Result.isSuccess(found) ? (found.success as Error).message : undefined
}

/** `HttpServer.serve(app, mw)`, the router's app built as `HttpRouter.toHttpEffect` builds it. */
const bootstrap = (mw: Middleware) =>
  Layer.unwrap(Effect.map(HttpRouter.toHttpEffect(Routes), (app) => HttpServer.serve(app, mw)))

const served = (mw: Middleware, options?: TestClient.Options) =>
  TestClient.layerServer(bootstrap(mw), options).pipe(Layer.provide(quiet))

describe.each([
  ["HttpMiddleware.logger", HttpMiddleware.logger as Middleware],
  ["HttpMiddleware.xForwardedHeaders", forwarded as Middleware],
  ["a custom middleware", stamp]
] as const)("serve(router, %s)", (_, mw) => {
  it.effect("a defect fails the request with ServerError carrying the app's own defect", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/boom"))
      expect(error._tag).toBe("ServerError")
      if (error._tag !== "ServerError") return
      expect(error.status).toBe(500)
      expect(defectOf(error.cause)).toBe("kaboom")
    }).pipe(Effect.provide(served(mw)))
  )

  it.effect("an unhandled typed failure fails with ServerError holding the error", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/typed"))
      expect(error._tag === "ServerError" && Option.getOrUndefined(Cause.findErrorOption(error.cause))).toBe(
        "inventory unavailable"
      )
    }).pipe(Effect.provide(served(mw)))
  )

  it.effect("responses, the router's 404 and the middleware's own work stay plain responses", () =>
    Effect.gen(function* () {
      const ok = yield* TestClient.get("/ok")
      expect(ok.status).toBe(200)
      expect(yield* ok.text).toBe("ok")
      expect((yield* TestClient.get("/not-found")).status).toBe(404)
      expect((yield* TestClient.get("/no-such-route")).status).toBe(404)
    }).pipe(Effect.provide(served(mw)))
  )

  it.effect("a streamed request whose handler dies fails with ServerError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.stream("GET", "/boom"))
      expect(error._tag === "ServerError" && defectOf(error.cause)).toBe("kaboom")
    }).pipe(Effect.provide(served(mw)))
  )

  // On Effect 4 a body that cannot be read fails as the platform's HttpClientError (reason
  // DecodeError), the app's ServerError its cause, where the Effect 3 edition has ResponseError.
  it.effect("a streamed body that fails after its headers fails the body stream, never ends short", () =>
    Effect.gen(function* () {
      const response = yield* TestClient.stream("GET", "/stream-late")
      expect(response.status).toBe(200)
      const error = yield* Effect.flip(Stream.runDrain(response.stream))
      expect(error._tag).toBe("HttpClientError")
      expect(error.reason._tag).toBe("DecodeError")
      const server = error.reason.cause as TestClient.ServerError
      expect(server._tag).toBe("ServerError")
      expect(defectOf(server.cause)).toBe("late")
    }).pipe(Effect.provide(served(mw)))
  )

  it.effect("a WebSocket handshake whose handler dies fails with ServerError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.websocket("/ws-boom"))
      expect(error._tag === "ServerError" && defectOf(error.cause)).toBe("before upgrade")
    }).pipe(Effect.provide(served(mw)))
  )

  it.effect('with serverErrors: "respond" the client gets the 500 production sends', () =>
    Effect.gen(function* () {
      expect((yield* TestClient.get("/boom")).status).toBe(500)
      expect((yield* TestClient.get("/typed")).status).toBe(500)
      const ws = yield* Effect.flip(TestClient.websocket("/ws-boom"))
      expect(ws._tag === "WebSocketRejected" && ws.status).toBe(500)
    }).pipe(Effect.provide(served(mw, { serverErrors: "respond" })))
  )
})

describe("middleware that maps errors to responses", () => {
  it.effect("around the app (e.g. serve(mapErrors(router), logger)) its response is a plain response", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/boom")
      expect(r.status).toBe(503)
      expect(yield* r.text).toBe("mapped")
    }).pipe(
      Effect.provide(
        TestClient.layerServer(
          Layer.unwrap(
            Effect.map(HttpRouter.toHttpEffect(Routes), (app) =>
              HttpServer.serve(mapErrors(app), HttpMiddleware.logger)
            )
          )
        ).pipe(Layer.provide(quiet))
      )
    )
  )

  it.effect("given to serve, it runs after the 500 went out: ServerError, status 500, as production answers", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/boom"))
      expect(error._tag === "ServerError" && error.status).toBe(500)
      expect(error._tag === "ServerError" && defectOf(error.cause)).toBe("kaboom")
    }).pipe(Effect.provide(served(mapErrors)))
  )
})

describe("a middleware given to serve that fails, answers or works on its own", () => {
  it.effect("one that dies before calling the app fails the request with ServerError carrying its defect", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/ok"))
      expect(error._tag === "ServerError" && error.status).toBe(500)
      expect(error._tag === "ServerError" && defectOf(error.cause)).toBe("gate")
      const streamed = yield* Effect.flip(TestClient.stream("GET", "/ok"))
      expect(streamed._tag === "ServerError" && defectOf(streamed.cause)).toBe("gate")
      const ws = yield* Effect.flip(TestClient.websocket("/ok"))
      expect(ws._tag === "ServerError" && defectOf(ws.cause)).toBe("gate")
    }).pipe(Effect.provide(served(brokenGate)))
  )

  it.effect("one that answers without calling the app (an auth check refusing) gives its response", () =>
    Effect.gen(function* () {
      const refused = yield* TestClient.get("/boom")
      expect(refused.status).toBe(401)
      expect(yield* refused.text).toBe("sign in first")
    }).pipe(
      Effect.provide(served(() => Effect.succeed(HttpServerResponse.text("sign in first", { status: 401 })) as never))
    )
  )

  it.effect("work it does after the response is written: request waits for it, stream does not", () =>
    Effect.gen(function* () {
      // An audit middleware: Effect 4 writes the response inside the app it wraps; the audit
      // then runs, here waiting on a Deferred the test completes only at its end.
      const audited = yield* Deferred.make<void>()
      const auditing: Middleware = (app) => Effect.tap(app, () => Deferred.await(audited))
      const answers = yield* Effect.gen(function* () {
        // TestClient.stream has the response as production's client does, as it is written.
        const streamed = yield* TestClient.stream("GET", "/ok", { timeout: 2_000 })
        const body = yield* streamed.text
        const failed = yield* Effect.flip(TestClient.stream("GET", "/boom", { timeout: 2_000 }))
        // TestClient.request returns once the handler has ended: here it cannot, and its
        // RequestTimeout says the app had answered and what kept the handler running.
        const timedOut = yield* Effect.flip(TestClient.get("/ok", { timeout: 200 }))
        return { streamed: [streamed.status, body, failed._tag], timedOut }
      }).pipe(Effect.ensuring(Deferred.succeed(audited, undefined)), Effect.provide(served(auditing)))
      expect(answers.streamed).toEqual([200, "ok", "ServerError"])
      expect(answers.timedOut._tag === "RequestTimeout" && answers.timedOut.answered).toBe(200)
      expect(answers.timedOut.message).toContain("the app answered 200, but its handler was still running")
      expect(answers.timedOut.message).toContain("TestClient.stream")
    })
  )

  it.effect("work it does after the response is written is done when request returns", () =>
    Effect.gen(function* () {
      const audit: Array<string> = []
      const auditing: Middleware = (app) =>
        Effect.tap(app, (response) =>
          Effect.andThen(
            Effect.yieldNow,
            Effect.sync(() => audit.push(`audited ${response.status}`))
          )
        )
      const r = yield* TestClient.get("/ok").pipe(Effect.provide(served(auditing)))
      expect(r.status).toBe(200)
      expect(audit).toEqual(["audited 200"])
    })
  )

  it.effect("a failure it has after the app's response is written is only on the server, as in production", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/ok")
      expect([r.status, yield* r.text]).toEqual([200, "ok"])
    }).pipe(Effect.provide(served((app) => Effect.tap(app, () => Effect.die(new Error("audit store down"))))))
  )
})

describe("HttpRouter.serve(HttpApiBuilder.layer(Api), { middleware: HttpMiddleware.logger })", () => {
  class Unavailable extends Schema.Error<Unavailable>("Unavailable")(
    { _tag: Schema.tag("Unavailable"), reason: Schema.String },
    { httpApiStatus: 503 }
  ) {}
  const Api = HttpApi.make("api").add(
    HttpApiGroup.make("items").add(
      HttpApiEndpoint.get("boom", "/boom", { success: Schema.String }),
      HttpApiEndpoint.get("typed", "/typed", { success: Schema.String, error: Unavailable }),
      HttpApiEndpoint.get("count", "/count", {
        success: Schema.Struct({ n: Schema.Int }),
        query: { order: Schema.optional(Schema.Literals(["asc", "desc"])) }
      })
    )
  )
  const ItemsLive = HttpApiBuilder.group(Api, "items", (handlers) =>
    handlers
      .handle("boom", () => Effect.die(new Error("kaboom")))
      .handle("typed", () => Effect.fail(new Unavailable({ reason: "maintenance" })))
      // An app bug: 1.5 is not the Int the success schema declares.
      .handle("count", () => Effect.succeed({ n: 1.5 }))
  )
  const ServerLive = HttpRouter.serve(HttpApiBuilder.layer(Api).pipe(Layer.provide(ItemsLive)), {
    disableListenLog: true,
    middleware: HttpMiddleware.logger
  })

  it.effect("a handler that dies fails with ServerError; a typed error is the response the Api declares", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/boom"))
      expect(error._tag === "ServerError" && defectOf(error.cause)).toBe("kaboom")
      const typed = yield* TestClient.get("/typed")
      expect(typed.status).toBe(503)
      expect(yield* typed.json).toEqual({ _tag: "Unavailable", reason: "maintenance" })
    }).pipe(Effect.provide(TestClient.layerServer(ServerLive).pipe(Layer.provide(quiet))))
  )

  // Production answers an empty 500 and reports the schema error; a request failing its own
  // schema is the 400 the Api answers (an HttpApiSchemaError error reporters ignore).
  it.effect("a success value that fails its schema is a ServerError naming the schema error, as served or not", () =>
    Effect.gen(function* () {
      for (const layer of [
        TestClient.layerServer(ServerLive).pipe(Layer.provide(quiet)),
        TestClient.layer(HttpApiBuilder.layer(Api).pipe(Layer.provide(ItemsLive)))
      ]) {
        const error = yield* Effect.flip(TestClient.get("/count").pipe(Effect.provide(layer)))
        expect(error._tag === "ServerError" && error.status).toBe(500)
        const defect = error._tag === "ServerError" ? Cause.findDefect(error.cause) : undefined
        expect(defect !== undefined && Result.isSuccess(defect) && (defect.success as { _tag: string })._tag).toBe(
          "HttpApiSchemaError"
        )
        const invalid = yield* TestClient.get("/count", { params: { order: "sideways" } }).pipe(Effect.provide(layer))
        expect(invalid.status).toBe(400)
      }
    })
  )

  it.live("the same answers as production: an empty 500 for the bad success value, 400 for the bad query", () =>
    Effect.gen(function* () {
      const production = yield* Effect.gen(function* () {
        yield* Layer.build(ServerLive)
        const bad = yield* HttpClient.get("/count")
        const invalid = yield* HttpClient.get("/count?order=sideways")
        return [bad.status, yield* bad.text, invalid.status]
      }).pipe(Effect.scoped, Effect.provide(NodeHttpServer.layerTest), Effect.provide(quiet))
      const kit = yield* Effect.gen(function* () {
        const bad = yield* TestClient.get("/count")
        const invalid = yield* TestClient.get("/count?order=sideways")
        return [bad.status, yield* bad.text, invalid.status]
      }).pipe(
        Effect.provide(TestClient.layerServer(ServerLive, { serverErrors: "respond" }).pipe(Layer.provide(quiet)))
      )
      expect(production).toEqual([500, "", 400])
      expect(kit).toEqual(production)
    })
  )
})

/**
 * Production parity: the same bootstraps on a real Node server, read by a real client. What
 * the kit returns with `serverErrors: "respond"` must be what goes over the socket.
 */
describe("parity with NodeHttpServer", () => {
  const variants = [
    ["logger", HttpMiddleware.logger as Middleware],
    ["mapErrors given to serve", mapErrors],
    ["a middleware that dies", brokenGate]
  ] as const
  const paths = ["/ok", "/boom", "/typed", "/no-such-route"]

  const overSocket = (mw: Middleware) =>
    Effect.gen(function* () {
      yield* Layer.build(bootstrap(mw))
      return yield* Effect.forEach(paths, (path) =>
        Effect.flatMap(HttpClient.get(path), (r) => Effect.map(r.text, (text) => `${path} ${r.status} ${text}`))
      )
    }).pipe(Effect.provide(NodeHttpServer.layerTest), Effect.provide(quiet))

  const inProcess = (mw: Middleware) =>
    Effect.forEach(paths, (path) =>
      Effect.flatMap(TestClient.get(path), (r) => Effect.map(r.text, (text) => `${path} ${r.status} ${text}`))
    ).pipe(Effect.provide(served(mw, { serverErrors: "respond" })))

  for (const [name, mw] of variants) {
    it.live(`serve(router, ${name}) answers the same in process as over a socket`, () =>
      Effect.gen(function* () {
        const expected = yield* overSocket(mw)
        expect(yield* inProcess(mw)).toEqual(expected)
      })
    )
  }
})
