/**
 * Background work: `TaskQueue` (the production service for work that outlives a response),
 * `TestClient.drainTasks` and what the client's scope close does with work still running.
 * Every wait is bounded on the wall clock, under TestClock too, and leaked work is named by
 * the request that started it.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { TaskQueue, TestClient } from "@effect-http-testkit/effect4"
import * as ProductionTaskQueue from "@effect-http-testkit/effect4/TaskQueue"
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Logger, Ref, Schema, Scope, Stream } from "effect"
import { HttpClient, HttpRouter, HttpServerResponse } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { TestClock } from "effect/testing"
import ts from "typescript"
import { drainTimeouts } from "./support/exits.js"

/** A logger that keeps each message, to assert on what the queue logs. */
const capturing = (messages: Array<string>) =>
  Logger.layer([
    Logger.make(({ message }) => {
      messages.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
    })
  ])

const accepted = HttpServerResponse.empty({ status: 202 })

describe("TaskQueue.layer (production)", () => {
  it.effect("tasks outlive the request that started them; drainTasks waits for them", () =>
    Effect.gen(function* () {
      const finish = yield* Deferred.make<void>()
      const finished = yield* Deferred.make<void>()
      const app = HttpRouter.add(
        "POST",
        "/send",
        Effect.as(
          TaskQueue.fork(Effect.andThen(Deferred.await(finish), Deferred.succeed(finished, undefined))),
          accepted
        )
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.post("/send")
        expect(r.status).toBe(202)
        expect(yield* Deferred.isDone(finished)).toBe(false)
        yield* Deferred.succeed(finish, undefined)
        yield* TestClient.drainTasks
        expect(yield* Deferred.isDone(finished)).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(app.pipe(Layer.provide(TaskQueue.layer)))))
    })
  )

  it.effect("shutdown waits for running tasks", () =>
    Effect.gen(function* () {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const gate = yield* Deferred.make<void>()
      const scope = yield* Scope.make()
      const queue = yield* TaskQueue.make().pipe(Scope.provide(scope))
      yield* queue.fork(
        Effect.andThen(
          Deferred.await(gate),
          Ref.update(log, (all) => [...all, "task done"])
        )
      )
      expect(yield* queue.size).toBe(1)
      const closing = yield* Effect.forkChild(
        Effect.andThen(
          Scope.close(scope, Exit.void),
          Ref.update(log, (all) => [...all, "shut down"])
        )
      )
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(closing)
      // Had shutdown not waited, it would have interrupted the task: "task done" would be missing.
      expect(yield* Ref.get(log)).toEqual(["task done", "shut down"])
    })
  )

  it.effect("past shutdownTimeout, shutdown interrupts what is left and logs it", () =>
    Effect.gen(function* () {
      const messages: Array<string> = []
      const interrupted = yield* Deferred.make<void>()
      yield* Effect.gen(function* () {
        const scope = yield* Scope.make()
        // The bound runs on the wall clock, so no TestClock can stall a shutdown.
        const queue = yield* TaskQueue.make({ shutdownTimeout: "200 millis" }).pipe(Scope.provide(scope))
        yield* queue.fork(Effect.onInterrupt(Effect.never, () => Deferred.succeed(interrupted, undefined)))
        yield* Scope.close(scope, Exit.void)
      }).pipe(Effect.provide(capturing(messages)))
      expect(yield* Deferred.isDone(interrupted)).toBe(true)
      expect(messages.some((m) => m.includes("1 task(s) still running 200ms after shutdown began"))).toBe(true)
    })
  )

  it.effect("a failing task is logged with its cause, not propagated", () =>
    Effect.gen(function* () {
      const messages: Array<string> = []
      yield* Effect.gen(function* () {
        const queue = yield* TaskQueue.make()
        yield* queue.fork(Effect.fail("smtp down"))
        // Closing the scope waits for the task, which fails and is logged meanwhile.
      }).pipe(Effect.scoped, Effect.provide(capturing(messages)))
      expect(messages.some((m) => m.includes("a background task failed"))).toBe(true)
    })
  )

  it.effect("bad options fail the layer with InvalidOptions saying what to pass", () =>
    Effect.gen(function* () {
      for (const [options, expected] of [
        [{ shutdownTimeout: "forever" }, 'shutdownTimeout "forever" is not a Duration'],
        [{ shutdownTimeout: -1 }, "shutdownTimeout -1 is not a Duration of 0 or more"],
        [{ shutdownTimeout: Number.NaN }, "shutdownTimeout NaN"],
        [{ shutdownTimout: "1 second" }, 'unknown option "shutdownTimout"'],
        ["1 second", "options must be an object"]
      ] as const) {
        const error = yield* Effect.flip(
          Effect.scoped(Effect.asVoid(TaskQueue.make(options as unknown as TaskQueue.Options)))
        )
        expect(error._tag).toBe("InvalidOptions")
        expect(error.message).toContain(expected)
      }
      const fromLayer = yield* Effect.flip(
        Effect.asVoid(Effect.service(TaskQueue.TaskQueue)).pipe(
          Effect.provide(TaskQueue.layerWith({ shutdownTimeout: "soon" as Duration.Input }))
        )
      )
      expect(fromLayer.message).toContain('TaskQueue: shutdownTimeout "soon"')
    })
  )
})

