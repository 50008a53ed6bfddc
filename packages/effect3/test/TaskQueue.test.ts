/**
 * TaskQueue, the production service for work that outlives a response, and the failure
 * report a failing test prints.
 */
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Logger, Ref, Scope } from "effect"
import { TaskQueue, TestClient } from "effect-http-testkit"

/** A logger that keeps messages, to assert on what the queue logs. */
const capturingLogger = (messages: Ref.Ref<ReadonlyArray<string>>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => {
      const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
      Effect.runSync(Ref.update(messages, (all) => [...all, text]))
    })
  )

describe("TaskQueue.layer (production)", () => {
  it.scoped("tasks outlive the request that started them", () =>
    Effect.gen(function* () {
      const finish = yield* Deferred.make<void>()
      const finished = yield* Deferred.make<void>()
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/send",
          Effect.as(
            TaskQueue.fork(Effect.zipRight(Deferred.await(finish), Deferred.succeed(finished, void 0))),
            HttpServerResponse.empty({ status: 202 })
          )
        )
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.post("/send")
        expect(r.status).toBe(202)
        expect(yield* Deferred.isDone(finished)).toBe(false)
        yield* Deferred.succeed(finish, void 0)
        yield* TestClient.drainTasks
        expect(yield* Deferred.isDone(finished)).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(app).pipe(Layer.provide(TaskQueue.layer))))
    })
  )

  it.scoped("shutdown waits for running tasks", () =>
    Effect.gen(function* () {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const gate = yield* Deferred.make<void>()
      const scope = yield* Scope.make()
      const queue = yield* TaskQueue.make().pipe(Scope.extend(scope))
      yield* queue.fork(
        Effect.zipRight(
          Deferred.await(gate),
          Ref.update(log, (all) => [...all, "task done"])
        )
      )
      expect(yield* queue.size).toBe(1)
      const closing = yield* Effect.fork(
        Effect.zipRight(
          Scope.close(scope, Exit.void),
          Ref.update(log, (all) => [...all, "shut down"])
        )
      )
      yield* Deferred.succeed(gate, void 0)
      yield* Fiber.join(closing)
      // Had shutdown not waited, it would have interrupted the task: "task done" would be missing.
      expect(yield* Ref.get(log)).toEqual(["task done", "shut down"])
    })
  )

  it.scoped("past shutdownTimeout, shutdown interrupts what is left and logs it", () =>
    Effect.gen(function* () {
      const messages = yield* Ref.make<ReadonlyArray<string>>([])
      const interrupted = yield* Deferred.make<void>()
      yield* Effect.gen(function* () {
        const scope = yield* Scope.make()
        // The bound runs on the wall clock, so no TestClock can stall a shutdown.
        const queue = yield* TaskQueue.make({ shutdownTimeout: "200 millis" }).pipe(Scope.extend(scope))
        yield* queue.fork(Effect.onInterrupt(Effect.never, () => Deferred.succeed(interrupted, void 0)))
        yield* Scope.close(scope, Exit.void)
      }).pipe(Effect.provide(capturingLogger(messages)))
      expect(yield* Deferred.isDone(interrupted)).toBe(true)
      const logged = yield* Ref.get(messages)
      expect(logged.some((m) => m.includes("1 task(s) still running 200ms after shutdown began"))).toBe(true)
    })
  )

  it.scoped("a failing task is logged with its cause, not propagated", () =>
    Effect.gen(function* () {
      const messages = yield* Ref.make<ReadonlyArray<string>>([])
      yield* Effect.gen(function* () {
        const queue = yield* TaskQueue.make()
        yield* queue.fork(Effect.fail("smtp down"))
        // Closing the scope waits for the task, which fails and is logged meanwhile.
      }).pipe(Effect.scoped, Effect.provide(capturingLogger(messages)))
      expect((yield* Ref.get(messages)).some((m) => m.includes("a background task failed"))).toBe(true)
    })
  )
})

describe("failure report", () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  const app = HttpRouter.empty.pipe(
    HttpRouter.get("/users/1", Effect.withSpan(HttpServerResponse.json({ id: 1, name: "Ada" }), "load-user"))
  )

  // What a failing test prints is shown by test/Runner.test.ts, whose child vitest has tests
  // that fail; here the test passes.
  it.scoped("a layer given to one request whose failure the test expects prints nothing", () =>
    Effect.gen(function* () {
      const printed: Array<string> = []
      vi.spyOn(console, "error").mockImplementation((text: unknown) => {
        printed.push(String(text))
      })
      const exit = yield* Effect.exit(
        Effect.andThen(TestClient.get("/users/1"), Effect.fail("a failure the test expects")).pipe(
          Effect.provide(TestClient.layer(app))
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(printed).toEqual([])
    })
  )

  it.scoped('a passing test, or report: "never", prints nothing', () =>
    Effect.gen(function* () {
      const printed: Array<string> = []
      vi.spyOn(console, "error").mockImplementation((text: unknown) => {
        printed.push(String(text))
      })
      yield* TestClient.get("/users/1").pipe(Effect.provide(TestClient.layer(app)))
      yield* Effect.exit(
        Effect.zipRight(TestClient.get("/users/1"), Effect.fail("boom")).pipe(
          Effect.provide(TestClient.layer(app, { report: "never" }))
        )
      )
      expect(printed).toEqual([])
    })
  )
})
