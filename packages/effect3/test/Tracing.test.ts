/**
 * TestTracer through the public API (the service's methods and the module's accessors, and
 * what they show when an assertion fails), background work and the scoped lifecycle: spans
 * visible once ended, `drainTasks` following every fork, failing instead of deadlocking,
 * bounded by `drainTimeout`, and shutdown after the drain.
 */
import { HttpClient, HttpMiddleware, HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Option, Queue, Ref, Scope, Stream } from "effect"
import { TaskQueue, TestClient, TestTracer } from "effect-http-testkit"

const encoder = new TextEncoder()

describe("asserting on a request's spans", () => {
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
        expect(yield* TestTracer.getAttribute(r.spanId, "http.route")).toEqual(Option.some("/users/:id"))
        expect(yield* TestTracer.getAttribute(r.spanId, "http.response.status_code")).toEqual(Option.some(200))
        expect(yield* TestTracer.getAttribute(r.spanId, "url.path")).toEqual(Option.some("/users/42"))
        const child = yield* TestTracer.findSpan("load-user", { rootId: r.spanId })
        expect(child.parentSpanId).toBe(r.spanId)
        expect(yield* TestTracer.getAttribute(child.spanId, "user.id")).toEqual(Option.some("42"))
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
        // The first tick is there before the request: over a socket the headers go out with it.
        yield* Queue.offer(ticks, 1)
        const r = yield* TestClient.stream("GET", "/feed")
        const first = yield* r.events.pipe(Stream.take(1), Stream.runCollect)
        expect(Array.from(first)).toEqual([{ data: "1" }])
        const tick = yield* TestTracer.findSpan("feed.tick", { rootId: r.spanId })
        expect(yield* TestTracer.getAttribute(tick.spanId, "tick.n")).toEqual(Option.some(1))
        // The http.server span itself is still open while the stream is: not visible yet.
        const open = yield* Effect.flip(TestTracer.getSpan(r.spanId))
        expect(open.message).toContain("still open")
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  it.scoped('a 204 followed by background work whose child span carries work.result = "done" after drainTasks', () =>
    Effect.gen(function* () {
      // The work waits for the test: it is certainly still running when the response arrives.
      const release = yield* Deferred.make<void>()
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/jobs",
          Effect.gen(function* () {
            yield* Effect.forkDaemon(
              Effect.gen(function* () {
                yield* Deferred.await(release)
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
        expect(yield* TestTracer.findSpans("background.work")).toEqual([])
        yield* Deferred.succeed(release, void 0)
        yield* TestClient.drainTasks
        const work = yield* TestTracer.findSpan("background.work", { rootId: r.spanId })
        expect(yield* TestTracer.getAttribute(work.spanId, "work.result")).toEqual(Option.some("done"))
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

  it.scoped("findSpan with rootId searches only that request's subtree, even with shared span names", () =>
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

  it.effect("once the client's scope closes, the fiber traces with the tracer it had before again", () =>
    Effect.gen(function* () {
      const before = yield* Effect.tracer
      const [during, recorded] = yield* Effect.scoped(
        Effect.provide(Effect.zip(Effect.tracer, TestTracer.TestTracer), TestClient.layer(app))
      )
      expect(during).not.toBe(before)
      expect(yield* Effect.tracer).toBe(before)
      // A span made afterwards is not the closed client's.
      yield* Effect.withSpan(Effect.void, "after.close")
      expect((yield* recorded.spans).map((span) => span.name)).not.toContain("after.close")
      // The same with a bootstrap layer, and with clients one after another in one fiber.
      yield* Effect.scoped(Effect.provide(Effect.void, TestClient.layerServer(HttpServer.serve(app))))
      yield* Effect.scoped(Effect.provide(Effect.void, TestClient.layer(app)))
      expect(yield* Effect.tracer).toBe(before)
    })
  )

  it.effect(
    "clients closed in another order than they were built, or whose app fails to start, leave the fiber's tracer as it was",
    () =>
      Effect.gen(function* () {
        const before = yield* Effect.tracer
        const first = yield* Scope.make()
        const second = yield* Scope.make()
        yield* Layer.buildWithScope(TestClient.layer(app), first)
        const firstTracer = yield* Effect.tracer
        yield* Layer.buildWithScope(TestClient.layer(app), second)
        expect(yield* Effect.tracer).not.toBe(firstTracer)
        yield* Scope.close(first, Exit.void)
        // The second client is still open: the fiber traces into it.
        expect(yield* Effect.tracer).not.toBe(before)
        yield* Scope.close(second, Exit.void)
        expect(yield* Effect.tracer).toBe(before)
        const failed = yield* Effect.exit(
          Effect.provide(Effect.void, TestClient.layerServer(Layer.effectDiscard(Effect.fail("no database"))))
        )
        expect(Exit.isFailure(failed)).toBe(true)
        expect(yield* Effect.tracer).toBe(before)
      })
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

describe("the TestTracer service and its accessors", () => {
  /** One span with two attributes and three events, recorded by `TestTracer.layer`. */
  const recordJob = Effect.gen(function* () {
    yield* Effect.gen(function* () {
      yield* Effect.annotateCurrentSpan("job.kind", "nightly")
      yield* Effect.annotateCurrentSpan("job.tags", ["a", "b"])
      yield* Effect.log("retry")
      yield* Effect.log("done")
      yield* Effect.log("retry")
    }).pipe(Effect.withSpan("job"))
    return yield* TestTracer.findSpan("job")
  })

  it.effect("the service has the accessors as methods, and nothing else", () =>
    Effect.gen(function* () {
      const tracer = yield* TestTracer.TestTracer
      expect(Object.keys(tracer).sort()).toEqual([
        "findSpan",
        "findSpans",
        "getAttribute",
        "getEvent",
        "getEvents",
        "getSpan",
        "hasAttribute",
        "hasEvent",
        "hasOpenSpans",
        "render",
        "spans"
      ])
      const job = yield* recordJob
      expect((yield* tracer.getSpan(job.spanId)).name).toBe("job")
      expect((yield* tracer.findSpan("job")).spanId).toBe(job.spanId)
      expect((yield* tracer.findSpans("job")).map((span) => span.spanId)).toEqual([job.spanId])
      expect((yield* tracer.spans).map((span) => span.name)).toEqual(["job"])
      expect(yield* tracer.getAttribute(job.spanId, "job.kind")).toEqual(Option.some("nightly"))
      expect(yield* tracer.hasAttribute(job.spanId, "job.kind", "nightly")).toBe(true)
      expect((yield* tracer.getEvents(job.spanId)).map((event) => event.name)).toEqual(["retry", "done", "retry"])
      expect((yield* tracer.getEvent(job.spanId, "retry", { index: 1 })).name).toBe("retry")
      expect(yield* tracer.hasEvent(job.spanId, "done")).toBe(true)
      expect(yield* tracer.hasOpenSpans).toBe(false)
      expect(yield* tracer.render(job.spanId)).toContain("job (")
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect("the module's accessors delegate to the service provided", () =>
    Effect.gen(function* () {
      const job = yield* recordJob
      const real = yield* TestTracer.TestTracer
      const hidden = yield* TestTracer.findSpans("job").pipe(
        Effect.provideService(TestTracer.TestTracer, { ...real, findSpans: () => Effect.succeed([]) })
      )
      expect(hidden).toEqual([])
      expect((yield* TestTracer.findSpans("job")).map((span) => span.spanId)).toEqual([job.spanId])
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect("getAttribute: Some(value) when set, None when not; a failed assertion shows the actual value", () =>
    Effect.gen(function* () {
      const job = yield* recordJob
      expect(yield* TestTracer.getAttribute(job.spanId, "job.kind")).toEqual(Option.some("nightly"))
      expect(yield* TestTracer.getAttribute(job.spanId, "job.tags")).toEqual(Option.some(["a", "b"]))
      expect(yield* TestTracer.getAttribute(job.spanId, "job.owner")).toEqual(Option.none())
      // When the value is not the expected one, the assertion error carries the actual value,
      // which vitest prints in its diff (a boolean from hasAttribute would only say `false`).
      const kind = yield* TestTracer.getAttribute(job.spanId, "job.kind")
      const failed = (() => {
        try {
          expect(kind).toEqual(Option.some("weekly"))
        } catch (error) {
          return error
        }
      })()
      expect(failed).toMatchObject({ actual: Option.some("nightly"), expected: Option.some("weekly") })
      const missing = yield* Effect.flip(TestTracer.getAttribute("0000", "job.kind"))
      expect(missing._tag).toBe("SpanNotFound")
      expect(missing.message).toContain("with id 0000")
      expect(missing.message).toContain("Finished spans: job")
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect("hasAttribute: with no value whether the key is set, with one whether it equals it", () =>
    Effect.gen(function* () {
      const job = yield* recordJob
      expect(yield* TestTracer.hasAttribute(job.spanId, "job.kind")).toBe(true)
      expect(yield* TestTracer.hasAttribute(job.spanId, "job.kind", "nightly")).toBe(true)
      expect(yield* TestTracer.hasAttribute(job.spanId, "job.kind", "weekly")).toBe(false)
      // Objects are compared by their JSON.
      expect(yield* TestTracer.hasAttribute(job.spanId, "job.tags", ["a", "b"])).toBe(true)
      expect(yield* TestTracer.hasAttribute(job.spanId, "job.owner")).toBe(false)
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect("findSpans: every match in start order, within rootId or parentId; an empty array when none", () =>
    Effect.gen(function* () {
      const query = (n: number) => Effect.withSpan(Effect.void, "db.query", { attributes: { n } })
      yield* Effect.withSpan(Effect.zipRight(query(1), Effect.withSpan(query(2), "cache")), "page.a")
      yield* Effect.withSpan(query(3), "page.b")
      const a = yield* TestTracer.findSpan("page.a")
      const cache = yield* TestTracer.findSpan("cache")
      const numbers = (spans: ReadonlyArray<TestTracer.RecordedSpan>) => spans.map((span) => span.attributes.get("n"))
      expect(numbers(yield* TestTracer.findSpans("db.query"))).toEqual([1, 2, 3])
      expect(numbers(yield* TestTracer.findSpans("db.query", { rootId: a.spanId }))).toEqual([1, 2])
      expect(numbers(yield* TestTracer.findSpans("db.query", { parentId: a.spanId }))).toEqual([1])
      expect(numbers(yield* TestTracer.findSpans("db.query", { rootId: a.spanId, parentId: cache.spanId }))).toEqual([
        2
      ])
      expect(yield* TestTracer.findSpans("db.qeury")).toEqual([])
      expect(yield* TestTracer.findSpans("db.query", { rootId: "no-such-span" })).toEqual([])
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect("findSpans does not return a span that is still open", () =>
    Effect.gen(function* () {
      const inside = yield* Effect.withSpan(TestTracer.findSpans("outer"), "outer")
      expect(inside).toEqual([])
      expect(yield* TestTracer.findSpans("outer")).toHaveLength(1)
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect(
    "getEvent: the first by default, the index-th with { index }; past the last, SpanNotFound says how many",
    () =>
      Effect.gen(function* () {
        const job = yield* recordJob
        const retries = yield* TestTracer.getEvents(job.spanId, { name: "retry" })
        expect(retries).toHaveLength(2)
        expect(yield* TestTracer.getEvent(job.spanId, "retry")).toBe(retries[0])
        expect(yield* TestTracer.getEvent(job.spanId, "retry", {})).toBe(retries[0])
        expect(yield* TestTracer.getEvent(job.spanId, "retry", { index: 1 })).toBe(retries[1])
        const past = yield* Effect.flip(TestTracer.getEvent(job.spanId, "retry", { index: 2 }))
        expect(past._tag).toBe("SpanNotFound")
        expect(past.message).toContain('event "retry" at index 2 on span "job"')
        expect(past.message).toContain("2 events of that name (indexes count from 0)")
        expect(past.message).toContain('event "done"')
        const negative = yield* Effect.flip(TestTracer.getEvent(job.spanId, "retry", { index: -1 }))
        expect(negative.message).toContain("at index -1")
        const absent = yield* Effect.flip(TestTracer.getEvent(job.spanId, "finished"))
        expect(absent.message).toContain("0 events of that name")
      }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect("getEvent with the index as a third argument, the form before { index }, still works", () =>
    Effect.gen(function* () {
      const job = yield* recordJob
      const retries = yield* TestTracer.getEvents(job.spanId, { name: "retry" })
      expect(yield* TestTracer.getEvent(job.spanId, "retry", 1)).toBe(retries[1])
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect("hasEvent and getEvents: by name, in order", () =>
    Effect.gen(function* () {
      const job = yield* recordJob
      expect(yield* TestTracer.hasEvent(job.spanId, "done")).toBe(true)
      expect(yield* TestTracer.hasEvent(job.spanId, "finished")).toBe(false)
      expect((yield* TestTracer.getEvents(job.spanId)).map((event) => event.name)).toEqual(["retry", "done", "retry"])
      expect(yield* TestTracer.getEvents(job.spanId, { name: "finished" })).toEqual([])
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.scoped("getAttribute on a request's server span shows the route and status", () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(HttpRouter.get("/users/:id", HttpServerResponse.text("Ada")))
      yield* Effect.gen(function* () {
        const r = yield* TestClient.get("/users/1")
        expect(yield* TestTracer.getAttribute(r.spanId, "http.route")).toEqual(Option.some("/users/:id"))
        expect(yield* TestTracer.getAttribute(r.spanId, "http.response.status_code")).toEqual(Option.some(200))
        const tracer = yield* TestTracer.TestTracer
        expect(yield* tracer.getAttribute(r.spanId, "url.path")).toEqual(Option.some("/users/1"))
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )
})

describe("what a finished span keeps", () => {
  /** A span named `name` whose attributes are set in this order (a repeated key replaces its value). */
  const annotated = (name: string, attributes: ReadonlyArray<readonly [string, unknown]>) =>
    Effect.withSpan(
      Effect.forEach(attributes, ([key, value]) => Effect.annotateCurrentSpan(key, value), { discard: true }),
      name
    )

  it.effect("spans with the same attribute keys keep their own values, in insertion order", () =>
    Effect.gen(function* () {
      yield* annotated("s1", [
        ["a", 1],
        ["b", "x"],
        ["c", "same"]
      ])
      yield* annotated("s2", [
        ["a", 2],
        ["b", "y"],
        ["c", "same"]
      ])
      yield* annotated("s3", [
        ["a", 3],
        ["b", "z"]
      ])
      yield* annotated("s4", [
        ["b", "w"],
        ["a", 4]
      ])
      yield* annotated("s5", [
        ["a", 5],
        ["b", "v"],
        ["a", 6]
      ])
      yield* annotated("s6", [
        ["a", 1],
        ["b", "x"],
        ["c", "same"],
        ["d", true]
      ])
      const entries = (span: TestTracer.RecordedSpan) => Array.from(span.attributes)
      const spans = yield* TestTracer.spans
      expect(spans.map(entries)).toEqual([
        [
          ["a", 1],
          ["b", "x"],
          ["c", "same"]
        ],
        [
          ["a", 2],
          ["b", "y"],
          ["c", "same"]
        ],
        [
          ["a", 3],
          ["b", "z"]
        ],
        [
          ["b", "w"],
          ["a", 4]
        ],
        [
          ["a", 6],
          ["b", "v"]
        ],
        [
          ["a", 1],
          ["b", "x"],
          ["c", "same"],
          ["d", true]
        ]
      ])
      const s2 = spans[1]
      expect(s2.attributes).toBeInstanceOf(Map)
      expect(s2.attributes).toBe(s2.attributes)
      expect(yield* TestTracer.getAttribute(s2.spanId, "b")).toEqual(Option.some("y"))
      expect(yield* TestTracer.getAttribute(spans[4].spanId, "a")).toEqual(Option.some(6))
      expect(yield* TestTracer.hasAttribute(spans[2].spanId, "c")).toBe(false)
      expect(yield* TestTracer.render(spans[3].spanId)).toContain("b=w a=4")
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect("an attribute set after the span ended is recorded on that span alone", () =>
    Effect.gen(function* () {
      const first = yield* Effect.withSpan(
        Effect.zipRight(Effect.annotateCurrentSpan("k", 1), Effect.orDie(Effect.currentSpan)),
        "first"
      )
      yield* annotated("second", [["k", 2]])
      first.attribute("late", "yes")
      first.attribute("k", 10)
      const [a, b] = yield* TestTracer.spans
      expect(Array.from(a.attributes)).toEqual([
        ["k", 10],
        ["late", "yes"]
      ])
      expect(Array.from(b.attributes)).toEqual([["k", 2]])
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect("a finished span keeps how it ended: a failure its Cause, a success not its value", () =>
    Effect.gen(function* () {
      yield* Effect.withSpan(Effect.succeed(new Uint8Array(1024)), "ok")
      yield* Effect.ignore(Effect.withSpan(Effect.fail("boom"), "failed"))
      const ok = yield* TestTracer.findSpan("ok")
      expect(ok.exit).toEqual(Exit.void)
      expect(ok.status._tag).toBe("Ended")
      const failed = yield* TestTracer.findSpan("failed")
      expect(
        failed.exit !== undefined && Exit.isFailure(failed.exit) && Cause.failureOption(failed.exit.cause)
      ).toEqual(Option.some("boom"))
      expect(failed.endTime).toBeTypeOf("bigint")
      expect(failed.startTime).toBeTypeOf("bigint")
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect("past 10,000 spans the oldest finished ones are dropped, and a lookup that misses one says so", () =>
    Effect.gen(function* () {
      const first = yield* Effect.withSpan(Effect.orDie(Effect.currentSpan), "first")
      const filler = Effect.withSpan(Effect.void, "filler")
      for (let i = 0; i < 10_000; i++) yield* filler
      const last = yield* Effect.withSpan(Effect.orDie(Effect.currentSpan), "last")
      expect((yield* TestTracer.getSpan(last.spanId)).name).toBe("last")
      expect((yield* TestTracer.spans).length).toBeLessThanOrEqual(10_000)
      const byId = yield* Effect.flip(TestTracer.getSpan(first.spanId))
      expect(byId.message).toContain(`with id ${first.spanId}: it was probably dropped`)
      expect(byId.message).toContain("keeps the last 10,000 spans")
      const byName = yield* Effect.flip(TestTracer.findSpan("first"))
      expect(byName.message).toContain('named "first" (the tracer keeps the last 10,000 spans')
      // An id the tracer never made is not said to be dropped.
      expect((yield* Effect.flip(TestTracer.getSpan("0000"))).message).not.toContain("dropped")
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.scoped("the client's spanLimit option bounds the spans it keeps; the newest stay findable", () =>
    Effect.gen(function* () {
      const ids: Array<string> = []
      for (let i = 0; i < 12; i++) ids.push((yield* TestClient.get(`/limited?i=${i}`)).spanId)
      const kept = yield* TestTracer.spans
      expect(kept.length).toBeGreaterThan(0)
      expect(kept.length).toBeLessThanOrEqual(5)
      expect((yield* TestTracer.getSpan(ids[11])).attributes.get("url.query")).toBe("i=11")
      const missed = yield* Effect.flip(TestTracer.getSpan(ids[0]))
      expect(missed.message).toContain("keeps the last 5 spans")
      expect(missed.message).toContain("spanLimit")
    }).pipe(
      Effect.provide(
        TestClient.layer(HttpRouter.empty.pipe(HttpRouter.get("/limited", HttpServerResponse.text("ok"))), {
          spanLimit: 5
        })
      )
    )
  )
})

describe("background work", () => {
  it.scoped(
    "a span is invisible until it ends; a child span ended by background work is visible after drainTasks",
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

  it.scoped("nested forks (forkDaemon, forkIn, TaskQueue.fork) are awaited by drainTasks", () =>
    Effect.gen(function* () {
      const done = yield* Ref.make<ReadonlyArray<string>>([])
      const mark = (what: string) => Ref.update(done, (all) => [...all, what])
      const gate = yield* Deferred.make<void>()
      const daemonDone = yield* Deferred.make<void>()
      const outside = yield* Effect.scope
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/work",
          Effect.gen(function* () {
            yield* Effect.forkDaemon(
              Effect.gen(function* () {
                yield* Deferred.await(gate)
                // A fork made by a fork, which outlives the fork that made it.
                yield* Effect.forkDaemon(Effect.zipRight(Deferred.await(daemonDone), mark("grandchild")))
                yield* mark("daemon")
                yield* Deferred.succeed(daemonDone, void 0)
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
        // The drain starts while every task is held by the gate, and records when it returns:
        // had it not waited, "drained" would come before the tasks' marks.
        const drained = yield* Effect.fork(Effect.zipRight(TestClient.drainTasks, mark("drained")))
        yield* Deferred.succeed(gate, void 0)
        yield* Fiber.join(drained)
        const log = yield* Ref.get(done)
        expect(log[log.length - 1]).toBe("drained")
        expect([...log].sort()).toEqual(["daemon", "drained", "forkIn", "grandchild", "task"])
        expect(log.indexOf("grandchild")).toBeGreaterThan(log.indexOf("daemon"))
      }).pipe(Effect.provide(TestClient.layer(app).pipe(Layer.provide(TaskQueue.layer))))
    })
  )

  it.scoped("drainTasks called from inside background work fails at once instead of deadlocking", () =>
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

  it.live("a task that never ends makes scope close fail with DrainTimeout naming it, within drainTimeout", () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/leak",
          Effect.as(
            Effect.forkDaemon(Effect.withSpan(Effect.never, "leaky.task")),
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
      // Reaching this line at all shows scope close is bounded by drainTimeout: the task never
      // ends, so a drain that waited for it would never return.
    })
  )

  it.effect("a finalizer of the app's layers that fails makes scope close fail, as over NodeHttpServer", () =>
    Effect.gen(function* () {
      const router = HttpRouter.empty.pipe(HttpRouter.get("/", HttpServerResponse.text("ok")))
      const ServerLive = HttpServer.serve(router).pipe(
        Layer.provide(Layer.scopedDiscard(Effect.addFinalizer(() => Effect.die("the pool would not close"))))
      )
      const closeWith = <E>(layer: Layer.Layer<HttpClient.HttpClient, E>) =>
        Effect.exit(
          Effect.scoped(
            Effect.provide(
              Effect.flatMap(HttpClient.get("/"), (response) => response.text),
              layer
            )
          )
        )
      const production = yield* closeWith(ServerLive.pipe(Layer.provideMerge(NodeHttpServer.layerTest)))
      const ours = yield* closeWith(TestClient.layerServer(ServerLive, { report: "never" }))
      for (const exit of [production, ours]) {
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) expect(Cause.squash(exit.cause)).toBe("the pool would not close")
      }
    })
  )

  it.scoped("with a bootstrap layer, shutdown runs after the drain, even when the test fails", () =>
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
          return yield* Effect.fail("the test failed")
        }).pipe(
          // The background work is still held when the test fails; it is let go as the test
          // ends, before the client's scope closes, so only the drain can order it before shutdown.
          Effect.ensuring(Deferred.succeed(gate, void 0)),
          Effect.provide(TestClient.layerServer(ServerLive, { report: "never" }))
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* Ref.get(log)).toEqual(["startup", "background work done", "shutdown"])
    })
  )
})
