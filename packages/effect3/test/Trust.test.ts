/**
 * Never hang, never lie: every wait of the kit and of the app's shutdown is bounded on the
 * wall clock (under TestClock too), `drainTasks` waits for background work only, what is
 * left at scope close is interrupted, and each problem is reported once, in words that say
 * what happened.
 */
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Layer, Stream } from "effect"
import { TaskQueue, TestClient } from "effect-http-testkit"

/** The defects a scope close died with (the kit reports leaks as defects of the scope close). */
const defects = (exit: Exit.Exit<unknown, unknown>): ReadonlyArray<unknown> =>
  Exit.isFailure(exit) ? Array.from(Cause.defects(exit.cause)) : []

const drainTimeouts = (exit: Exit.Exit<unknown, unknown>) =>
  defects(exit).filter((d): d is TestClient.DrainTimeout => (d as { _tag?: string })._tag === "DrainTimeout")

describe("TaskQueue under TestClock", () => {
  it.scoped("TaskQueue.layer's shutdown bound runs on the wall clock: scope close ends under TestClock", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const exit = yield* Effect.exit(
        Effect.scoped(
          Effect.gen(function* () {
            yield* TaskQueue.fork(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never))
            yield* Deferred.await(started)
          }).pipe(Effect.provide(TaskQueue.layerWith({ shutdownTimeout: "50 millis" })))
        )
      )
      // Before, the bound slept on the TestClock and this never returned.
      expect(Exit.isSuccess(exit)).toBe(true)
    })
  )

  it.live("a shutdown with nothing running ends at once, however long its bound", () =>
    Effect.gen(function* () {
      const tasks = yield* Effect.scoped(
        Effect.flatMap(TaskQueue.TaskQueue, (queue) => queue.size).pipe(
          Effect.provide(TaskQueue.layerWith({ shutdownTimeout: "1 hour" }))
        )
      )
      // Before, the bound's timer could not be interrupted inside the finalizer: this took an hour.
      expect(tasks).toBe(0)
    })
  )

  const app = HttpRouter.empty.pipe(
    HttpRouter.post(
      "/jobs",
      Effect.as(TaskQueue.fork(Effect.sleep("1 hour")), HttpServerResponse.empty({ status: 202 }))
    )
  )

  /** Starts the hour-long job in a client of its own and returns how that client's scope closed. */
  const startJob = (options: TestClient.Options, tasks: Layer.Layer<TaskQueue.TaskQueue>) =>
    Effect.exit(
      Effect.gen(function* () {
        expect((yield* TestClient.post("/jobs")).status).toBe(202)
      }).pipe(Effect.provide(TestClient.layer(app, options).pipe(Layer.provideMerge(tasks))))
    )

  it.scoped(
    'a job sleeping on the TestClock at scope close: "drain" fails with DrainTimeout naming the TestClock, once',
    () =>
      Effect.gen(function* () {
        const exit = yield* startJob(
          { drainTimeout: "100 millis", report: "never" },
          TaskQueue.layerWith({ shutdownTimeout: "50 millis" })
        )
        const [timeout, ...more] = drainTimeouts(exit)
        expect(more).toEqual([])
        expect(timeout.message).toContain("after the scope began to close")
        expect(timeout.message).toContain("started by POST /jobs")
        expect(timeout.message).toContain("TestClock")
        expect(timeout.message).toContain('TestClock.adjust("3600000 millis")')
        expect(timeout.message).toContain("interrupted them")
      })
  )

  it.scoped('backgroundWork: "interrupt" interrupts leftover work at scope close without failing', () =>
    Effect.gen(function* () {
      const exit = yield* startJob({ backgroundWork: "interrupt", drainTimeout: "1 second" }, TaskQueue.layer)
      expect(Exit.isSuccess(exit)).toBe(true)
    })
  )
})

describe("drainTasks", () => {
  it.scoped("waits for background work, not for a stream the test holds open", () =>
    Effect.gen(function* () {
      const feed = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/feed",
          Effect.succeed(
            HttpServerResponse.stream(
              Stream.concat(Stream.make(new TextEncoder().encode("data: hi\n\n")), Stream.never)
            )
          )
        )
      )
      yield* Effect.gen(function* () {
        const response = yield* TestClient.stream("GET", "/feed")
        expect(response.status).toBe(200)
        // Before, the open stream's handler counted as background work and this timed out.
        yield* TestClient.drainTasks
      }).pipe(Effect.provide(TestClient.layer(feed, { drainTimeout: "2 seconds" })))
    })
  )

  it.scoped("says it was drainTasks that waited, and what is sleeping on the TestClock", () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(
        HttpRouter.post("/later", Effect.as(Effect.forkDaemon(Effect.sleep("10 seconds")), HttpServerResponse.empty()))
      )
      yield* Effect.gen(function* () {
        yield* TestClient.post("/later")
        const error = yield* Effect.flip(TestClient.drainTasks)
        expect(error._tag).toBe("DrainTimeout")
        expect(error.message).toContain("drainTasks waited")
        expect(error.message).not.toContain("scope began to close")
        expect(error.message).toContain("started by POST /later")
        expect(error.message).toContain('TestClock.adjust("10000 millis")')
      }).pipe(Effect.provide(TestClient.layer(app, { drainTimeout: "100 millis", backgroundWork: "interrupt" })))
    })
  )
})

