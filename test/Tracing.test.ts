/**
 * TestTracer, background work and the scoped lifecycle: BEHAVIOURS.md items 35–40.
 */
import { HttpMiddleware, HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Option, Queue, Ref, Stream } from "effect"
import { TaskQueue, TestClient, TestTracer } from "effect-http-testkit"

const encoder = new TextEncoder()

describe("seed recipes", () => {
  it.scoped("a buffered request asserted via spanId", () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/users/:id",
          Effect.gen(function* () {
            yield* Effect.annotateCurrentSpan("user.id", "42")
            yield* Effect.log("loading user")
            return yield* HttpServerResponse.json({ id: 42 })
          }).pipe(Effect.withSpan("load-user"))
        )
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.get("/users/42")
        const span = yield* TestTracer.getSpan(r.spanId)
        expect(span.name).toBe("http.server GET")
        expect(span.kind).toBe("server")
        expect(yield* TestTracer.hasAttribute(r.spanId, "http.route", "/users/:id")).toBe(true)
        expect(yield* TestTracer.hasAttribute(r.spanId, "http.response.status_code", 200)).toBe(true)
        expect(yield* TestTracer.hasAttribute(r.spanId, "url.path", "/users/42")).toBe(true)
        const child = yield* TestTracer.findSpan("load-user", { rootId: r.spanId })
        expect(child.parentSpanId).toBe(r.spanId)
        expect(yield* TestTracer.hasAttribute(child.spanId, "user.id", "42")).toBe(true)
        expect(yield* TestTracer.hasEvent(child.spanId, "loading user")).toBe(true)
        expect((yield* TestTracer.getEvent(child.spanId, "loading user")).name).toBe("loading user")
        expect(yield* TestTracer.getEvents(child.spanId, { name: "loading user" })).toHaveLength(1)
        const tree = yield* TestTracer.render(r.spanId)
        expect(tree).toContain("http.server GET")
        expect(tree).toContain("  load-user")
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  it.scoped("a stream, with findSpan(..., { rootId }) for a child span opened while the stream is open", () =>
    Effect.gen(function* () {
      const ticks = yield* Queue.unbounded<number>()
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/feed",
          Effect.succeed(
            HttpServerResponse.stream(
              Stream.fromQueue(ticks).pipe(
                Stream.mapEffect((n) =>
                  Effect.succeed(encoder.encode(`data: ${n}\n\n`)).pipe(
                    Effect.withSpan("feed.tick", { attributes: { "tick.n": n } })
                  )
                )
              ),
              { contentType: "text/event-stream" }
            )
          )
        )
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.stream("GET", "/feed")
        yield* Queue.offer(ticks, 1)
        const first = yield* r.events.pipe(Stream.take(1), Stream.runCollect)
        expect(Array.from(first)).toEqual([{ data: "1" }])
        const tick = yield* TestTracer.findSpan("feed.tick", { rootId: r.spanId })
        expect(yield* TestTracer.hasAttribute(tick.spanId, "tick.n", 1)).toBe(true)
        // The http.server span itself is still open while the stream is: not visible yet.
        const open = yield* Effect.flip(TestTracer.getSpan(r.spanId))
        expect(open.message).toContain("still open")
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  it.scoped('a 204 followed by background work whose child span carries work.result = "done" after drainTasks', () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/jobs",
          Effect.gen(function* () {
            yield* Effect.forkDaemon(
              Effect.gen(function* () {
                yield* Effect.yieldNow()
                yield* Effect.annotateCurrentSpan("work.result", "done")
              }).pipe(Effect.withSpan("background.work"))
            )
            return HttpServerResponse.empty({ status: 204 })
          })
        )
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.post("/jobs")
        expect(r.status).toBe(204)
        yield* TestClient.drainTasks
        const work = yield* TestTracer.findSpan("background.work", { rootId: r.spanId })
        expect(yield* TestTracer.hasAttribute(work.spanId, "work.result", "done")).toBe(true)
        expect(yield* TestTracer.hasOpenSpans).toBe(false)
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )
})

describe("tracing", () => {
  const app = HttpRouter.empty.pipe(
    HttpRouter.get("/a", Effect.as(Effect.withSpan(Effect.void, "db.query"), HttpServerResponse.text("a"))),
    HttpRouter.get("/b", Effect.as(Effect.withSpan(Effect.void, "db.query"), HttpServerResponse.text("b"))),
    HttpRouter.get("/fails", Effect.withSpan(Effect.fail("nope"), "doomed"))
  )

  it.scoped("35. findSpan with rootId searches only that request's subtree, even with shared span names", () =>
    Effect.gen(function* () {
      const a = yield* TestClient.get("/a")
      const b = yield* TestClient.get("/b")
      const underA = yield* TestTracer.findSpan("db.query", { rootId: a.spanId })
      const underB = yield* TestTracer.findSpan("db.query", { rootId: b.spanId })
      expect(underA.spanId).not.toBe(underB.spanId)
      expect(underA.parentSpanId).toBe(a.spanId)
      expect(underB.parentSpanId).toBe(b.spanId)
      const byParent = yield* TestTracer.findSpan("db.query", { parentId: b.spanId })
      expect(byParent.spanId).toBe(underB.spanId)
      const missing = yield* Effect.flip(TestTracer.findSpan("db.qeury", { rootId: a.spanId }))
      expect(missing._tag).toBe("SpanNotFound")
      expect(missing.message).toContain("db.query")
      // Start order: each server span starts before the query it contains.
      expect((yield* TestTracer.spans).map((s) => s.name)).toEqual([
        "http.server GET",
        "db.query",
        "http.server GET",
        "db.query"
      ])
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.scoped("the server span records the response, and a failing child span its failure", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/fails")
      expect(r.status).toBe(500)
      expect(yield* TestTracer.hasAttribute(r.spanId, "http.response.status_code", 500)).toBe(true)
      const doomed = yield* TestTracer.findSpan("doomed", { rootId: r.spanId })
      expect(doomed.exit?._tag).toBe("Failure")
      expect(yield* TestTracer.render(r.spanId)).toContain("doomed (")
      expect(yield* TestTracer.render(r.spanId)).toContain("[failed: nope]")
    }).pipe(Effect.provide(TestClient.layer(app, { serverErrors: "respond" })))
  )

  it.scoped("spans the test itself creates are recorded too", () =>
    Effect.gen(function* () {
      yield* Effect.withSpan(Effect.void, "test.step")
      const span = yield* TestTracer.findSpan("test.step")
      expect(span.owner).toBeUndefined()
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.scoped("a request with tracing disabled has no spanId, and getSpan says why", () =>
    Effect.gen(function* () {
      const quiet = HttpServer.serve(HttpRouter.empty.pipe(HttpRouter.get("/", HttpServerResponse.text("ok")))).pipe(
        HttpMiddleware.withTracerDisabledWhen(() => true)
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.get("/")
        expect(r.status).toBe(200)
        expect(r.spanId).toBe("")
        const error = yield* Effect.flip(TestTracer.getSpan(r.spanId))
        expect(error.message).toContain("tracing was disabled")
      }).pipe(Effect.provide(TestClient.layerServer(quiet)))
    })
  )

  it.effect("TestTracer.layer works alone, for code that is not HTTP", () =>
    Effect.gen(function* () {
      yield* Effect.withSpan(Effect.log("hello"), "job", { attributes: { "job.kind": "nightly" } })
      const job = yield* TestTracer.findSpan("job")
      expect(yield* TestTracer.hasAttribute(job.spanId, "job.kind", "nightly")).toBe(true)
      expect(yield* TestTracer.hasEvent(job.spanId, "hello")).toBe(true)
    }).pipe(Effect.provide(TestTracer.layer))
  )
})

describe("background work", () => {
  it.scoped(
    "36. a span is invisible until it ends; a child span ended by background work is visible after drainTasks",
    () =>
      Effect.gen(function* () {
        const started = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const app = HttpRouter.empty.pipe(
          HttpRouter.post(
            "/later",
            Effect.as(
              Effect.forkDaemon(
                Effect.withSpan(
                  Effect.zipRight(Deferred.succeed(started, void 0), Deferred.await(release)),
                  "later.work"
                )
              ),
              HttpServerResponse.empty({ status: 202 })
            )
          )
        )
        yield* Effect.gen(function* () {
          const r = yield* TestClient.post("/later")
          yield* Deferred.await(started)
          expect(yield* TestTracer.hasOpenSpans).toBe(true)
          const hidden = yield* Effect.flip(TestTracer.findSpan("later.work"))
          expect(hidden.message).toContain("Still open")
          yield* Deferred.succeed(release, void 0)
          yield* TestClient.drainTasks
          const work = yield* TestTracer.findSpan("later.work", { rootId: r.spanId })
          expect(work.endTime).toBeDefined()
        }).pipe(Effect.provide(TestClient.layer(app)))
      })
  )

  it.scoped("37. nested forks (forkDaemon, forkIn, TaskQueue.fork) are awaited by drainTasks", () =>
    Effect.gen(function* () {
      const done = yield* Ref.make<ReadonlyArray<string>>([])
      const mark = (what: string) => Ref.update(done, (all) => [...all, what])
      const gate = yield* Deferred.make<void>()
      const outside = yield* Effect.scope
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/work",
          Effect.gen(function* () {
            yield* Effect.forkDaemon(
              Effect.gen(function* () {
                yield* Deferred.await(gate)
                // A fork made by a fork.
                yield* Effect.forkDaemon(Effect.zipRight(Effect.yieldNow(), mark("grandchild")))
                yield* mark("daemon")
              })
            )
            yield* Effect.forkIn(Effect.zipRight(Deferred.await(gate), mark("forkIn")), outside)
            yield* TaskQueue.fork(Effect.zipRight(Deferred.await(gate), mark("task")))
            return HttpServerResponse.empty({ status: 202 })
          })
        )
      )
      yield* Effect.gen(function* () {
        yield* TestClient.post("/work")
        expect(yield* Ref.get(done)).toEqual([])
        const drained = yield* Effect.fork(TestClient.drainTasks)
        yield* Effect.yieldNow()
        expect(Option.isNone(yield* Fiber.poll(drained))).toBe(true)
        yield* Deferred.succeed(gate, void 0)
        yield* Fiber.join(drained)
        expect([...(yield* Ref.get(done))].sort()).toEqual(["daemon", "forkIn", "grandchild", "task"])
      }).pipe(Effect.provide(TestClient.layer(app).pipe(Layer.provide(TaskQueue.layer()))))
    })
  )

  it.scoped("38. drainTasks called from inside background work fails at once instead of deadlocking", () =>
    Effect.gen(function* () {
      // The app's background work gets hold of the test's client (as a shared test helper
      // might) and calls drainTasks: it must fail at once, not wait for itself.
      const client = yield* Deferred.make<TestClient.Service>()
      const result = yield* Deferred.make<string>()
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/selfish",
          Effect.as(
            Effect.forkDaemon(
              Deferred.await(client).pipe(
                Effect.flatMap((c) => Effect.flip(c.drainTasks)),
                Effect.flatMap((error) => Deferred.succeed(result, `${error._tag}: ${error.message}`))
              )
            ),
            HttpServerResponse.empty({ status: 202 })
          )
        )
      )
      yield* Effect.gen(function* () {
        yield* Deferred.succeed(client, yield* TestClient.TestClient)
        yield* TestClient.post("/selfish")
        const message = yield* Deferred.await(result)
        expect(message).toContain("DrainDeadlock")
        expect(message).toContain("POST /selfish")
        // From the test itself, it works.
        yield* TestClient.drainTasks
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  it.live("39. a task that never ends makes scope close fail with DrainTimeout naming it, within drainTimeout", () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/leak",
          Effect.as(
            Effect.forkDaemon(Effect.withSpan(Effect.sleep("2 seconds"), "leaky.task")),
            HttpServerResponse.empty({ status: 202 })
          )
        )
      )
      const exit = yield* Effect.exit(
        TestClient.post("/leak").pipe(
          Effect.provide(TestClient.layer(app, { drainTimeout: "100 millis", report: "never" }))
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const defect = Option.getOrUndefined(Cause.dieOption(exit.cause)) as { _tag: string; message: string }
        expect(defect._tag).toBe("DrainTimeout")
        expect(defect.message).toContain("started by POST /leak")
        expect(defect.message).toContain('open span "leaky.task"')
      }
      // Bounded by drainTimeout, not by the task: had scope close waited for the 2-second task,
      // the drain would have succeeded instead of reporting it.
    })
  )

  it.scoped("40. with a bootstrap layer, shutdown runs after the drain, even when the test fails", () =>
    Effect.gen(function* () {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const append = (entry: string) => Ref.update(log, (all) => [...all, entry])
      const gate = yield* Deferred.make<void>()
      const router = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/",
          Effect.as(
            Effect.forkDaemon(Effect.zipRight(Deferred.await(gate), append("background work done"))),
            HttpServerResponse.empty({ status: 202 })
          )
        )
      )
      const ServerLive = HttpServer.serve(router).pipe(
        Layer.provide(Layer.scopedDiscard(Effect.acquireRelease(append("startup"), () => append("shutdown"))))
      )
      const exit = yield* Effect.exit(
        Effect.gen(function* () {
          yield* TestClient.post("/")
          yield* Effect.fork(Effect.zipRight(Effect.yieldNow(), Deferred.succeed(gate, void 0)))
          return yield* Effect.fail("the test failed")
        }).pipe(Effect.provide(TestClient.layerServer(ServerLive, { report: "never" })))
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* Ref.get(log)).toEqual(["startup", "background work done", "shutdown"])
    })
  )
})
