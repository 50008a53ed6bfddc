/**
 * What the client's fast paths must keep: a handler that finishes at once and one that
 * suspends give the same exchange; a request is prepared when its effect runs, not when it is
 * built; the handlers of one app are tracked (and their forks drained) however they end.
 */
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Deferred, Effect, Fiber, Layer, Ref, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"

/** Answers once a callback outside the fiber fires: the handler suspends, then resumes. */
const later = <A>(value: A) =>
  Effect.callback<A>((resume) => {
    const handle = setImmediate(() => resume(Effect.succeed(value)))
    return Effect.sync(() => clearImmediate(handle))
  })

const cookieOf = Effect.map(
  Effect.service(HttpServerRequest.HttpServerRequest),
  (request) => request.headers.cookie ?? "none"
)

const app = Layer.mergeAll(
  HttpRouter.add(
    "GET",
    "/sync",
    Effect.map(cookieOf, (cookie) =>
      HttpServerResponse.jsonUnsafe({ how: "sync", cookie }, { headers: { "set-cookie": "seen=sync; Path=/" } })
    )
  ),
  HttpRouter.add(
    "GET",
    "/async",
    Effect.flatMap(cookieOf, (cookie) =>
      Effect.map(later(cookie), (cookie) =>
        HttpServerResponse.jsonUnsafe({ how: "async", cookie }, { headers: { "set-cookie": "seen=async; Path=/" } })
      )
    )
  ),
  HttpRouter.add(
    "GET",
    "/login",
    Effect.succeed(HttpServerResponse.empty({ status: 204, headers: { "set-cookie": "session=s1; Path=/" } }))
  ),
  HttpRouter.add(
    "GET",
    "/stream-cookie",
    Effect.map(cookieOf, (cookie) => HttpServerResponse.stream(Stream.make(new TextEncoder().encode(cookie))))
  ),
  HttpRouter.add("GET", "/ws-cookie", (request) =>
    Effect.gen(function* () {
      const socket = yield* request.upgrade
      const { write } = yield* socket.writer
      // Acquiring the reader answers the handshake; then the cookie goes out as the first message.
      const { pull } = yield* socket.reader
      yield* write(request.headers.cookie ?? "none")
      yield* Effect.ignore(Effect.forever(pull))
      return HttpServerResponse.empty()
    })
  )
)

describe("hot path", () => {
  it.effect("a handler that finishes at once and one that suspends give the same exchange", () =>
    Effect.gen(function* () {
      const fast = yield* TestClient.get("/sync")
      const slow = yield* TestClient.get("/async")
      expect([fast.status, yield* fast.json]).toEqual([200, { how: "sync", cookie: "none" }])
      expect([slow.status, yield* slow.json]).toEqual([200, { how: "async", cookie: "seen=sync" }])
      // Both stored their cookie and both are in the log, in order.
      const again = yield* TestClient.get("/sync")
      expect(yield* again.json).toEqual({ how: "sync", cookie: "seen=async" })
      const log = yield* TestClient.exchanges
      expect(log.map((e) => e.request.url)).toEqual([
        "http://testserver/sync",
        "http://testserver/async",
        "http://testserver/sync"
      ])
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.effect("a request, a stream and a WebSocket built before a cookie is set send it when run", () =>
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

  it.effect("an effect run twice sends two requests, each with the cookies of its time", () =>
    Effect.gen(function* () {
      const request = TestClient.get("/async")
      expect(yield* (yield* request).json).toEqual({ how: "async", cookie: "none" })
      expect(yield* (yield* request).json).toEqual({ how: "async", cookie: "seen=async" })
      expect((yield* TestClient.exchanges).length).toBe(2)
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.effect("the exchange log keeps the newest, oldest first, however often it wraps", () =>
    Effect.gen(function* () {
      const urls = Effect.map(TestClient.exchanges, (log) => log.map((e) => new URL(e.request.url).search))
      for (let i = 0; i < 3; i++) yield* TestClient.get(`/sync?i=${i}`)
      expect(yield* urls).toEqual(["?i=0", "?i=1", "?i=2"])
      yield* TestClient.get("/sync?i=3")
      expect(yield* urls).toEqual(["?i=1", "?i=2", "?i=3"])
      for (let i = 4; i < 9; i++) yield* TestClient.get(`/sync?i=${i}`)
      expect(yield* urls).toEqual(["?i=6", "?i=7", "?i=8"])
      // Each entry is a plain record: spread, JSON and toEqual see its request too.
      const [entry] = yield* TestClient.exchanges
      expect(Object.keys(entry!).sort()).toEqual(["request", "response"])
      expect({ ...entry! }.request.url).toBe("http://testserver/sync?i=6")
      expect(entry).toEqual({ request: expect.anything(), response: expect.anything() })
    }).pipe(Effect.provide(TestClient.layer(app, { exchangeLimit: 3 })))
  )

  it.effect("work forked by a handler that finished at once is still drained", () =>
    Effect.gen(function* () {
      const release = yield* Deferred.make<void>()
      const done = yield* Ref.make(false)
      const forking = HttpRouter.add(
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
        const draining = yield* Effect.forkChild(TestClient.drainTasks, { startImmediately: true })
        // The drain waits for the forked fiber: it is still running until released.
        expect(yield* Ref.get(done)).toBe(false)
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(draining)
        expect(yield* Ref.get(done)).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(forking)))
    })
  )
})
