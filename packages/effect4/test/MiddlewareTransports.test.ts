/**
 * A serve middleware's outcomes over both transports: a middleware that fails or dies before
 * calling the app fails the request with ServerError (its Cause kept), and one still working
 * after the app answered makes RequestTimeout say so, in process and over a socket alike.
 */
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Cause, Deferred, Effect, Exit, Layer, Logger } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"

/**
 * `self`, failed (not left to vitest's timeout) when it takes longer than `ms` on the wall
 * clock. It runs in a fiber of its own, interrupted without waiting for it: a hang may be
 * uninterruptible (a scope close).
 */
const within = <A, E, R>(ms: number, what: string, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.forkDetach(self), (fiber) =>
    Effect.callback<A, E>((resume) => {
      const timer = setTimeout(() => {
        fiber.interruptUnsafe()
        resume(Effect.die(new Error(`${what}: still waiting after ${ms}ms`)))
      }, ms)
      fiber.addObserver((exit) => {
        clearTimeout(timer)
        resume(exit)
      })
      return Effect.sync(() => {
        clearTimeout(timer)
        fiber.interruptUnsafe()
      })
    })
  )

const transports = [
  ["in process", {}],
  ["over a socket", { transport: "socket" }]
] as const

describe("a middleware given to serve, over both transports", () => {
  const Routes = HttpRouter.add("GET", "/ok", HttpServerResponse.text("ok"))
  type Middleware = <E, R>(
    app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  const served = (mw: Middleware, options: TestClient.Options) =>
    TestClient.layerServer(
      Layer.unwrap(Effect.map(HttpRouter.toHttpEffect(Routes), (app) => HttpServer.serve(app, mw))),
      { ...options, report: "never" }
    ).pipe(Layer.provide(Logger.layer([])))

  for (const [name, options] of transports) {
    it.live(`one that dies before calling the app fails the request with ServerError (${name})`, () =>
      Effect.gen(function* () {
        const exit = yield* within(5_000, "request", Effect.exit(TestClient.get("/ok")))
        const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : `a response ${exit.value.status}`
        expect(error).toMatchObject({ _tag: "ServerError", status: 500 })
        expect(String((error as { cause?: unknown }).cause)).toContain("gate")
      }).pipe(Effect.provide(served((app) => Effect.andThen(Effect.die(new Error("gate")), app), options)))
    )

    it.live(`one that fails before calling the app fails the request with ServerError (${name})`, () =>
      Effect.gen(function* () {
        const exit = yield* within(5_000, "request", Effect.exit(TestClient.get("/ok")))
        const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : `a response ${exit.value.status}`
        expect(error).toMatchObject({ _tag: "ServerError", status: 500 })
      }).pipe(Effect.provide(served((app) => Effect.andThen(Effect.fail("gate" as never), app), options)))
    )

    it.live(`one still working after the app answered: RequestTimeout says answered 200 (${name})`, () =>
      Effect.gen(function* () {
        const audited = yield* Deferred.make<void>()
        const error = yield* within(5_000, "request", Effect.flip(TestClient.get("/ok", { timeout: 300 }))).pipe(
          Effect.ensuring(Deferred.succeed(audited, undefined)),
          Effect.provide(served((app) => Effect.tap(app, () => Deferred.await(audited)), options))
        )
        expect(error._tag).toBe("RequestTimeout")
        expect(error._tag === "RequestTimeout" && error.answered).toBe(200)
        expect(error.message).toContain("the app answered 200, but its handler was still running")
      })
    )
  }
})
