/**
 * Server errors when `serve` is given a middleware (`HttpServer.serve(app, mw)`,
 * `HttpApiBuilder.serve(mw)`): the most common production bootstrap. An unhandled failure
 * must surface as `ServerError` with the app's own cause whatever middleware `serve` runs,
 * responses the app or a middleware produce deliberately stay responses, and with
 * `serverErrors: "respond"` the client gets exactly what a real Node server sends.
 */
import {
  HttpApi,
  HttpApiBuilder,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiSchema,
  type HttpApp,
  HttpClient,
  HttpMiddleware,
  HttpRouter,
  HttpServer,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Layer, Logger, Option, Schema, Stream } from "effect"
import { TestClient } from "effect-http-testkit"

/** The middleware's own log lines are not what these tests look at. */
const quiet = Logger.remove(Logger.defaultLogger)

const router = HttpRouter.empty.pipe(
  HttpRouter.get("/ok", HttpServerResponse.text("ok")),
  HttpRouter.get("/boom", Effect.die(new Error("kaboom"))),
  HttpRouter.get("/typed", Effect.fail("inventory unavailable" as const)),
  HttpRouter.get("/not-found", HttpServerResponse.text("gone", { status: 404 })),
  HttpRouter.get(
    "/stream-late",
    Effect.succeed(
      HttpServerResponse.stream(
        Stream.concat(Stream.make(new TextEncoder().encode("first ")), Stream.die(new Error("late")))
      )
    )
  ),
  HttpRouter.get(
    "/ws-boom",
    Effect.gen(function* () {
      yield* Effect.die(new Error("before upgrade"))
      return HttpServerResponse.empty()
    })
  ),
  HttpRouter.get(
    "/forwarded",
    Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
      HttpServerResponse.text(Option.getOrElse(request.remoteAddress, () => "none"))
    )
  )
)

/** The middlewares here keep the app's types (`HttpMiddleware`'s own type widens them to any). */
type Middleware = <E, R>(app: HttpApp.Default<E, R>) => HttpApp.Default<E, R>

/** Turns any failure into a 503 of its own: effective around the app, too late inside `serve`. */
const mapErrors: Middleware = (app) =>
  Effect.catchAllCause(app, () => HttpServerResponse.text("mapped", { status: 503 }))

/** A middleware that dies before the app runs (a broken auth check, say). */
const brokenGate: Middleware = (app) => Effect.zipRight(Effect.die(new Error("gate")), app)

/** The message of the cause's defect (Effect hands the test an equal copy of the app's Error). */
/** Stamps every response: a middleware that does its own work and passes failures on. */
const stamp: Middleware = (app) => Effect.map(app, HttpServerResponse.setHeader("x-mw", "yes"))

const defectOf = (cause: Cause.Cause<unknown>): string | undefined =>
  Option.getOrUndefined(Option.map(Cause.dieOption(cause), (defect) => (defect as Error).message))

const served = (mw: Middleware, options?: TestClient.Options) =>
  TestClient.layerServer(HttpServer.serve(router, mw), options).pipe(Layer.provide(quiet))

describe.each([
  ["HttpMiddleware.logger", HttpMiddleware.logger],
  ["HttpMiddleware.xForwardedHeaders", HttpMiddleware.xForwardedHeaders],
  ["a custom middleware", stamp]
] as const)("serve(router, %s)", (_, mw) => {
  it.scoped("a defect fails the request with ServerError carrying the app's own defect", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/boom"))
      expect(error._tag).toBe("ServerError")
      if (error._tag !== "ServerError") return
      expect(error.status).toBe(500)
      expect(defectOf(error.cause)).toBe("kaboom")
    }).pipe(Effect.provide(served(mw)))
  )

  it.scoped("an unhandled typed failure fails with ServerError holding the error", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/typed"))
      expect(error._tag === "ServerError" && Option.getOrUndefined(Cause.failureOption(error.cause))).toBe(
        "inventory unavailable"
      )
    }).pipe(Effect.provide(served(mw)))
  )

  it.scoped("responses, the router's 404 and the middleware's own work stay plain responses", () =>
    Effect.gen(function* () {
      const ok = yield* TestClient.get("/ok")
      expect(ok.status).toBe(200)
      expect(yield* ok.text).toBe("ok")
      expect((yield* TestClient.get("/not-found")).status).toBe(404)
      expect((yield* TestClient.get("/no-such-route")).status).toBe(404)
    }).pipe(Effect.provide(served(mw)))
  )

  it.scoped("a streamed request whose handler dies fails with ServerError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.stream("GET", "/boom"))
      expect(error._tag === "ServerError" && defectOf(error.cause)).toBe("kaboom")
    }).pipe(Effect.provide(served(mw)))
  )

  it.scoped("a streamed body that fails after its headers fails the body stream, never ends short", () =>
    Effect.gen(function* () {
      const response = yield* TestClient.stream("GET", "/stream-late")
      expect(response.status).toBe(200)
      const error = yield* Effect.flip(Stream.runDrain(response.stream))
      expect(error._tag).toBe("ResponseError")
      const server = error.cause as TestClient.ServerError
      expect(server._tag).toBe("ServerError")
      expect(defectOf(server.cause)).toBe("late")
    }).pipe(Effect.provide(served(mw)))
  )

  it.scoped("a WebSocket handshake whose handler dies fails with ServerError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.websocket("/ws-boom"))
      expect(error._tag === "ServerError" && defectOf(error.cause)).toBe("before upgrade")
    }).pipe(Effect.provide(served(mw)))
  )

  it.scoped('with serverErrors: "respond" the client gets the 500 production sends', () =>
    Effect.gen(function* () {
      expect((yield* TestClient.get("/boom")).status).toBe(500)
      expect((yield* TestClient.get("/typed")).status).toBe(500)
      const ws = yield* Effect.flip(TestClient.websocket("/ws-boom"))
      expect(ws._tag === "WebSocketRejected" && ws.status).toBe(500)
    }).pipe(Effect.provide(served(mw, { serverErrors: "respond" })))
  )
})

