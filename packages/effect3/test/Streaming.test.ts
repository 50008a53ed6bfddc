/**
 * Streamed responses (docs/behaviours.md#streaming): returning at the headers, disconnects,
 * failures before and after the headers, backpressure and decoding.
 */

import * as Zlib from "node:zlib"
import { HttpRouter, HttpServerError, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Deferred,
  Effect,
  Exit,
  type FiberId,
  HashSet,
  Option,
  Queue,
  Ref,
  Schema,
  Scope,
  Stream
} from "effect"
import { TestClient, TestStream } from "effect-http-testkit"

const encoder = new TextEncoder()
const sseFrame = (n: number) => encoder.encode(`id: ${n}\nevent: tick\ndata: ${n}\n\n`)

/**
 * An endless event stream, compressed with a flush after every frame so each frame can be
 * decoded as soon as it arrives (as a compressing SSE server does).
 */
const endlessCompressed = (coding: string): Stream.Stream<Uint8Array> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const compressor = yield* Effect.acquireRelease(
        Effect.sync(() =>
          coding === "gzip"
            ? Zlib.createGzip({ flush: Zlib.constants.Z_SYNC_FLUSH })
            : coding === "deflate"
              ? Zlib.createDeflate({ flush: Zlib.constants.Z_SYNC_FLUSH })
              : Zlib.createBrotliCompress({ flush: Zlib.constants.BROTLI_OPERATION_FLUSH })
        ),
        (compressor) => Effect.sync(() => compressor.destroy())
      )
      const output = yield* Queue.unbounded<Uint8Array>()
      compressor.on("data", (chunk: Buffer) => Queue.unsafeOffer(output, chunk))
      let n = 0
      return Stream.repeatEffect(
        Effect.zipRight(
          Effect.sync(() => compressor.write(sseFrame(n++))),
          Queue.take(output)
        )
      )
    })
  )