describe("drainTasks", () => {
  it.effect("waits for nested forks: forkDetach, forkIn, TaskQueue.fork, and a fork's own fork", () =>
    Effect.gen(function* () {
      const done = yield* Ref.make<ReadonlyArray<string>>([])
      const mark = (what: string) => Ref.update(done, (all) => [...all, what])
      const gate = yield* Deferred.make<void>()
      const detachedDone = yield* Deferred.make<void>()
      const outside = yield* Effect.scope
      const app = HttpRouter.add(
        "POST",
        "/work",
        Effect.gen(function* () {
          yield* Effect.forkDetach(
            Effect.gen(function* () {
              yield* Deferred.await(gate)
              // A fork made by a fork, which outlives the fork that made it.
              yield* Effect.forkDetach(Effect.andThen(Deferred.await(detachedDone), mark("grandchild")))
              yield* mark("detached")
              yield* Deferred.succeed(detachedDone, undefined)
            })
          )
          yield* Effect.forkIn(Effect.andThen(Deferred.await(gate), mark("forkIn")), outside)
          yield* TaskQueue.fork(Effect.andThen(Deferred.await(gate), mark("task")))
          return accepted
        })
      )
      yield* Effect.gen(function* () {
        yield* TestClient.post("/work")
        expect(yield* Ref.get(done)).toEqual([])
        // The drain starts (at once, not when the test next yields) while every task is held by
        // the gate, and records when it returns: had it not waited, "drained" would come before
        // the tasks' marks.
        const drained = yield* Effect.forkChild(Effect.andThen(TestClient.drainTasks, mark("drained")), {
          startImmediately: true
        })
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(drained)
        const log = yield* Ref.get(done)
        expect(log[log.length - 1]).toBe("drained")
        expect([...log].sort()).toEqual(["detached", "drained", "forkIn", "grandchild", "task"])
        expect(log.indexOf("grandchild")).toBeGreaterThan(log.indexOf("detached"))
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  it.effect("drains work a handler forked just before it returned, before that work ran a step", () =>
    Effect.gen(function* () {
      const release = yield* Deferred.make<void>()
      const done = yield* Ref.make(false)
      const app = HttpRouter.add(
        "GET",
        "/fork",
        Effect.as(
          Effect.forkDetach(Effect.andThen(Deferred.await(release), Ref.set(done, true))),
          HttpServerResponse.text("forked")
        )
      )
      yield* Effect.gen(function* () {
        const response = yield* TestClient.get("/fork")
        expect(yield* response.text).toBe("forked")
        // The drain begins at once, while the forked fiber is held (it may not have run a step yet).
        const draining = yield* Effect.forkChild(Effect.andThen(TestClient.drainTasks, Ref.get(done)), {
          startImmediately: true
        })
        expect(yield* Ref.get(done)).toBe(false)
        yield* Deferred.succeed(release, undefined)
        // What the drain saw as it returned: the work had ended.
        expect(yield* Fiber.join(draining)).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  it.live("an infinite drainTimeout waits for the work instead of timing out at once", () =>
    Effect.gen(function* () {
      const done = yield* Ref.make(false)
      const app = HttpRouter.add(
        "GET",
        "/bg",
        Effect.as(
          Effect.forkDetach(
            Effect.andThen(
              Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 30))),
              Ref.set(done, true)
            )
          ),
          HttpServerResponse.text("started")
        )
      )
      yield* Effect.gen(function* () {
        yield* TestClient.get("/bg")
        yield* TestClient.drainTasks
        expect(yield* Ref.get(done)).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(app, { drainTimeout: Duration.infinity })))
    })
  )

  it.effect("waits for background work, not for a streamed body the test holds open", () =>
    Effect.gen(function* () {
      const app = HttpRouter.add(
        "GET",
        "/feed",
        Effect.succeed(
          HttpServerResponse.stream(Stream.concat(Stream.make(new TextEncoder().encode("data: hi\n\n")), Stream.never))
        )
      )
      const Served = HttpRouter.serve(app, { disableListenLog: true, disableLogger: true }).pipe(
        Layer.provideMerge(TestClient.layerTestWith({ drainTimeout: "2 seconds" }))
      )
      yield* Effect.gen(function* () {
        const response = yield* HttpClient.get("/feed")
        expect(response.status).toBe(200)
        // The handler is still writing the body the test reads: an exchange, not background work.
        yield* TestClient.drainTasks
        const first = yield* response.stream.pipe(Stream.take(1), Stream.runCollect)
        expect(new TextDecoder().decode(first[0])).toBe("data: hi\n\n")
      }).pipe(Effect.provide(Served))
    })
  )

  it.effect("waits for a task the request queued, even while that request is still streaming its body", () =>
    Effect.gen(function* () {
      const release = yield* Deferred.make<void>()
      const sent = yield* Ref.make(false)
      const app = HttpRouter.add(
        "GET",
        "/feed",
        Effect.as(
          TaskQueue.fork(Effect.andThen(Deferred.await(release), Ref.set(sent, true))),
          HttpServerResponse.stream(Stream.concat(Stream.make(new TextEncoder().encode("a")), Stream.never))
        )
      )
      const Served = HttpRouter.serve(app, { disableListenLog: true, disableLogger: true }).pipe(
        Layer.provideMerge(TestClient.layerTest)
      )
      yield* Effect.gen(function* () {
        expect((yield* HttpClient.get("/feed")).status).toBe(200)
        // A task is background work from the start: the drain waits for it, not for the stream.
        const drained = yield* Effect.forkChild(Effect.andThen(TestClient.drainTasks, Ref.get(sent)), {
          startImmediately: true
        })
        yield* Deferred.succeed(release, undefined)
        expect(yield* Fiber.join(drained)).toBe(true)
      }).pipe(Effect.provide(Served))
    })
  )

  it.effect("says it was drainTasks that waited, names the request, and the TestClock sleep that holds it", () =>
    Effect.gen(function* () {
      const app = HttpRouter.add(
        "POST",
        "/later",
        Effect.as(Effect.forkDetach(Effect.sleep("10 seconds")), HttpServerResponse.empty())
      )
      yield* Effect.gen(function* () {
        yield* TestClient.post("/later")
        const error = yield* Effect.flip(TestClient.drainTasks)
        expect(error._tag).toBe("DrainTimeout")
        expect(error.message).toContain("drainTasks waited 100ms")
        expect(error.message).not.toContain("scope began to close")
        expect(error.message).toMatch(/fiber #\d+ started by POST \/later/)
        expect(error.message).toContain('TestClock.adjust("10000 millis")')
        // Advancing the TestClock as the message says ends the work: the drain then returns.
        yield* TestClock.adjust("10 seconds")
        yield* TestClient.drainTasks
      }).pipe(Effect.provide(TestClient.layer(app, { drainTimeout: "100 millis", backgroundWork: "interrupt" })))
    })
  )

  it.effect("called from inside background work, fails at once with DrainDeadlock instead of waiting for itself", () =>
    Effect.gen(function* () {
      // The app's background work gets hold of the test's client (as a shared test helper
      // might) and calls drainTasks: it must fail at once, not wait for itself.
      const client = yield* Deferred.make<TestClient.Service>()
      const result = yield* Deferred.make<string>()
      const app = HttpRouter.add(
        "POST",
        "/selfish",
        Effect.as(
          Effect.forkDetach(
            Deferred.await(client).pipe(
              Effect.flatMap((c) => Effect.flip(c.drainTasks)),
              Effect.flatMap((error) => Deferred.succeed(result, `${error._tag}: ${error.message}`))
            )
          ),
          accepted
        )
      )
      yield* Effect.gen(function* () {
        yield* Deferred.succeed(client, yield* TestClient.TestClient)
        yield* TestClient.post("/selfish")
        const message = yield* Deferred.await(result)
        expect(message).toContain("DrainDeadlock")
        expect(message).toContain("started by POST /selfish")
        // From the test itself, it works.
        yield* TestClient.drainTasks
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  it.effect(
    "the kit provides a tracked TaskQueue: the app needs no layer, and a task forked at startup is drained too",
    () =>
      Effect.gen(function* () {
        const release = yield* Deferred.make<void>()
        const log = yield* Ref.make<ReadonlyArray<string>>([])
        // An app layer that queues a task as it starts (a cache warm-up), outside any request.
        const warmUp = Layer.effectDiscard(
          TaskQueue.fork(
            Effect.andThen(
              Deferred.await(release),
              Ref.update(log, (all) => [...all, "warmed up"])
            )
          )
        )
        const app = Layer.mergeAll(HttpRouter.add("GET", "/", Effect.succeed(HttpServerResponse.text("up"))), warmUp)
        yield* Effect.gen(function* () {
          expect(yield* (yield* TestClient.get("/")).text).toBe("up")
          const drained = yield* Effect.forkChild(
            Effect.andThen(
              TestClient.drainTasks,
              Ref.update(log, (all) => [...all, "drained"])
            ),
            { startImmediately: true }
          )
          yield* Deferred.succeed(release, undefined)
          yield* Fiber.join(drained)
          expect(yield* Ref.get(log)).toEqual(["warmed up", "drained"])
        }).pipe(Effect.provide(TestClient.layer(app)))
      })
  )
})

describe("an app that provides TaskQueue.layer itself", () => {
  it.effect("its task queued at startup is drained by drainTasks, as the kit's own queue's is", () =>
    Effect.gen(function* () {
      const release = yield* Deferred.make<void>()
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const warmUp = Layer.effectDiscard(
        TaskQueue.fork(
          Effect.andThen(
            Deferred.await(release),
            Ref.update(log, (all) => [...all, "warmed up"])
          )
        )
      )
      const app = Layer.mergeAll(
        HttpRouter.add("GET", "/", Effect.succeed(HttpServerResponse.text("up"))),
        warmUp
      ).pipe(Layer.provide(TaskQueue.layer))
      yield* Effect.gen(function* () {
        expect(yield* (yield* TestClient.get("/")).text).toBe("up")
        const drained = yield* Effect.forkChild(
          Effect.andThen(
            TestClient.drainTasks,
            Ref.update(log, (all) => [...all, "drained"])
          ),
          { startImmediately: true }
        )
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(drained)
        expect(yield* Ref.get(log)).toEqual(["warmed up", "drained"])
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  it.effect("a task it queues outside any request that never ends is named at drainTasks' timeout", () =>
    Effect.gen(function* () {
      const app = Layer.mergeAll(
        HttpRouter.add("GET", "/", Effect.succeed(HttpServerResponse.text("up"))),
        Layer.effectDiscard(TaskQueue.fork(Effect.never))
      ).pipe(Layer.provide(TaskQueue.layer))
      const error = yield* Effect.flip(TestClient.drainTasks).pipe(
        Effect.provide(TestClient.layer(app, { drainTimeout: "100 millis", backgroundWork: "interrupt" }))
      )
      expect(error._tag).toBe("DrainTimeout")
      expect(error.message).toContain("TaskQueue task")
      expect(error.message).toContain("started outside any request")
    })
  )
})

describe("scope close", () => {
  it.effect("a leaked forkDetach fiber fails the scope close with DrainTimeout, once, and is interrupted", () =>
    Effect.gen(function* () {
      const interrupted = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const app = HttpRouter.add(
        "POST",
        "/leak",
        Effect.as(
          Effect.forkDetach(
            Deferred.succeed(started, undefined).pipe(
              Effect.andThen(Effect.never),
              Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
            )
          ),
          HttpServerResponse.empty()
        )
      )
      const exit = yield* Effect.exit(
        Effect.andThen(TestClient.post("/leak"), Deferred.await(started)).pipe(
          Effect.provide(TestClient.layer(app, { drainTimeout: "50 millis" }))
        )
      )
      const [timeout, ...more] = drainTimeouts(exit)
      expect(more).toEqual([])
      expect(timeout?.message).toContain("still running 50ms after the scope began to close")
      expect(timeout?.message).toMatch(/fiber #\d+ started by POST \/leak/)
      expect(timeout?.message).toContain("interrupted them, so nothing outlives the test")
      // Interrupted by the kit, not left running: this would wait forever otherwise.
      yield* Deferred.await(interrupted)
    })
  )

  it.live("a task that never ends is named with its request and open span, within drainTimeout", () =>
    Effect.gen(function* () {
      const app = HttpRouter.add(
        "POST",
        "/leak",
        Effect.as(TaskQueue.fork(Effect.withSpan(Effect.never, "leaky.task")), accepted)
      )
      const exit = yield* Effect.exit(
        TestClient.post("/leak").pipe(Effect.provide(TestClient.layer(app, { drainTimeout: "100 millis" })))
      )
      const [timeout] = drainTimeouts(exit)
      expect(timeout?._tag).toBe("DrainTimeout")
      expect(timeout?.message).toMatch(/TaskQueue task \(fiber #\d+\) started by POST \/leak, in span "leaky\.task"/)
      // Reaching this line at all shows scope close is bounded by drainTimeout: the task never
      // ends, so a drain that waited for it would never return.
    })
  )

  it.live("work that ignores interruption is reported once, within two drainTimeouts, as ignoring it", () =>
    Effect.gen(function* () {
      const finished = yield* Deferred.make<void>()
      const app = HttpRouter.add(
        "POST",
        "/stubborn",
        Effect.as(
          Effect.forkDetach(
            Effect.ensuring(Effect.uninterruptible(Effect.sleep("300 millis")), Deferred.succeed(finished, undefined))
          ),
          accepted
        )
      )
      const exit = yield* Effect.exit(
        TestClient.post("/stubborn").pipe(Effect.provide(TestClient.layer(app, { drainTimeout: "50 millis" })))
      )
      const [timeout, ...more] = drainTimeouts(exit)
      expect(more).toEqual([])
      expect(timeout?.message).toMatch(
        /fiber #\d+ started by POST \/stubborn, in span "POST" \(it sleeps, due in \d+ms\)/
      )
      expect(timeout?.message).toContain("some ignore interruption and are still running")
      // It ends by itself, as it was bound to: nothing of it is left once the test ends.
      yield* Deferred.await(finished)
    })
  )

  const jobs = HttpRouter.add("POST", "/jobs", Effect.as(TaskQueue.fork(Effect.sleep("1 hour")), accepted))

  it.effect(
    "a job sleeping on the TestClock at scope close: DrainTimeout names the TestClock and the adjust, once",
    () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(
          Effect.gen(function* () {
            expect((yield* TestClient.post("/jobs")).status).toBe(202)
          }).pipe(Effect.provide(TestClient.layer(jobs, { drainTimeout: "100 millis" })))
        )
        const [timeout, ...more] = drainTimeouts(exit)
        expect(more).toEqual([])
        expect(timeout?.message).toContain("after the scope began to close")
        expect(timeout?.message).toContain("started by POST /jobs")
        // The one fiber the request left: not the TestClock's own fiber it starts to warn of a sleep.
        expect(timeout?.running).toHaveLength(1)
        expect(timeout?.message).toContain('TestClock.adjust("3600000 millis")')
        expect(timeout?.message).toContain("only wakes when the test advances it")
        expect(timeout?.message).toContain("interrupted them")
      })
  )

  it.effect('backgroundWork: "interrupt" interrupts leftover work at scope close without failing', () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Effect.asVoid(TestClient.post("/jobs")).pipe(
          Effect.provide(TestClient.layer(jobs, { backgroundWork: "interrupt", drainTimeout: "1 second" }))
        )
      )
      expect(exit).toEqual(Exit.void)
    })
  )

  it.effect("with a bootstrap layer, the app shuts down after the drain, even when the test fails", () =>
    Effect.gen(function* () {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const append = (entry: string) => Ref.update(log, (all) => [...all, entry])
      const gate = yield* Deferred.make<void>()
      const app = HttpRouter.add(
        "POST",
        "/",
        Effect.as(Effect.forkDetach(Effect.andThen(Deferred.await(gate), append("background work done"))), accepted)
      )
      const ServerLive = HttpRouter.serve(app, { disableListenLog: true, disableLogger: true }).pipe(
        Layer.provide(Layer.effectDiscard(Effect.acquireRelease(append("startup"), () => append("shutdown"))))
      )
      const exit = yield* Effect.exit(
        Effect.gen(function* () {
          yield* TestClient.post("/")
          return yield* Effect.fail("the test failed")
        }).pipe(
          // The background work is still held when the test fails; it is let go as the test
          // ends, before the client's scope closes, so only the drain can order it before shutdown.
          Effect.ensuring(Deferred.succeed(gate, undefined)),
          Effect.provide(TestClient.layerServer(ServerLive))
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* Ref.get(log)).toEqual(["startup", "background work done", "shutdown"])
    })
  )

  it.effect("under layerTest, leaked work fails the app's close with DrainTimeout naming it", () =>
    Effect.gen(function* () {
      const app = HttpRouter.add("POST", "/leak", Effect.as(Effect.forkDetach(Effect.never), accepted))
      const Served = HttpRouter.serve(app, { disableListenLog: true, disableLogger: true }).pipe(
        Layer.provideMerge(TestClient.layerTestWith({ drainTimeout: "50 millis" }))
      )
      const exit = yield* Effect.exit(Effect.asVoid(HttpClient.post("/leak")).pipe(Effect.provide(Served)))
      const [timeout, ...more] = drainTimeouts(exit)
      expect(more).toEqual([])
      expect(timeout?.message).toMatch(/fiber #\d+ started by POST \/leak/)
    })
  )

  it.effect("work forked by a handler still running at scope close is interrupted once the app has shut down", () =>
    Effect.gen(function* () {
      const interrupted = yield* Deferred.make<void>()
      const forked = yield* Deferred.make<void>()
      const app = HttpRouter.add(
        "GET",
        "/feed",
        Effect.gen(function* () {
          yield* Effect.forkDetach(
            Effect.andThen(Deferred.succeed(forked, undefined), Effect.never).pipe(
              Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
            )
          )
          return HttpServerResponse.stream(Stream.concat(Stream.make(new TextEncoder().encode("a")), Stream.never))
        })
      )
      const Served = HttpRouter.serve(app, { disableListenLog: true, disableLogger: true }).pipe(
        Layer.provideMerge(TestClient.layerTestWith({ drainTimeout: "1 second" }))
      )
      const exit = yield* Effect.exit(
        Effect.gen(function* () {
          expect((yield* HttpClient.get("/feed")).status).toBe(200)
          yield* Deferred.await(forked)
        }).pipe(Effect.provide(Served))
      )
      // The test left while the body was still streaming: not a leak of background work, but
      // nothing the handler forked may outlive the test.
      expect(exit).toEqual(Exit.void)
      yield* Deferred.await(interrupted)
    })
  )
})

describe("TaskQueue under TestClock", () => {
  it.effect("TaskQueue.layer's shutdown bound runs on the wall clock: scope close ends under TestClock", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const exit = yield* Effect.exit(
        Effect.scoped(
          Effect.gen(function* () {
            yield* TaskQueue.fork(Effect.andThen(Deferred.succeed(started, undefined), Effect.never))
            yield* Deferred.await(started)
          }).pipe(Effect.provide(TaskQueue.layerWith({ shutdownTimeout: "50 millis" })))
        )
      )
      expect(Exit.isSuccess(exit)).toBe(true)
    })
  )

  it.live("a shutdown with nothing running ends at once, however long its bound", () =>
    Effect.gen(function* () {
      const tasks = yield* Effect.scoped(
        Effect.flatMap(Effect.service(TaskQueue.TaskQueue), (queue) => queue.size).pipe(
          Effect.provide(TaskQueue.layerWith({ shutdownTimeout: "1 hour" }))
        )
      )
      expect(tasks).toBe(0)
    })
  )
})

describe("options", () => {
  it.effect("a bad drainTimeout or backgroundWork fails every request with InvalidRequest naming it", () =>
    Effect.gen(function* () {
      const app = HttpRouter.add("GET", "/", Effect.succeed(HttpServerResponse.text("up")))
      for (const [options, expected] of [
        [{ drainTimeout: -1 }, "drainTimeout -1 is not a positive Duration"],
        [{ drainTimeout: "forever" }, 'drainTimeout "forever" is not a positive Duration'],
        [{ drainTimeout: Number.NaN }, "drainTimeout NaN is not a positive Duration"],
        [{ drainTimeout: 0 }, "drainTimeout 0 is not a positive Duration"],
        [{ backgroundWork: "wait" }, 'backgroundWork must be "drain" or "interrupt", got "wait"']
      ] as const) {
        const error = yield* Effect.flip(
          TestClient.get("/").pipe(Effect.provide(TestClient.layer(app, options as TestClient.Options)))
        )
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain(expected)
      }
    })
  )
})

describe("the TaskQueue entry point (production code)", () => {
  const pkg = fileURLToPath(new URL("..", import.meta.url))

  it("is the package's ./TaskQueue export, the same module the main entry exports as TaskQueue", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(pkg, "package.json"), "utf8")) as {
      readonly exports: Record<string, unknown>
    }
    expect(manifest.exports["./TaskQueue"]).toEqual({
      types: "./dist/TaskQueue.d.ts",
      import: "./dist/TaskQueue.js"
    })
    expect(ProductionTaskQueue.TaskQueue).toBe(TaskQueue.TaskQueue)
    expect(ProductionTaskQueue.layer).toBe(TaskQueue.layer)
  })

  it("imports nothing but effect and its own wall-clock helper", () => {
    const src = path.join(pkg, "src")
    const files: Array<string> = []
    const packages = new Set<string>()
    const visit = (file: string) => {
      if (files.includes(file)) return
      files.push(file)
      const source = fs.readFileSync(path.join(src, file), "utf8")
      for (const { fileName } of ts.preProcessFile(source, true, true).importedFiles) {
        if (fileName.startsWith(".")) visit(path.posix.join(path.posix.dirname(file), fileName.replace(/\.js$/, ".ts")))
        else packages.add(fileName.split("/")[0]!)
      }
    }
    visit("TaskQueue.ts")
    expect(files.sort()).toEqual(["TaskQueue.ts", "internal/clock.ts"])
    expect(Array.from(packages)).toEqual(["effect"])
  })
})

describe("an HttpApiBuilder app (its handlers restore the context their group was built in)", () => {
  class LaterApi extends HttpApi.make("later").add(
    HttpApiGroup.make("jobs").add(HttpApiEndpoint.post("later", "/later", { success: Schema.String }))
  ) {}
  const app = (gate: Deferred.Deferred<void>, ended: Deferred.Deferred<Exit.Exit<void>>) =>
    HttpApiBuilder.layer(LaterApi).pipe(
      Layer.provide(
        HttpApiBuilder.group(LaterApi, "jobs", (handlers) =>
          handlers.handle("later", () =>
            Effect.as(
              Effect.forkDetach(Effect.onExit(Deferred.await(gate), (exit) => Deferred.succeed(ended, exit))),
              "queued"
            )
          )
        )
      )
    )

  it.effect("the work its handlers fork is named by request, drained and interrupted like any other", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const ended = yield* Deferred.make<Exit.Exit<void>>()
      // Drained: named by the request that started it.
      const exit = yield* Effect.exit(
        Effect.gen(function* () {
          expect(yield* (yield* TestClient.post("/later")).json).toBe("queued")
          const error = yield* Effect.flip(TestClient.drainTasks)
          expect(error.message).toMatch(/fiber #\d+ started by POST \/later/)
        }).pipe(Effect.provide(TestClient.layer(app(gate, ended), { drainTimeout: "50 millis" })))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      // Interrupted at scope close, as production's shutdown does, without failing the test.
      const gate2 = yield* Deferred.make<void>()
      const ended2 = yield* Deferred.make<Exit.Exit<void>>()
      yield* Effect.gen(function* () {
        yield* TestClient.post("/later")
      }).pipe(Effect.provide(TestClient.layer(app(gate2, ended2), { backgroundWork: "interrupt" })))
      expect(Exit.hasInterrupts(yield* Deferred.await(ended2))).toBe(true)
    })
  )
})