describe("middleware that maps errors to responses", () => {
  it.scoped("around the app (e.g. serve(mapErrors(router), logger)) its response is a plain response", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/boom")
      expect(r.status).toBe(503)
      expect(yield* r.text).toBe("mapped")
    }).pipe(
      Effect.provide(
        TestClient.layerServer(HttpServer.serve(mapErrors(router), HttpMiddleware.logger)).pipe(Layer.provide(quiet))
      )
    )
  )

  it.scoped("given to serve, it runs after the 500 went out: ServerError, status 500, as production answers", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/boom"))
      expect(error._tag === "ServerError" && error.status).toBe(500)
      expect(error._tag === "ServerError" && defectOf(error.cause)).toBe("kaboom")
    }).pipe(Effect.provide(served(mapErrors)))
  )

  it.scoped("a middleware given to serve that dies itself fails the request with its defect", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/ok"))
      expect(error._tag === "ServerError" && defectOf(error.cause)).toBe("gate")
    }).pipe(Effect.provide(served(brokenGate)))
  )
})

describe("HttpApiBuilder.serve(HttpMiddleware.logger)", () => {
  class Unavailable extends Schema.TaggedError<Unavailable>()(
    "Unavailable",
    { reason: Schema.String },
    HttpApiSchema.annotations({ status: 503 })
  ) {}
  const Api = HttpApi.make("api").add(
    HttpApiGroup.make("items")
      .add(HttpApiEndpoint.get("boom", "/boom").addSuccess(Schema.String))
      .add(HttpApiEndpoint.get("typed", "/typed").addSuccess(Schema.String).addError(Unavailable))
  )
  const ItemsLive = HttpApiBuilder.group(Api, "items", (handlers) =>
    handlers
      .handle("boom", () => Effect.die(new Error("kaboom")))
      .handle("typed", () => Effect.fail(new Unavailable({ reason: "maintenance" })))
  )
  const ServerLive = HttpApiBuilder.serve(HttpMiddleware.logger).pipe(
    Layer.provide(HttpApiBuilder.api(Api)),
    Layer.provide(ItemsLive)
  )

  it.scoped("a handler that dies fails with ServerError; a typed error is the response the Api declares", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/boom"))
      expect(error._tag === "ServerError" && defectOf(error.cause)).toBe("kaboom")
      const typed = yield* TestClient.get("/typed")
      expect(typed.status).toBe(503)
      expect(yield* typed.json).toEqual({ _tag: "Unavailable", reason: "maintenance" })
    }).pipe(Effect.provide(TestClient.layerServer(ServerLive).pipe(Layer.provide(quiet))))
  )
})

/**
 * Production parity: the same bootstraps on a real Node server, read by a real client. What
 * the kit returns with `serverErrors: "respond"` must be what goes over the socket.
 */
describe("parity with NodeHttpServer", () => {
  const variants = [
    ["logger", HttpMiddleware.logger],
    ["mapErrors given to serve", mapErrors],
    ["a middleware that dies", brokenGate]
  ] as const
  const paths = ["/ok", "/boom", "/typed", "/no-such-route"]

  const overSocket = (mw: Middleware) =>
    Effect.gen(function* () {
      yield* Layer.build(HttpServer.serve(router, mw))
      const client = yield* HttpClient.HttpClient
      return yield* Effect.forEach(paths, (path) =>
        Effect.flatMap(client.get(path), (r) => Effect.map(r.text, (text) => `${path} ${r.status} ${text}`))
      )
    }).pipe(Effect.scoped, Effect.provide(NodeHttpServer.layerTest), Effect.provide(quiet))

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
