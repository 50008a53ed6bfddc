/**
 * TestTracer on Effect 4, through the public API: a request's spans seen through
 * `TestClient.layer` and through `TestClient.layerTest`'s platform `HttpClient` (whose client
 * span parents the server span by the trace headers it sends), the service's methods and
 * the module's accessors, what a finished span keeps, and background work.
 *
 * Effect 4 names a server span after the request's method (`"GET"`, kind `"server"`) and
 * records no header attributes by default; the platform client's span has the same name,
 * kind `"client"`. `TestClient`'s responses carry their server span's id (`spanId`); through
 * the platform client a test finds the server span under the client span that sent it.
 *
 * Background work's spans are visible once `TestClient.drainTasks` has waited for it. The
 * Effect 3 edition's other background-work tests here (nested forks awaited by `drainTasks`,
 * `DrainDeadlock`, `DrainTimeout` at scope close naming the open span, shutdown after the
 * drain) are in `TaskQueue.test.ts`, with the rest of background work.
 */

import { describe, expect, it } from "@effect/vitest"
import { TestClient, TestTracer } from "@effect-http-testkit/effect4"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Option, Queue, Stream } from "effect"
import { HttpClient, HttpMiddleware, HttpRouter, HttpServerResponse } from "effect/http"

const encoder = new TextEncoder()

/** The app served by `TestClient.layer`, its server built with the recording tracer. */
const traced = <A, E, R>(app: Layer.Layer<A, E, R>, options?: TestClient.Options) =>
  TestClient.layer(app, options).pipe(Layer.provideMerge(TestTracer.layer))

/** `TestClient.layerTest` with the recording tracer: the test serves the app itself. */
const TracedLayerTest = Layer.merge(TestClient.layerTest, TestTracer.layer)

/** Serves `app` on the layerTest server, within the test's scope (and so with its tracer). */
const serve = <A, E, R>(app: Layer.Layer<A, E, R>) =>
  HttpRouter.serve(app, { disableListenLog: true, disableLogger: true }).pipe(Layer.build)

const Users = HttpRouter.add(
  "GET",
  "/users/:id",
  Effect.gen(function* () {
    yield* Effect.annotateCurrentSpan("user.id", "42")
    yield* Effect.log("loading user")
    return HttpServerResponse.jsonUnsafe({ id: 42 })
  }).pipe(Effect.withSpan("load-user"))
)