describe("scope close", () => {
  it.scoped("a leaked forkDaemon fiber is interrupted at scope close, so it does not outlive the test", () =>
    Effect.gen(function* () {
      const interrupted = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/leak",
          Effect.as(
            Effect.forkDaemon(
              Deferred.succeed(started, undefined).pipe(
                Effect.zipRight(Effect.never),
                Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
              )
            ),
            HttpServerResponse.empty()
          )
        )
      )
      const exit = yield* Effect.exit(
        Effect.zipRight(TestClient.post("/leak"), Deferred.await(started)).pipe(
          Effect.provide(TestClient.layer(app, { drainTimeout: "50 millis", report: "never" }))
        )
      )
      expect(drainTimeouts(exit)).toHaveLength(1)
      // Interrupted by the kit, not left running: this would wait forever otherwise.
      yield* Deferred.await(interrupted)
    })
  )

  it.scoped("a handler that ignores interruption is reported once, within one drainTimeout", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/stuck",
          Effect.uninterruptible(Effect.zipRight(Deferred.succeed(started, undefined), Deferred.await(release))).pipe(
            Effect.as(HttpServerResponse.empty())
          )
        )
      )
      const exit = yield* Effect.exit(
        Effect.gen(function* () {
          yield* Effect.fork(TestClient.stream("GET", "/stuck"))
          yield* Deferred.await(started)
        }).pipe(Effect.scoped, Effect.provide(TestClient.layer(app, { drainTimeout: "50 millis", report: "never" })))
      )
      yield* Deferred.succeed(release, undefined)
      const reports = drainTimeouts(exit)
      expect(reports).toHaveLength(1)
      expect(reports[0].message).toContain("GET http://testserver/stuck")
    })
  )

  it.scoped("a stream read after its client's scope closed says it was disconnected, not that the app failed", () =>
    Effect.gen(function* () {
      const feed = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/feed",
          Effect.succeed(
            HttpServerResponse.stream(Stream.concat(Stream.make(new TextEncoder().encode("first")), Stream.never))
          )
        )
      )
      const response = yield* TestClient.stream("GET", "/feed").pipe(Effect.provide(TestClient.layer(feed)))
      const error = yield* Effect.flip(Stream.runDrain(response.stream))
      expect(error.message).toContain("disconnected")
      expect(error.message).not.toContain("the app failed")
    })
  )

  it.scoped("an app whose shutdown never ends fails the scope close with DrainTimeout instead of hanging", () =>
    Effect.gen(function* () {
      const stuckShutdown = Layer.scopedDiscard(Effect.addFinalizer(() => Effect.never))
      const exit = yield* Effect.exit(
        Effect.gen(function* () {
          expect((yield* TestClient.get("/")).status).toBe(200)
        }).pipe(
          Effect.provide(
            TestClient.layerServer(
              HttpServer.serve(HttpRouter.empty.pipe(HttpRouter.get("/", HttpServerResponse.text("up")))).pipe(
                Layer.provide(stuckShutdown)
              ),
              { drainTimeout: "100 millis", report: "never" }
            )
          )
        )
      )
      const [timeout] = drainTimeouts(exit)
      expect(timeout.message).toContain("the app's shutdown")
    })
  )

  it.scoped("a timeout says where the handler was: its open spans, and the TestClock it sleeps on", () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/report",
          Effect.as(Effect.withSpan(Effect.sleep("10 seconds"), "db.query"), HttpServerResponse.empty())
        )
      )
      const error = yield* Effect.flip(
        TestClient.get("/report").pipe(Effect.provide(TestClient.layer(app, { timeout: "100 millis" })))
      )
      expect(error._tag).toBe("RequestTimeout")
      expect(error.message).toContain('in span "db.query"')
      expect(error.message).toContain('TestClock.adjust("10000 millis")')
    })
  )
})