describe("streams", () => {
  // docs/behaviours.md#stream-returns-at-headers
  it.scoped("stream() returns once the headers are sent, before any body", () =>
    Effect.gen(function* () {
      const queue = yield* Queue.unbounded<string>()
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/feed",
          Effect.succeed(
            HttpServerResponse.stream(
              Stream.fromQueue(queue).pipe(Stream.map((data) => encoder.encode(`data: ${data}\n\n`))),
              {
                contentType: "text/event-stream",
                headers: { "cache-control": "no-cache" }
              }
            )
          )
        )
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.stream("GET", "/feed")
        // Nothing has been offered yet: a buffering client would still be waiting here.
        expect(r.status).toBe(200)
        expect(r.headers["content-type"]).toBe("text/event-stream")
        expect(r.headers["cache-control"]).toBe("no-cache")
        yield* Queue.offerAll(queue, ["one", "two", "three"])
        const events = yield* r.events.pipe(Stream.take(3), Stream.runCollect)
        expect(Chunk.toReadonlyArray(events)).toEqual([{ data: "one" }, { data: "two" }, { data: "three" }])
        // In process only: over a socket platform-node sends the headers with the first body
        // chunk, so a test that waits for them before the app writes any body waits forever.
      }).pipe(Effect.provide(TestClient.layer(app, { transport: "in-process" })))
    })
  )

  // docs/behaviours.md#stream-returns-at-headers and #stream-disconnect
  it.scoped(
    "an infinite SSE handler is read with Stream.take; leaving the scope disconnects it as a client abort",
    () =>
      Effect.gen(function* () {
        const stopped = yield* Deferred.make<HashSet.HashSet<FiberId.FiberId>>()
        const app = HttpRouter.empty.pipe(
          HttpRouter.get(
            "/ticks",
            Effect.succeed(
              HttpServerResponse.stream(
                Stream.iterate(0, (n) => n + 1).pipe(
                  Stream.map(sseFrame),
                  Stream.onEnd(Effect.void),
                  Stream.ensuringWith((exit) =>
                    Deferred.succeed(stopped, Exit.isFailure(exit) ? Cause.interruptors(exit.cause) : HashSet.empty())
                  )
                ),
                { contentType: "text/event-stream" }
              )
            )
          )
        )
        const events = yield* Effect.scoped(
          Effect.gen(function* () {
            const r = yield* TestClient.stream("GET", "/ticks")
            return yield* r.events.pipe(Stream.take(3), Stream.runCollect)
          })
        ).pipe(Effect.provide(TestClient.layer(app)))
        expect(Chunk.toReadonlyArray(events)).toEqual([
          { id: "0", event: "tick", data: "0" },
          { id: "1", event: "tick", data: "1" },
          { id: "2", event: "tick", data: "2" }
        ])
        // The scope's close waited for the handler: its finalizer has already run, and the
        // interruption came from the client abort id, as platform-node's socket close does.
        const interruptors = yield* Deferred.poll(stopped)
        expect(Option.isSome(interruptors)).toBe(true)
        const ids = yield* Deferred.await(stopped)
        expect(HashSet.has(ids, HttpServerError.clientAbortFiberId)).toBe(true)
      })
  )

  // docs/behaviours.md#stream-disconnect
  it.scoped("scope close interrupts the handler, runs its finalizers, and waits for it", () =>
    Effect.gen(function* () {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const append = (entry: string) => Ref.update(log, (all) => [...all, entry])
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/slow",
          Effect.succeed(
            HttpServerResponse.stream(
              Stream.concat(Stream.succeed(encoder.encode("first")), Stream.never).pipe(
                Stream.ensuring(append("handler finalizer"))
              )
            )
          )
        )
      )
      yield* Effect.gen(function* () {
        const scope = yield* Scope.make()
        const r = yield* TestClient.stream("GET", "/slow").pipe(Scope.extend(scope))
        const first = yield* r.stream.pipe(Stream.take(1), Stream.runCollect)
        expect(new TextDecoder().decode(Chunk.unsafeHead(first))).toBe("first")
        yield* Scope.close(scope, Exit.void)
        yield* append("scope closed")
      }).pipe(Effect.provide(TestClient.layer(app)))
      expect(yield* Ref.get(log)).toEqual(["handler finalizer", "scope closed"])
    })
  )

  // docs/behaviours.md#stream-disconnect
  it.scoped("a body read to its end needs no disconnect; text and json read the whole body", () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/json",
          Effect.succeed(
            HttpServerResponse.stream(Stream.make('{"a":', "1}").pipe(Stream.map((s) => encoder.encode(s))), {
              contentType: "application/json"
            })
          )
        ),
        HttpRouter.get("/buffered", HttpServerResponse.text("all at once"))
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.stream("GET", "/json")
        expect(yield* r.json).toEqual({ a: 1 })
        const buffered = yield* TestClient.stream("GET", "/buffered")
        expect(buffered.headers["content-length"]).toBe("11")
        expect(yield* buffered.text).toBe("all at once")
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  // docs/behaviours.md#stream-failure-before-headers
  it.scoped("a handler that fails before the headers fails stream() with the app's cause", () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(HttpRouter.get("/boom", Effect.die(new Error("before headers"))))
      const error = yield* Effect.flip(TestClient.stream("GET", "/boom")).pipe(Effect.provide(TestClient.layer(app)))
      expect(error._tag).toBe("ServerError")
      expect(error._tag === "ServerError" && (Cause.squash(error.cause) as Error).message).toBe("before headers")
      const respond = yield* TestClient.stream("GET", "/boom").pipe(
        Effect.provide(TestClient.layer(app, { serverErrors: "respond" }))
      )
      expect(respond.status).toBe(500)
    })
  )

  // docs/behaviours.md#stream-failure-after-headers
  it.scoped("a handler that fails after the headers fails the body stream, never ends it short", () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/partial",
          Effect.succeed(
            HttpServerResponse.stream(
              Stream.concat(Stream.make(sseFrame(1), sseFrame(2)), Stream.die(new Error("after headers")))
            )
          )
        )
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.stream("GET", "/partial")
        expect(r.status).toBe(200)
        const seen: Array<TestStream.SseEvent> = []
        const exit = yield* r.events.pipe(
          Stream.runForEach((event) => Effect.sync(() => seen.push(event))),
          Effect.exit
        )
        expect(seen.map((e) => e.data)).toEqual(["1", "2"])
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          const failure = Cause.failureOption(exit.cause)
          expect(Option.map(failure, (e) => e._tag)).toEqual(Option.some("ResponseError"))
          expect(Option.map(failure, (e) => e.message.includes("after headers"))).toEqual(Option.some(true))
        }
      }).pipe(Effect.provide(TestClient.layer(app, { serverErrors: "respond" })))
    })
  )

  // docs/behaviours.md#stream-empty
  it.scoped("204, 304 and HEAD give an empty stream", () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(
        HttpRouter.get("/none", HttpServerResponse.empty()),
        HttpRouter.get("/cached", HttpServerResponse.empty({ status: 304 })),
        HttpRouter.get("/body", HttpServerResponse.text("body"))
      )
      yield* Effect.gen(function* () {
        for (const [method, url, status] of [
          ["GET", "/none", 204],
          ["GET", "/cached", 304],
          ["HEAD", "/body", 200]
        ] as const) {
          const r = yield* TestClient.stream(method, url)
          expect(r.status).toBe(status)
          expect(Chunk.size(yield* Stream.runCollect(r.stream))).toBe(0)
        }
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  // docs/behaviours.md#stream-headers-timeout
  it.scoped("the timeout bounds the wait for headers (wall clock, under TestClock)", () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(HttpRouter.get("/never", Effect.never))
      const error = yield* Effect.flip(TestClient.stream("GET", "/never", { timeout: "30 millis" })).pipe(
        Effect.provide(TestClient.layer(app))
      )
      expect(error._tag).toBe("RequestTimeout")
    })
  )

  // docs/behaviours.md#stubborn-handler
  // Live clock: the stubborn handler must end by itself after the test, or it would keep the
  // worker alive; the report comes long before it does.
  it.live("a handler that ignores interruption is reported with DrainTimeout at scope close, not a hang", () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/stubborn",
          Effect.succeed(
            HttpServerResponse.stream(
              Stream.concat(
                Stream.succeed(encoder.encode("x")),
                Stream.fromEffect(Effect.uninterruptible(Effect.sleep("500 millis"))).pipe(Stream.drain)
              )
            )
          )
        )
      )
      const exit = yield* Effect.exit(
        Effect.scoped(Effect.asVoid(TestClient.stream("GET", "/stubborn"))).pipe(
          Effect.provide(TestClient.layer(app, { drainTimeout: "50 millis" }))
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const defect = Cause.dieOption(exit.cause)
        expect(Option.map(defect, (d) => (d as { _tag: string })._tag)).toEqual(Option.some("DrainTimeout"))
        expect(Option.map(defect, (d) => (d as Error).message.includes("GET http://testserver/stubborn"))).toEqual(
          Option.some(true)
        )
      }
    })
  )

  // docs/behaviours.md#stream-backpressure
  it.scoped("a fast producer waits for a slow reader: the buffer between them is bounded", () =>
    Effect.gen(function* () {
      const produced = yield* Ref.make(0)
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/firehose",
          Effect.succeed(
            HttpServerResponse.stream(
              Stream.repeatEffect(
                Effect.map(
                  Ref.update(produced, (n) => n + 1),
                  () => new Uint8Array(1024)
                )
              )
            )
          )
        )
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.stream("GET", "/firehose")
        yield* r.stream.pipe(Stream.take(1), Stream.runDrain)
        // The behaviour under test is that the producer cannot run ahead however much it is
        // scheduled: there is no event for "did not happen", so it is given many turns.
        for (let i = 0; i < 200; i++) yield* Effect.yieldNow()
        const count = yield* Ref.get(produced)
        expect(count).toBeGreaterThan(1)
        expect(count).toBeLessThan(64)
        // In process only: over a socket the kernel's buffers (megabytes on loopback) hold
        // what the reader has not read, so the producer runs that far ahead first.
      }).pipe(Effect.provide(TestClient.layer(app, { transport: "in-process" })))
    })
  )

  // docs/behaviours.md#stream-backpressure
  it.scoped("a chunk of many items larger than the buffer arrives whole and in order", () =>
    Effect.gen(function* () {
      const lines = Array.from({ length: 100 }, (_, i) => `${i}\n`)
      const app = HttpRouter.empty.pipe(
        // One Stream chunk of 100 items: more than fit in the buffer between handler and test.
        HttpRouter.get(
          "/export",
          Effect.succeed(HttpServerResponse.stream(Stream.encodeText(Stream.fromIterable(lines))))
        )
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.stream("GET", "/export")
        const received = yield* r.stream.pipe(TestStream.lines, Stream.runCollect)
        expect(Chunk.toReadonlyArray(received)).toEqual(lines.map((line) => line.trim()))
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  // docs/behaviours.md#decode-codings
  it.scoped("gzip, deflate and br bodies are decoded incrementally, even when endless", () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/compressed/:coding",
          Effect.gen(function* () {
            const { coding } = yield* HttpRouter.params
            return HttpServerResponse.stream(endlessCompressed(coding!), {
              contentType: "text/event-stream",
              headers: { "content-encoding": coding! }
            })
          })
        )
      )
      yield* Effect.gen(function* () {
        for (const coding of ["gzip", "deflate", "br"]) {
          const r = yield* TestClient.stream("GET", `/compressed/${coding}`)
          expect(r.headers["content-encoding"]).toBe(coding)
          const events = yield* r.events.pipe(Stream.take(2), Stream.runCollect)
          expect(Chunk.toReadonlyArray(events).map((e) => e.data)).toEqual(["0", "1"])
        }
      }).pipe(Effect.scoped, Effect.provide(TestClient.layer(app)))
    })
  )

  // docs/behaviours.md#decode-codings and #decode-failures
  it.scoped("a whole zstd body and an unknown coding", () =>
    Effect.gen(function* () {
      const { compress, init } = yield* Effect.promise(() => import("@bokuweb/zstd-wasm"))
      yield* Effect.promise(() => init())
      const zstd = compress(encoder.encode('{"row":1}\n{"row":2}\n'), 3)
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/zstd",
          Effect.succeed(HttpServerResponse.stream(Stream.make(zstd), { headers: { "content-encoding": "zstd" } }))
        ),
        HttpRouter.get(
          "/weird",
          Effect.succeed(HttpServerResponse.stream(Stream.make(zstd), { headers: { "content-encoding": "weird" } }))
        )
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.stream("GET", "/zstd")
        const rows = yield* r.stream.pipe(
          TestStream.ndjsonSchema(Schema.Struct({ row: Schema.Number })),
          Stream.runCollect
        )
        expect(Chunk.toReadonlyArray(rows)).toEqual([{ row: 1 }, { row: 2 }])
        const error = yield* Effect.flip(TestClient.stream("GET", "/weird"))
        expect(error._tag).toBe("ResponseError")
        expect(error.message).toContain('unsupported content-encoding "weird"')
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  // docs/behaviours.md#stream-cookies
  it.scoped("Set-Cookie on a streamed response lands in the jar", () =>
    Effect.gen(function* () {
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/subscribe",
          HttpServerResponse.stream(Stream.make(encoder.encode("ok"))).pipe(
            HttpServerResponse.setCookie("feed", "on"),
            Effect.orDie
          )
        )
      )
      yield* Effect.gen(function* () {
        yield* TestClient.stream("GET", "/subscribe")
        expect(yield* TestClient.cookieHeader()).toBe("feed=on")
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )
})
