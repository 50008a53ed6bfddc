/**
 * Never hang, never lie: every wait of the kit and of the app's shutdown is bounded on the
 * wall clock (under TestClock too), `drainTasks` waits for background work only, what is
 * left at scope close is interrupted, and each problem is reported once, in words that say
 * what happened. (The TaskQueue shutdown bounds, the TestClock hints of `DrainTimeout` and a
 * leaked fiber's interruption are in TaskQueue.test.ts.)
 */
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Deferred, Effect, Exit, Layer, Stream } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { drainTimeouts } from "./support/exits.js"

const endless = (first: string) =>
  HttpServerResponse.stream(Stream.concat(Stream.make(new TextEncoder().encode(first)), Stream.never))

describe("drainTasks", () => {
  it.effect("waits for background work, not for a stream the test holds open", () =>
    Effect.gen(function* () {
      const feed = HttpRouter.add("GET", "/feed", Effect.succeed(endless("data: hi\n\n")))
      yield* Effect.gen(function* () {
        const response = yield* TestClient.stream("GET", "/feed")
        expect(response.status).toBe(200)
        // The open stream's handler is an exchange in progress, not background work.
        yield* TestClient.drainTasks
      }).pipe(Effect.provide(TestClient.layer(feed, { drainTimeout: "2 seconds" })))
    })
  )
})

describe("a handler that ignores interruption", () => {
  it.live("fails the scope close with DrainTimeout naming it, within drainTimeout, not a hang", () =>
    Effect.gen(function* () {
      const release = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const Stuck = HttpRouter.add(
        "GET",
        "/stuck",
        Effect.uninterruptible(Effect.andThen(Deferred.succeed(started, undefined), Deferred.await(release))).pipe(
          Effect.as(HttpServerResponse.text("late"))
        )
      )
      const exit = yield* Effect.exit(
        Effect.gen(function* () {
          yield* Effect.forkChild(TestClient.get("/stuck"))
          yield* Deferred.await(started)
        }).pipe(Effect.provide(TestClient.layer(Stuck, { drainTimeout: "50 millis" })))
      )
      const timeouts = drainTimeouts(exit)
      expect(timeouts).toHaveLength(1)
      expect(timeouts[0]!.message).toContain("the handler of GET http://testserver/stuck")
      expect(timeouts[0]!.message).toContain("ignore interruption")
      // It ends by itself once released: nothing of it is left once the test ends.
      yield* Deferred.succeed(release, undefined)
    })
  )
})

describe("the app's shutdown", () => {
  const served = (shutdown: Layer.Layer<never>) =>
    HttpRouter.serve(HttpRouter.add("GET", "/", HttpServerResponse.text("up")), {
      disableListenLog: true,
      disableLogger: true
    }).pipe(Layer.provide(shutdown))

  // Bounded on the wall clock, under it.effect's TestClock too.
  it.effect("one that never ends fails the scope close with DrainTimeout naming it instead of hanging", () =>
    Effect.gen(function* () {
      const stuckShutdown = Layer.effectDiscard(Effect.addFinalizer(() => Effect.never))
      const exit = yield* Effect.exit(
        Effect.gen(function* () {
          expect((yield* TestClient.get("/")).status).toBe(200)
        }).pipe(
          Effect.provide(TestClient.layerServer(served(stuckShutdown), { drainTimeout: "100 millis", report: "never" }))
        )
      )
      const [timeout, ...more] = drainTimeouts(exit)
      expect(more).toEqual([])
      expect(timeout?.message).toContain("the app's shutdown (the finalizers of its layers)")
      expect(timeout?.message).toContain("goes on in the background")
    })
  )

  it.live("one that ends within drainTimeout after a background job drained for most of it passes", () =>
    Effect.gen(function* () {
      // The job runs ~150 ms of a 250 ms drainTimeout, then the app's own finalizer ~150 ms:
      // the serving part (the drain) does not count against the shutdown's bound.
      const App = HttpRouter.add(
        "POST",
        "/job",
        Effect.as(Effect.forkDetach(Effect.sleep("150 millis")), HttpServerResponse.empty({ status: 202 }))
      )
      const slowShutdown = Layer.effectDiscard(Effect.addFinalizer(() => Effect.sleep("150 millis")))
      const exit = yield* Effect.exit(
        Effect.asVoid(TestClient.post("/job")).pipe(
          Effect.provide(
            TestClient.layerServer(
              HttpRouter.serve(App, { disableListenLog: true, disableLogger: true }).pipe(Layer.provide(slowShutdown)),
              { drainTimeout: "250 millis", report: "never" }
            )
          )
        )
      )
      expect(exit).toEqual(Exit.void)
    })
  )
})

describe("a request's timeout", () => {
  it.effect("says where the handler was: its open span, and the TestClock it sleeps on", () =>
    Effect.gen(function* () {
      const Report = HttpRouter.add(
        "GET",
        "/report",
        Effect.as(Effect.withSpan(Effect.sleep("10 seconds"), "db.query"), HttpServerResponse.empty())
      )
      const layer = TestClient.layer(Report, { timeout: "100 millis", report: "never" })
      for (const send of [TestClient.get("/report"), Effect.asVoid(TestClient.stream("GET", "/report"))]) {
        const error = yield* Effect.flip(send.pipe(Effect.provide(layer)))
        expect(error._tag).toBe("RequestTimeout")
        expect(error.message).toContain('It was in span "db.query"')
        expect(error.message).toContain('TestClock.adjust("10000 millis")')
      }
    })
  )
})

describe("a streamed body read after its client's scope closed", () => {
  it.effect("says the handler was disconnected, not that the app failed", () =>
    Effect.gen(function* () {
      const response = yield* TestClient.stream("GET", "/feed").pipe(
        Effect.provide(TestClient.layer(HttpRouter.add("GET", "/feed", endless("first")), { report: "never" }))
      )
      const error = yield* Effect.flip(Stream.runDrain(response.stream))
      expect(error.message).toContain("disconnected")
      expect(error.message).toContain("TestClient's scope closed")
      expect(error.message).not.toContain("the handler failed")
    })
  )
})