describe("asserting on a request's spans", () => {
  it.effect("TestClient: the server span is named after the method, with route, status and URL, and no headers", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/users/42", { headers: { "x-request-id": "abc" } })
      expect(r.status).toBe(200)
      const server = yield* TestTracer.findSpan("GET", { kind: "server" })
      expect(server.name).toBe("GET")
      expect(server.kind).toBe("server")
      expect(server.parentSpanId).toBeUndefined()
      expect(server.owner).toBe("GET /users/42")
      expect(yield* TestTracer.getAttribute(server.spanId, "http.route")).toEqual(Option.some("/users/:id"))
      expect(yield* TestTracer.getAttribute(server.spanId, "http.response.status_code")).toEqual(Option.some(200))
      expect(yield* TestTracer.getAttribute(server.spanId, "url.path")).toEqual(Option.some("/users/42"))
      expect(yield* TestTracer.getAttribute(server.spanId, "http.request.method")).toEqual(Option.some("GET"))
      // Header capture is opt-in on Effect 4 (HttpMiddleware.TracerHeaderFilter).
      expect(Array.from(server.attributes.keys()).filter((key) => key.includes(".header."))).toEqual([])
      const child = yield* TestTracer.findSpan("load-user", { rootId: server.spanId })
      expect(child.parentSpanId).toBe(server.spanId)
      expect(child.traceId).toBe(server.traceId)
      expect(yield* TestTracer.getAttribute(child.spanId, "user.id")).toEqual(Option.some("42"))
      expect(yield* TestTracer.hasEvent(child.spanId, "loading user")).toBe(true)
      expect((yield* TestTracer.getEvent(child.spanId, "loading user")).name).toBe("loading user")
      expect(yield* TestTracer.getEvents(child.spanId, { name: "loading user" })).toHaveLength(1)
      const tree = yield* TestTracer.render(server.spanId)
      expect(tree).toMatch(/^GET \(/)
      expect(tree).toContain("http.route=/users/:id")
      expect(tree).toContain("\n  load-user (")
      expect(tree).toContain("    ! loading user")
    }).pipe(Effect.provide(traced(Users)))
  )

  it.effect("a TestClient response carries its server span's id, buffered or streamed", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/users/42")
      const server = yield* TestTracer.getSpan(r.spanId)
      expect(server).toMatchObject({ name: "GET", kind: "server", owner: "GET /users/42" })
      expect((yield* TestTracer.findSpan("load-user", { rootId: r.spanId })).parentSpanId).toBe(r.spanId)
      const streamed = yield* TestClient.stream("GET", "/users/42")
      expect(yield* streamed.json).toEqual({ id: 42 })
      expect(streamed.spanId).not.toBe(r.spanId)
      expect((yield* TestTracer.getSpan(streamed.spanId)).kind).toBe("server")
      // Each request its own server span: two of them now.
      expect(yield* TestTracer.findSpans("GET", { kind: "server" })).toHaveLength(2)
    }).pipe(Effect.provide(traced(Users)))
  )

  it.effect("layerTest: the HttpClient's client span parents the server span through the trace headers", () =>
    Effect.gen(function* () {
      yield* serve(Users)
      const response = yield* Effect.withSpan(HttpClient.get("/users/42"), "test.step")
      expect(response.status).toBe(200)
      const client = yield* TestTracer.findSpan("GET", { kind: "client" })
      const step = yield* TestTracer.findSpan("test.step")
      expect(client.parentSpanId).toBe(step.spanId)
      expect(client.owner).toBeUndefined()
      const server = yield* TestTracer.findSpan("GET", { kind: "server" })
      expect(server.parentSpanId).toBe(client.spanId)
      expect(server.traceId).toBe(client.traceId)
      expect((yield* TestTracer.findSpan("GET", { parentId: client.spanId })).spanId).toBe(server.spanId)
      expect(yield* TestTracer.getAttribute(server.spanId, "user_agent.original")).toEqual(Option.some("node"))
      // The client span's subtree spans both sides.
      const child = yield* TestTracer.findSpan("load-user", { rootId: client.spanId })
      expect(child.parentSpanId).toBe(server.spanId)
      // ... and so does the test's own span around the call: the server span's parent, known
      // by the id its trace headers carried, is followed to the client span and up.
      expect((yield* TestTracer.findSpan("load-user", { rootId: step.spanId })).spanId).toBe(child.spanId)
      expect(yield* TestTracer.render(client.spanId)).toMatch(/^GET \(.*\n(.*\n)* {2}GET \(.*\n(.*\n)* {4}load-user \(/)
      expect((yield* TestTracer.spans).map((span) => `${span.name}:${span.kind}`)).toEqual([
        "test.step:internal",
        "GET:client",
        "GET:server",
        "load-user:internal"
      ])
    }).pipe(Effect.provide(TracedLayerTest))
  )

  it.effect("layerTest: with trace propagation off, the server span is a root, as in production", () =>
    Effect.gen(function* () {
      yield* serve(Users)
      yield* HttpClient.get("/users/42").pipe(Effect.provideService(HttpClient.TracerPropagationEnabled, false))
      const client = yield* TestTracer.findSpan("GET", { kind: "client" })
      const server = yield* TestTracer.findSpan("GET", { kind: "server" })
      expect(server.parentSpanId).toBeUndefined()
      expect(server.traceId).not.toBe(client.traceId)
      expect(yield* TestTracer.findSpans("load-user", { rootId: client.spanId })).toEqual([])
    }).pipe(Effect.provide(TracedLayerTest))
  )

  it.effect("layerTest, a stream: a child span opened while the stream is open, found under the client span", () =>
    Effect.gen(function* () {
      const ticks = yield* Queue.unbounded<number>()
      yield* serve(
        HttpRouter.add(
          "GET",
          "/feed",
          HttpServerResponse.stream(
            Stream.fromQueue(ticks).pipe(
              Stream.take(2),
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
      // The headers go with the first chunk: the first tick is there before the request.
      yield* Queue.offer(ticks, 1)
      const response = yield* HttpClient.get("/feed")
      const client = yield* TestTracer.findSpan("GET", { kind: "client" })
      const chunks = yield* Queue.unbounded<string>()
      const reading = yield* Effect.forkChild(
        response.stream.pipe(
          Stream.decodeText,
          Stream.runForEach((text) => Queue.offer(chunks, text))
        )
      )
      expect(yield* Queue.take(chunks)).toBe("data: 1\n\n")
      const tick = yield* TestTracer.findSpan("feed.tick", { rootId: client.spanId })
      expect(yield* TestTracer.getAttribute(tick.spanId, "tick.n")).toEqual(Option.some(1))
      expect(tick.owner).toBe("GET /feed")
      // The server span itself is still open while the stream is: not visible yet.
      expect(yield* TestTracer.hasOpenSpans).toBe(true)
      const open = yield* Effect.flip(TestTracer.getSpan(tick.parentSpanId!))
      expect(open.message).toContain('"GET" is still open')
      const byName = yield* Effect.flip(TestTracer.findSpan("GET", { kind: "server" }))
      expect(byName.message).toContain('Still open (a span is visible only once it has ended): "GET"')
      yield* Queue.offer(ticks, 2)
      yield* Fiber.join(reading)
      const both = yield* TestTracer.findSpans("feed.tick", { parentId: tick.parentSpanId! })
      expect(both.map((span) => span.attributes.get("tick.n"))).toEqual([1, 2])
    }).pipe(Effect.provide(TracedLayerTest))
  )

  it.effect('a 204, then background work whose span carries work.result = "done" after drainTasks', () =>
    Effect.gen(function* () {
      // The work waits for the test: it is certainly still running when the response arrives.
      const release = yield* Deferred.make<void>()
      const app = HttpRouter.add(
        "POST",
        "/jobs",
        Effect.gen(function* () {
          yield* Effect.forkDetach(
            Effect.gen(function* () {
              yield* Deferred.await(release)
              yield* Effect.annotateCurrentSpan("work.result", "done")
            }).pipe(Effect.withSpan("background.work"))
          )
          return HttpServerResponse.empty({ status: 204 })
        })
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.post("/jobs")
        expect(r.status).toBe(204)
        expect(yield* TestTracer.findSpans("background.work")).toEqual([])
        yield* Deferred.succeed(release, undefined)
        yield* TestClient.drainTasks
        const server = yield* TestTracer.findSpan("POST", { kind: "server" })
        const work = yield* TestTracer.findSpan("background.work", { rootId: server.spanId })
        expect(work.owner).toBe("POST /jobs")
        expect(yield* TestTracer.getAttribute(work.spanId, "work.result")).toEqual(Option.some("done"))
        expect(yield* TestTracer.hasOpenSpans).toBe(false)
      }).pipe(Effect.provide(traced(app)))
    })
  )
})

describe("tracing", () => {
  const app = Layer.mergeAll(
    HttpRouter.add("GET", "/a", Effect.as(Effect.withSpan(Effect.void, "db.query"), HttpServerResponse.text("a"))),
    HttpRouter.add("GET", "/b", Effect.as(Effect.withSpan(Effect.void, "db.query"), HttpServerResponse.text("b"))),
    HttpRouter.add("GET", "/fails", Effect.withSpan(Effect.fail("nope"), "doomed"))
  )

  it.effect("findSpan with rootId searches only that request's subtree, even with shared span names", () =>
    Effect.gen(function* () {
      yield* TestClient.get("/a")
      yield* TestClient.get("/b")
      const [a, b] = yield* TestTracer.findSpans("GET", { kind: "server" })
      expect([a?.owner, b?.owner]).toEqual(["GET /a", "GET /b"])
      const underA = yield* TestTracer.findSpan("db.query", { rootId: a!.spanId })
      const underB = yield* TestTracer.findSpan("db.query", { rootId: b!.spanId })
      expect(underA.spanId).not.toBe(underB.spanId)
      expect(underA.parentSpanId).toBe(a!.spanId)
      expect(underB.parentSpanId).toBe(b!.spanId)
      const byParent = yield* TestTracer.findSpan("db.query", { parentId: b!.spanId })
      expect(byParent.spanId).toBe(underB.spanId)
      const missing = yield* Effect.flip(TestTracer.findSpan("db.qeury", { rootId: a!.spanId }))
      expect(missing._tag).toBe("SpanNotFound")
      expect(missing.message).toContain(`named "db.qeury" under ${a!.spanId}`)
      expect(missing.message).toContain("Finished spans: GET, db.query.")
      // Start order: each server span starts before the query it contains.
      expect((yield* TestTracer.spans).map((s) => s.name)).toEqual(["GET", "db.query", "GET", "db.query"])
    }).pipe(Effect.provide(traced(app)))
  )

  it.effect("layerTest: rootId on each client span separates two requests' queries", () =>
    Effect.gen(function* () {
      yield* serve(app)
      yield* HttpClient.get("/a")
      yield* HttpClient.get("/b")
      const [a, b] = yield* TestTracer.findSpans("GET", { kind: "client" })
      const underA = yield* TestTracer.findSpans("db.query", { rootId: a!.spanId })
      const underB = yield* TestTracer.findSpans("db.query", { rootId: b!.spanId })
      expect(underA).toHaveLength(1)
      expect(underB).toHaveLength(1)
      expect(underA[0]!.owner).toBe("GET /a")
      expect(underB[0]!.owner).toBe("GET /b")
    }).pipe(Effect.provide(TracedLayerTest))
  )

  it.effect("the server span records the response and fails on a 5xx; a failing child span keeps its failure", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/fails")
      expect(r.status).toBe(500)
      const server = yield* TestTracer.findSpan("GET", { kind: "server" })
      expect(yield* TestTracer.hasAttribute(server.spanId, "http.response.status_code", 500)).toBe(true)
      // As OpenTelemetry asks, and Effect 4 does: a 5xx response fails the server span.
      expect(server.exit?._tag).toBe("Failure")
      const doomed = yield* TestTracer.findSpan("doomed", { rootId: server.spanId })
      expect(
        doomed.exit !== undefined && Exit.isFailure(doomed.exit) && Cause.findErrorOption(doomed.exit.cause)
      ).toEqual(Option.some("nope"))
      const tree = yield* TestTracer.render(server.spanId)
      expect(tree).toMatch(/^GET \(.*\) \[failed: /)
      expect(tree).toContain("  doomed (")
      expect(tree).toContain("[failed: nope]")
    }).pipe(Effect.provide(traced(app, { serverErrors: "respond" })))
  )

  it.effect("spans the test itself creates are recorded too, with no owner", () =>
    Effect.gen(function* () {
      yield* Effect.withSpan(TestClient.get("/a"), "test.step")
      const step = yield* TestTracer.findSpan("test.step")
      expect(step.owner).toBeUndefined()
      // TestClient sends no trace headers: the request's server span is a root of its own.
      const server = yield* TestTracer.findSpan("GET", { kind: "server" })
      expect(server.parentSpanId).toBeUndefined()
      expect(server.owner).toBe("GET /a")
    }).pipe(Effect.provide(traced(app)))
  )

  it.effect("a request with tracing disabled has no server span, and getSpan of an empty id says why it may be", () =>
    Effect.gen(function* () {
      const routes = Layer.mergeAll(
        HttpRouter.add("GET", "/quiet", HttpServerResponse.text("ok")),
        HttpRouter.add("GET", "/loud", HttpServerResponse.text("ok"))
      )
      const server = HttpRouter.serve(routes, { disableListenLog: true, disableLogger: true }).pipe(
        Layer.provide(HttpMiddleware.layerTracerDisabledForUrls(["/quiet"]))
      )
      yield* Effect.gen(function* () {
        expect((yield* TestClient.get("/quiet")).status).toBe(200)
        expect(yield* TestTracer.findSpans("GET")).toEqual([])
        expect((yield* TestClient.get("/loud")).status).toBe(200)
        expect((yield* TestTracer.findSpans("GET")).map((span) => span.owner)).toEqual(["GET /loud"])
        const error = yield* Effect.flip(TestTracer.getSpan(""))
        expect(error.message).toContain("was tracing disabled for that request?")
      }).pipe(Effect.provide(TestClient.layerServer(server).pipe(Layer.provideMerge(TestTracer.layer))))
    })
  )

  it.effect("every TestClient layer brings the recorder", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/a")
      expect((yield* TestTracer.getSpan(r.spanId)).kind).toBe("server")
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.effect("TestTracer.layer provided again, inside or outside, is the recorder the app's server has", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/a")
      expect((yield* TestTracer.getSpan(r.spanId)).kind).toBe("server")
    }).pipe(
      Effect.provide(TestTracer.layer),
      Effect.provide(TestClient.layer(app).pipe(Layer.provideMerge(TestTracer.layer)))
    )
  )

  it.effect("a TestTracer that is not the app server's records no server span, and findSpan says why", () =>
    Effect.gen(function* () {
      yield* TestClient.get("/a")
      expect(yield* TestTracer.spans).toEqual([])
      const error = yield* Effect.flip(TestTracer.findSpan("GET"))
      expect(error.message).toContain("no server span was ever recorded")
      expect(error.message).toContain("The TestClient layers bring theirs")
    }).pipe(Effect.provide(TestTracer.layer, { local: true }), Effect.provide(TestClient.layer(app)))
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
      const tracer = yield* Effect.service(TestTracer.TestTracer)
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
      const real = yield* Effect.service(TestTracer.TestTracer)
      const hidden = yield* TestTracer.findSpans("job").pipe(
        Effect.provideService(TestTracer.TestTracer, { ...real, findSpans: () => Effect.succeed([]) })
      )
      expect(hidden).toEqual([])
      expect((yield* TestTracer.findSpans("job")).map((span) => span.spanId)).toEqual([job.spanId])
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect(
    "one recorder per test: provided again inside, the layer is shared (Effect 4 memoizes it); local: true gives another",
    () =>
      Effect.gen(function* () {
        yield* Effect.withSpan(Effect.void, "first")
        const shared = yield* Effect.withSpan(TestTracer.spans, "second").pipe(Effect.provide(TestTracer.layer))
        expect(shared.map((span) => span.name)).toEqual(["first"])
        const own = yield* Effect.withSpan(TestTracer.spans, "third").pipe(
          Effect.andThen(TestTracer.spans),
          Effect.provide(TestTracer.layer, { local: true })
        )
        expect(own.map((span) => span.name)).toEqual(["third"])
        expect((yield* TestTracer.spans).map((span) => span.name)).toEqual(["first", "second"])
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

  it.effect("findSpans: every match in start order, within rootId, parentId or kind; an empty array when none", () =>
    Effect.gen(function* () {
      const query = (n: number) => Effect.withSpan(Effect.void, "db.query", { attributes: { n } })
      yield* Effect.withSpan(Effect.andThen(query(1), Effect.withSpan(query(2), "cache")), "page.a")
      yield* Effect.withSpan(query(3), "page.b")
      yield* Effect.withSpan(Effect.void, "db.query", { kind: "client", attributes: { n: 4 } })
      const a = yield* TestTracer.findSpan("page.a")
      const cache = yield* TestTracer.findSpan("cache")
      const numbers = (spans: ReadonlyArray<TestTracer.RecordedSpan>) => spans.map((span) => span.attributes.get("n"))
      expect(numbers(yield* TestTracer.findSpans("db.query"))).toEqual([1, 2, 3, 4])
      expect(numbers(yield* TestTracer.findSpans("db.query", { rootId: a.spanId }))).toEqual([1, 2])
      expect(numbers(yield* TestTracer.findSpans("db.query", { parentId: a.spanId }))).toEqual([1])
      expect(numbers(yield* TestTracer.findSpans("db.query", { rootId: a.spanId, parentId: cache.spanId }))).toEqual([
        2
      ])
      expect(numbers(yield* TestTracer.findSpans("db.query", { kind: "client" }))).toEqual([4])
      expect(numbers(yield* TestTracer.findSpans("db.query", { kind: "internal", rootId: a.spanId }))).toEqual([1, 2])
      expect(yield* TestTracer.findSpans("db.qeury")).toEqual([])
      expect(yield* TestTracer.findSpans("db.query", { rootId: "no-such-span" })).toEqual([])
      const none = yield* Effect.flip(TestTracer.findSpan("db.query", { kind: "server" }))
      expect(none.message).toContain('named "db.query" of kind server')
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

  it.effect("an event keeps its time from the Clock and its attributes (the log level among them)", () =>
    Effect.gen(function* () {
      const job = yield* recordJob
      const [first] = yield* TestTracer.getEvents(job.spanId)
      expect(first?.time).toBeTypeOf("bigint")
      expect(first?.attributes["effect.logLevel"]).toBe("INFO")
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

  it.effect("getAttribute on a request's server span shows the route and status", () =>
    Effect.gen(function* () {
      const app = HttpRouter.add("GET", "/users/:id", HttpServerResponse.text("Ada"))
      yield* Effect.gen(function* () {
        yield* TestClient.get("/users/1")
        const server = yield* TestTracer.findSpan("GET", { kind: "server" })
        expect(yield* TestTracer.getAttribute(server.spanId, "http.route")).toEqual(Option.some("/users/:id"))
        expect(yield* TestTracer.getAttribute(server.spanId, "http.response.status_code")).toEqual(Option.some(200))
        const tracer = yield* Effect.service(TestTracer.TestTracer)
        expect(yield* tracer.getAttribute(server.spanId, "url.path")).toEqual(Option.some("/users/1"))
      }).pipe(Effect.provide(traced(app)))
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
        ]
      ])
      const s2 = spans[1]!
      expect(s2.attributes).toBeInstanceOf(Map)
      expect(s2.attributes).toBe(s2.attributes)
      expect(yield* TestTracer.getAttribute(s2.spanId, "b")).toEqual(Option.some("y"))
      expect(yield* TestTracer.getAttribute(spans[4]!.spanId, "a")).toEqual(Option.some(6))
      expect(yield* TestTracer.hasAttribute(spans[2]!.spanId, "c")).toBe(false)
      expect(yield* TestTracer.render(spans[3]!.spanId)).toContain("b=w a=4")
    }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect(
    "an attribute, event or link given after the span ended is ignored, as Effect 4's own spans ignore it (Effect 3's edition recorded it)",
    () =>
      Effect.gen(function* () {
        const first = yield* Effect.withSpan(
          Effect.andThen(Effect.annotateCurrentSpan("k", 1), Effect.orDie(Effect.currentSpan)),
          "first"
        )
        yield* annotated("second", [["k", 2]])
        first.attribute("late", "yes")
        first.attribute("k", 10)
        first.event("late", 0n)
        first.addLinks([{ span: first, attributes: {} }])
        const [a, b] = yield* TestTracer.spans
        expect(Array.from(a!.attributes)).toEqual([["k", 1]])
        expect(a!.events).toEqual([])
        expect(a!.links).toEqual([])
        expect(Array.from(b!.attributes)).toEqual([["k", 2]])
      }).pipe(Effect.provide(TestTracer.layer))
  )

  it.effect("a finished span keeps how it ended: a failure its Cause, a success not its value", () =>
    Effect.gen(function* () {
      yield* Effect.withSpan(Effect.succeed(new Uint8Array(1024)), "ok")
      yield* Effect.ignore(Effect.withSpan(Effect.fail("boom"), "failed"))
      yield* Effect.exit(Effect.withSpan(Effect.die(new Error("bad state")), "died"))
      const ok = yield* TestTracer.findSpan("ok")
      expect(ok.exit).toEqual(Exit.void)
      expect(ok.status._tag).toBe("Ended")
      const failed = yield* TestTracer.findSpan("failed")
      expect(
        failed.exit !== undefined && Exit.isFailure(failed.exit) && Cause.findErrorOption(failed.exit.cause)
      ).toEqual(Option.some("boom"))
      expect(failed.endTime).toBeTypeOf("bigint")
      expect(failed.startTime).toBeTypeOf("bigint")
      expect(yield* TestTracer.render()).toContain("died (")
      expect(yield* TestTracer.render()).toContain("[died: bad state]")
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

  it.effect("the spanLimit option bounds the spans the layer's tracer keeps; the newest stay findable", () =>
    Effect.gen(function* () {
      yield* TestClient.get("/limited?i=0")
      const first = yield* TestTracer.findSpan("GET", { kind: "server" })
      for (let i = 1; i < 12; i++) yield* TestClient.get(`/limited?i=${i}`)
      const kept = yield* TestTracer.spans
      expect(kept.length).toBeGreaterThan(0)
      expect(kept.length).toBeLessThanOrEqual(5)
      expect(kept[kept.length - 1]!.attributes.get("url.query")).toBe("i=11")
      const missed = yield* Effect.flip(TestTracer.getSpan(first.spanId))
      expect(missed.message).toContain("it was probably dropped")
      expect(missed.message).toContain("keeps the last 5 spans")
      expect(missed.message).toContain("raise the TestClient layer's spanLimit option")
    }).pipe(
      Effect.provide(
        TestClient.layer(HttpRouter.add("GET", "/limited", HttpServerResponse.text("ok")), { spanLimit: 5 })
      )
    )
  )

  it.effect("layerWith refuses options it cannot use with InvalidOptions saying what to give", () =>
    Effect.gen(function* () {
      const reasons: Array<string> = []
      for (const options of [{ spanLimit: 0 }, { spanLimit: 2.5 }, { spanLimit: "5" }, { spanLimt: 5 }, null]) {
        const error = yield* Effect.flip(
          Effect.provide(TestTracer.spans, TestTracer.layerWith(options as TestTracer.Options))
        )
        expect(error._tag).toBe("InvalidOptions")
        reasons.push(error.message)
      }
      expect(reasons).toEqual([
        "TestTracer.layerWith: spanLimit must be a whole number >= 1 (how many spans the tracer keeps), got 0",
        "TestTracer.layerWith: spanLimit must be a whole number >= 1 (how many spans the tracer keeps), got 2.5",
        'TestTracer.layerWith: spanLimit must be a whole number >= 1 (how many spans the tracer keeps), got "5"',
        'TestTracer.layerWith: unknown option "spanLimt" (did you mean "spanLimit"?): the options are spanLimit',
        "TestTracer.layerWith: options must be an object such as { spanLimit: 500 }, got null"
      ])
    })
  )
})

describe("background work", () => {
  it.effect(
    "a span is invisible until it ends; a child span ended by background work is visible after drainTasks",
    () =>
      Effect.gen(function* () {
        const started = yield* Deferred.make<void>()
        const release = yield* Deferred.make<void>()
        const app = HttpRouter.add(
          "POST",
          "/later",
          Effect.as(
            Effect.forkDetach(
              Effect.withSpan(
                Effect.andThen(Deferred.succeed(started, undefined), Deferred.await(release)),
                "later.work"
              )
            ),
            HttpServerResponse.empty({ status: 202 })
          )
        )
        yield* Effect.gen(function* () {
          yield* TestClient.post("/later")
          yield* Deferred.await(started)
          expect(yield* TestTracer.hasOpenSpans).toBe(true)
          const hidden = yield* Effect.flip(TestTracer.findSpan("later.work"))
          expect(hidden.message).toContain('Still open (a span is visible only once it has ended): "later.work"')
          yield* Deferred.succeed(release, undefined)
          yield* TestClient.drainTasks
          const server = yield* TestTracer.findSpan("POST", { kind: "server" })
          const work = yield* TestTracer.findSpan("later.work", { rootId: server.spanId })
          expect(work.endTime).toBeDefined()
          expect(yield* TestTracer.hasOpenSpans).toBe(false)
        }).pipe(Effect.provide(traced(app)))
      })
  )
})
