/**
 * What the client's fast paths must keep: a handler that finishes inside dispatch and one
 * that suspends give the same exchange; a request is prepared when its effect runs, not when
 * it is built; the handlers of one app are tracked (and their forks drained) however they end.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Ref, Stream } from "effect"
import { TestClient } from "effect-http-testkit"

/** Answers once a callback outside the fiber fires: the handler suspends, then resumes. */
const later = <A>(value: A) =>
  Effect.async<A>((resume) => {
    const handle = setImmediate(() => resume(Effect.succeed(value)))
    return Effect.sync(() => clearImmediate(handle))
  })

const cookieOf = Effect.map(HttpServerRequest.HttpServerRequest, (request) => request.headers.cookie ?? "none")

const app = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/sync",
    Effect.map(cookieOf, (cookie) =>
      HttpServerResponse.unsafeJson({ how: "sync", cookie }, { headers: { "set-cookie": "seen=sync; Path=/" } })
    )
  ),
  HttpRouter.get(
    "/async",
    Effect.flatMap(cookieOf, (cookie) =>
      Effect.map(later(cookie), (cookie) =>
        HttpServerResponse.unsafeJson({ how: "async", cookie }, { headers: { "set-cookie": "seen=async; Path=/" } })
      )
    )
  ),
  HttpRouter.get(
    "/login",
    Effect.succeed(HttpServerResponse.empty({ status: 204, headers: { "set-cookie": "session=s1; Path=/" } }))
  ),
  HttpRouter.get(
    "/stream-cookie",
    Effect.map(cookieOf, (cookie) => HttpServerResponse.stream(Stream.make(new TextEncoder().encode(cookie))))
  ),
  HttpRouter.get(
    "/ws-cookie",
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const socket = yield* request.upgrade
      const write = yield* socket.writer
      // The socket runs while the first message is written (a write waits for it to open).
      yield* Effect.all([write(request.headers.cookie ?? "none"), socket.runRaw(() => Effect.void)], {
        concurrency: 2
      }).pipe(Effect.ignore)
      return HttpServerResponse.empty()
    })
  )
)

describe("hot path", () => {
  it.scoped("a handler that finishes inside dispatch and one that suspends give the same exchange", () =>
    Effect.gen(function* () {
      const fast = yield* TestClient.get("/sync")
      const slow = yield* TestClient.get("/async")
      expect([fast.status, yield* fast.json]).toEqual([200, { how: "sync", cookie: "none" }])
      expect([slow.status, yield* slow.json]).toEqual([200, { how: "async", cookie: "seen=sync" }])
      // Both stored their cookie and both are in the log, in order.
      const again = yield* TestClient.get("/sync")
      expect(yield* again.json).toEqual({ how: "sync", cookie: "seen=async" })
      const log = yield* TestClient.exchanges
      expect(log.map((e) => e.response.url)).toEqual([
        "http://testserver/sync",
        "http://testserver/async",
        "http://testserver/sync"
      ])
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.scoped("a request, a stream and a WebSocket built before a cookie is set send it when run", () =>
    Effect.gen(function* () {
      const request = TestClient.get("/sync")
      const stream = TestClient.stream("GET", "/stream-cookie")
      const socket = TestClient.websocket("/ws-cookie")
      yield* TestClient.get("/login")
      expect(yield* (yield* request).json).toEqual({ how: "sync", cookie: "session=s1" })
      expect(yield* (yield* stream).text).toBe("session=s1; seen=sync")
      const ws = yield* socket
      expect(yield* ws.receiveText).toBe("session=s1; seen=sync")
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.scoped("an effect run twice sends two requests, each with the cookies of its time", () =>
    Effect.gen(function* () {
      const request = TestClient.get("/async")
      expect(yield* (yield* request).json).toEqual({ how: "async", cookie: "none" })
      expect(yield* (yield* request).json).toEqual({ how: "async", cookie: "seen=async" })
      expect((yield* TestClient.exchanges).length).toBe(2)
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.scoped("the exchange log keeps the newest, oldest first, however often it wraps", () =>
    Effect.gen(function* () {
      const urls = Effect.map(TestClient.exchanges, (log) => log.map((e) => new URL(e.response.url).search))
      for (let i = 0; i < 3; i++) yield* TestClient.get(`/sync?i=${i}`)
      expect(yield* urls).toEqual(["?i=0", "?i=1", "?i=2"])
      yield* TestClient.get("/sync?i=3")
      expect(yield* urls).toEqual(["?i=1", "?i=2", "?i=3"])
      for (let i = 4; i < 9; i++) yield* TestClient.get(`/sync?i=${i}`)
      expect(yield* urls).toEqual(["?i=6", "?i=7", "?i=8"])
      // Each entry is a plain record: spread, JSON and toEqual see its request too.
      const [entry] = yield* TestClient.exchanges
      expect(Object.keys(entry).sort()).toEqual(["request", "response"])
      expect({ ...entry }.request.url).toBe("http://testserver/sync")
      expect(entry).toEqual({ request: expect.anything(), response: expect.anything() })
    }).pipe(Effect.provide(TestClient.layer(app, { exchangeLimit: 3 })))
  )

  it.scoped("work forked by a handler that finished inside dispatch is still drained", () =>
    Effect.gen(function* () {
      const release = yield* Deferred.make<void>()
      const done = yield* Ref.make(false)
      const forking = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/fork",
          Effect.as(
            Effect.forkDaemon(Effect.zipRight(Deferred.await(release), Ref.set(done, true))),
            HttpServerResponse.text("forked")
          )
        )
      )
      yield* Effect.gen(function* () {
        const response = yield* TestClient.get("/fork")
        expect(yield* response.text).toBe("forked")
        const draining = yield* Effect.fork(TestClient.drainTasks)
        // The drain waits for the forked fiber: it is still running until released.
        expect(yield* Ref.get(done)).toBe(false)
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(draining)
        expect(yield* Ref.get(done)).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(forking)))
    })
  )
})
