/**
 * Streamed responses through `TestClient.stream`: returning at the headers (which go with the
 * first chunk, as platform-node sends them), disconnects when the scope closes or the test
 * stops reading, failures before and after the headers, bounded waits, backpressure,
 * decoding, cookies, and a body read once.
 */

import * as Zlib from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import { TestClient, TestStream } from "@effect-http-testkit/effect4"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Option, Queue, Ref, Schema, Scope, Stream } from "effect"
import { type HttpClientError, HttpRouter, HttpServerError, HttpServerResponse } from "effect/http"
import { concatBytes, utf8 } from "./support/bytes.js"
import { drainTimeouts } from "./support/exits.js"

const sseFrame = (n: number) => utf8(`id: ${n}\nevent: tick\ndata: ${n}\n\n`)

/** Whether the handler's exit is an interruption by the client's abort, as a socket close gives. */
const isClientAbort = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) &&
  exit.cause.reasons.some(
    (reason) => Cause.isInterruptReason(reason) && reason.annotations.has(HttpServerError.ClientAbort.key)
  )

/** The failure of a body read, or a test failure naming what happened instead. */
const bodyFailure = <A>(read: Effect.Effect<A, HttpClientError.HttpClientError>) =>
  Effect.flatMap(Effect.exit(read), (exit) => {
    if (Exit.isSuccess(exit)) return Effect.succeed(expect.fail(`expected the read to fail, it gave ${exit.value}`))
    const error = Cause.findErrorOption(exit.cause)
    if (Option.isNone(error)) return Effect.succeed(expect.fail(`expected a failure, got ${Cause.pretty(exit.cause)}`))
    return Effect.succeed(error.value)
  })

/**
 * An endless event stream, compressed with a flush after every frame so each frame can be
 * decoded as soon as it arrives (as a compressing SSE server does).
 */
const endlessCompressed = (coding: string): Stream.Stream<Uint8Array> =>
  Stream.unwrap(
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
      compressor.on("data", (chunk: Buffer) => Queue.offerUnsafe(output, chunk))
      let n = 0
      return Stream.fromEffectRepeat(
        Effect.andThen(
          Effect.sync(() => compressor.write(sseFrame(n++))),
          Queue.take(output)
        )
      )
    })
  )

/**
 * `bytes` as one zstd frame: Node's compressor where it has one (Node >= 22.15), else a frame
 * of one raw block (a valid frame every decoder reads).
 */
const zstdFrame = (bytes: Uint8Array): Uint8Array => {
  const native = (Zlib as { zstdCompressSync?: (input: Uint8Array) => Uint8Array }).zstdCompressSync
  if (native !== undefined) return native(bytes)
  if (bytes.length > 255) throw new RangeError("the raw zstd frame here holds at most 255 bytes")
  const blockHeader = 1 | (bytes.length << 3) // last block, raw, its size
  return concatBytes([
    Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x20, bytes.length), // magic; single segment, 1-byte content size
    Uint8Array.of(blockHeader & 0xff, (blockHeader >> 8) & 0xff, (blockHeader >> 16) & 0xff),
    bytes
  ])
}

describe("TestClient.stream returns at the headers", () => {
  it.effect("it waits for the first chunk (the headers go with it, as on Node) and returns before the rest", () =>
    Effect.gen(function* () {
      const queue = yield* Queue.unbounded<string>()
      const started = yield* Deferred.make<void>()
      const Feed = HttpRouter.add(
        "GET",
        "/feed",
        HttpServerResponse.stream(
          Stream.concat(
            Stream.fromEffect(Deferred.succeed(started, undefined)).pipe(Stream.drain),
            Stream.fromQueue(queue).pipe(Stream.map((data) => utf8(`data: ${data}\n\n`)))
          ),
          { contentType: "text/event-stream", headers: { "cache-control": "no-cache" } }
        )
      )
      yield* Effect.gen(function* () {
        const opening = yield* Effect.forkChild(TestClient.stream("GET", "/feed"))
        yield* Deferred.await(started)
        // The handler runs but has written nothing: no headers have been sent yet.
        expect(opening.pollUnsafe()).toBeUndefined()
        yield* Queue.offer(queue, "one")
        const r = yield* Fiber.join(opening)
        expect(r.status).toBe(200)
        expect(r.headers["content-type"]).toBe("text/event-stream")
        expect(r.headers["cache-control"]).toBe("no-cache")
        // The rest of the body does not exist yet: it arrives as the handler writes it.
        yield* Queue.offerAll(queue, ["two", "three"])
        const events = yield* r.events.pipe(Stream.take(3), Stream.runCollect)
        expect(events).toEqual([{ data: "one" }, { data: "two" }, { data: "three" }])
      }).pipe(Effect.provide(TestClient.layer(Feed)))
    })
  )

  it.effect("an infinite SSE handler is read with Stream.take; stopping reading ends it as a client abort", () =>
    Effect.gen(function* () {
      const stopped = yield* Deferred.make<Exit.Exit<unknown, unknown>>()
      const Ticks = HttpRouter.add(
        "GET",
        "/ticks",
        HttpServerResponse.stream(
          Stream.iterate(0, (n) => n + 1).pipe(
            Stream.map(sseFrame),
            Stream.onExit((exit) => Deferred.succeed(stopped, exit))
          ),
          { contentType: "text/event-stream" }
        )
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.stream("GET", "/ticks")
        const events = yield* r.events.pipe(Stream.take(3), Stream.runCollect)
        expect(events).toEqual([
          { id: "0", event: "tick", data: "0" },
          { id: "1", event: "tick", data: "1" },
          { id: "2", event: "tick", data: "2" }
        ])
        // The scope is still open: the read ending was enough, and the handler has ended already.
        expect(yield* Deferred.isDone(stopped)).toBe(true)
        expect(isClientAbort(yield* Deferred.await(stopped))).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(Ticks)))
    })
  )

  it.effect("closing the scope interrupts the handler as a client abort and runs its finalizers", () =>
    Effect.gen(function* () {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const append = (entry: string) => Ref.update(log, (all) => [...all, entry])
      const ended = yield* Deferred.make<Exit.Exit<unknown, unknown>>()
      const Slow = HttpRouter.add(
        "GET",
        "/slow",
        HttpServerResponse.stream(
          Stream.concat(Stream.succeed(utf8("first")), Stream.never).pipe(
            Stream.onExit((exit) => Effect.andThen(append("handler finalizer"), Deferred.succeed(ended, exit)))
          )
        )
      )
      yield* Effect.gen(function* () {
        const scope = yield* Scope.make()
        const r = yield* TestClient.stream("GET", "/slow").pipe(Scope.provide(scope))
        expect(r.status).toBe(200)
        yield* Scope.close(scope, Exit.void)
        yield* append("scope closed")
        // Already ended when the scope had closed (no wait here that could hang the test).
        expect(yield* Deferred.isDone(ended)).toBe(true)
        expect(isClientAbort(yield* Deferred.await(ended))).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(Slow)))
      // The handler was waiting for the reader: its (synchronous) finalizer ran as the scope closed.
      expect(yield* Ref.get(log)).toEqual(["handler finalizer", "scope closed"])
    })
  )

  it.effect("a body read to its end needs no disconnect; text and json read the whole body", () =>
    Effect.gen(function* () {
      const App = Layer.mergeAll(
        HttpRouter.add(
          "GET",
          "/json",
          HttpServerResponse.stream(Stream.make('{"a":', "1}").pipe(Stream.encodeText), {
            contentType: "application/json"
          })
        ),
        HttpRouter.add("GET", "/buffered", HttpServerResponse.text("all at once"))
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.stream("GET", "/json")
        expect(r.headers["transfer-encoding"]).toBe("chunked")
        expect(yield* r.json).toEqual({ a: 1 })
        const buffered = yield* TestClient.stream("GET", "/buffered")
        expect(buffered.headers["content-length"]).toBe("11")
        expect(yield* buffered.text).toBe("all at once")
      }).pipe(Effect.provide(TestClient.layer(App)))
    })
  )
})

describe("TestClient.stream: failures", () => {
  it.effect("a body that fails before its first chunk leaves no response: stream() fails with ServerError", () =>
    Effect.gen(function* () {
      const Boom = HttpRouter.add(
        "GET",
        "/boom",
        HttpServerResponse.stream(Stream.die(new Error("before the first chunk")))
      )
      const error = yield* Effect.flip(TestClient.stream("GET", "/boom")).pipe(Effect.provide(TestClient.layer(Boom)))
      expect(error._tag).toBe("ServerError")
      expect(error.message).toContain("GET http://testserver/boom")
    })
  )

  it.effect("a handler that fails before its headers: ServerError with the app's Cause, or the 500 with respond", () =>
    Effect.gen(function* () {
      const Die = HttpRouter.add("GET", "/die", Effect.die(new Error("before headers")))
      const error = yield* Effect.flip(TestClient.stream("GET", "/die")).pipe(Effect.provide(TestClient.layer(Die)))
      expect(error._tag).toBe("ServerError")
      expect(error._tag === "ServerError" && Cause.pretty(error.cause)).toContain("before headers")
      const r = yield* TestClient.stream("GET", "/die").pipe(
        Effect.provide(TestClient.layer(Die, { serverErrors: "respond" }))
      )
      expect(r.status).toBe(500)
    })
  )

  it.effect("a handler that fails after the headers fails the body stream, never ends it short", () =>
    Effect.gen(function* () {
      const Partial = HttpRouter.add(
        "GET",
        "/partial",
        HttpServerResponse.stream(
          Stream.concat(Stream.make(sseFrame(1), sseFrame(2)), Stream.die(new Error("after headers")))
        )
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.stream("GET", "/partial")
        expect(r.status).toBe(200)
        const seen: Array<TestStream.SseEvent> = []
        const error = yield* bodyFailure(
          r.events.pipe(Stream.runForEach((event) => Effect.sync(() => seen.push(event))))
        )
        expect(seen.map((event) => event.data)).toEqual(["1", "2"])
        expect(error._tag).toBe("HttpClientError")
        expect(error.reason._tag).toBe("DecodeError")
        expect(error.message).toContain("the handler failed after sending the headers")
        // It names the app's own failure.
        expect(error.message).toContain("after headers")
      }).pipe(Effect.provide(TestClient.layer(Partial)))
    })
  )

  it.effect("the timeout bounds the wait for the headers (wall clock, under TestClock)", () =>
    Effect.gen(function* () {
      const App = Layer.mergeAll(
        HttpRouter.add("GET", "/never", Effect.never),
        // Headers go with the first chunk: a body whose first byte never comes is bounded too.
        HttpRouter.add("GET", "/silent", HttpServerResponse.stream(Stream.never))
      )
      yield* Effect.gen(function* () {
        for (const url of ["/never", "/silent"]) {
          const error = yield* Effect.flip(TestClient.stream("GET", url, { timeout: "30 millis" }))
          expect(error._tag).toBe("RequestTimeout")
          expect(error.message).toContain(`GET http://testserver${url}`)
        }
      }).pipe(Effect.provide(TestClient.layer(App)))
    })
  )

  it.live("a handler that ignores interruption is reported with DrainTimeout at scope close, not a hang", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const finished = yield* Deferred.make<void>()
      const Stubborn = HttpRouter.add(
        "GET",
        "/stubborn",
        HttpServerResponse.stream(
          Stream.concat(
            Stream.make(utf8("x")),
            Stream.fromEffect(
              Effect.ensuring(
                Effect.uninterruptible(
                  Effect.andThen(Deferred.succeed(started, undefined), Effect.sleep("300 millis"))
                ),
                Deferred.succeed(finished, undefined)
              )
            ).pipe(Stream.drain)
          )
        )
      )
      const exit = yield* Effect.exit(
        // The test reads the body, so the handler goes on to its uninterruptible part; the
        // stream's scope closes once it is there.
        Effect.scoped(
          Effect.andThen(
            Effect.flatMap(TestClient.stream("GET", "/stubborn"), (r) => Effect.forkScoped(Stream.runDrain(r.stream))),
            Deferred.await(started)
          )
        ).pipe(Effect.provide(TestClient.layer(Stubborn, { drainTimeout: "50 millis", report: "never" })))
      )
      const timeouts = drainTimeouts(exit)
      expect(timeouts).toHaveLength(1)
      expect(timeouts[0]!.message).toContain("GET http://testserver/stubborn")
      // It ends by itself, as it was bound to: nothing of it is left once the test ends.
      yield* Deferred.await(finished)
    })
  )

  it.effect("bad options, methods and URLs fail with InvalidRequest, as for TestClient.request", () =>
    Effect.gen(function* () {
      const Ok = HttpRouter.add("GET", "/stream", HttpServerResponse.text("ok"))
      yield* Effect.gen(function* () {
        const cases: ReadonlyArray<
          readonly [Effect.Effect<unknown, TestClient.TestClientError, Scope.Scope | TestClient.TestClient>, string]
        > = [
          [
            TestClient.stream("GET", "/stream", null as unknown as TestClient.RequestOptions),
            "options must be an object"
          ],
          [TestClient.stream("GET", "/stream", { timeout: -1 }), "timeout"],
          [TestClient.stream(42 as unknown as string, "/stream"), "method"],
          [TestClient.stream("GET", "/stream", { tiemout: 5 } as TestClient.RequestOptions), 'did you mean "timeout"']
        ]
        for (const [attempt, says] of cases) {
          const error = yield* Effect.flip(attempt)
          expect(error._tag).toBe("InvalidRequest")
          expect(error.message).toContain(says)
        }
      }).pipe(Effect.provide(TestClient.layer(Ok)))
      const bad = yield* Effect.flip(
        TestClient.stream("GET", "/stream").pipe(Effect.provide(TestClient.layer(Ok, { timeout: "soon" })))
      )
      expect(bad._tag).toBe("InvalidRequest")
      expect(bad.message).toContain("timeout")
    })
  )
})

describe("TestClient.stream: bodies", () => {
  it.effect("204, 304 and HEAD give an empty stream", () =>
    Effect.gen(function* () {
      const App = Layer.mergeAll(
        HttpRouter.add("GET", "/none", HttpServerResponse.empty()),
        HttpRouter.add("GET", "/cached", HttpServerResponse.empty({ status: 304 })),
        HttpRouter.add("GET", "/body", HttpServerResponse.text("body"))
      )
      yield* Effect.gen(function* () {
        for (const [method, url, status] of [
          ["GET", "/none", 204],
          ["GET", "/cached", 304],
          ["HEAD", "/body", 200]
        ] as const) {
          const r = yield* TestClient.stream(method, url)
          expect(r.status).toBe(status)
          expect(yield* Stream.runCollect(r.stream)).toHaveLength(0)
        }
      }).pipe(Effect.provide(TestClient.layer(App)))
    })
  )

  it.effect("the handler is at most a few chunks ahead of a slow reader: the buffer between them is bounded", () =>
    Effect.gen(function* () {
      const produced = yield* Ref.make(0)
      const Firehose = HttpRouter.add(
        "GET",
        "/firehose",
        HttpServerResponse.stream(
          Stream.fromEffectRepeat(
            Effect.as(
              Ref.update(produced, (n) => n + 1),
              new Uint8Array(1024)
            )
          )
        )
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.stream("GET", "/firehose")
        // Each read waits on the handler (a promise settles between them): an unbounded
        // producer would run thousands of chunks ahead during the first one.
        let read = 0
        let ahead = 0
        yield* r.stream.pipe(
          Stream.take(100),
          Stream.runForEach(() =>
            Effect.map(Ref.get(produced), (count) => {
              read++
              ahead = Math.max(ahead, count - read)
            })
          )
        )
        expect(read).toBe(100)
        expect(ahead).toBeLessThan(16)
      }).pipe(Effect.provide(TestClient.layer(Firehose)))
    })
  )

  it.effect("a chunk of many items larger than the buffer arrives whole and in order", () =>
    Effect.gen(function* () {
      const lines = Array.from({ length: 100 }, (_, i) => `${i}\n`)
      // One Stream chunk of 100 items: more than fit in the buffer between handler and test.
      const Export = HttpRouter.add(
        "GET",
        "/export",
        HttpServerResponse.stream(Stream.encodeText(Stream.fromIterable(lines)))
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.stream("GET", "/export")
        const received = yield* r.stream.pipe(TestStream.lines, Stream.runCollect)
        expect(received).toEqual(lines.map((line) => line.trim()))
      }).pipe(Effect.provide(TestClient.layer(Export)))
    })
  )

  it.effect("gzip, deflate and br bodies are decoded incrementally, even when endless", () =>
    Effect.gen(function* () {
      const ended = yield* Queue.unbounded<Exit.Exit<unknown, unknown>>()
      const Compressed = HttpRouter.add("GET", "/compressed/:coding", () =>
        Effect.map(HttpRouter.params, ({ coding }) =>
          HttpServerResponse.stream(
            endlessCompressed(coding!).pipe(Stream.onExit((exit) => Queue.offer(ended, exit))),
            { contentType: "text/event-stream", headers: { "content-encoding": coding! } }
          )
        )
      )
      yield* Effect.gen(function* () {
        for (const coding of ["gzip", "deflate", "br"]) {
          const r = yield* TestClient.stream("GET", `/compressed/${coding}`)
          expect(r.headers["content-encoding"]).toBe(coding)
          const events = yield* r.events.pipe(Stream.take(2), Stream.runCollect)
          expect(events.map((event) => event.data)).toEqual(["0", "1"])
          // Stopping reading a decoded body ends the handler too.
          expect(isClientAbort(yield* Queue.take(ended))).toBe(true)
        }
      }).pipe(Effect.provide(TestClient.layer(Compressed)))
    })
  )

  it.effect("a zstd body, a corrupt gzip body and an unknown coding", () =>
    Effect.gen(function* () {
      const zstd = zstdFrame(utf8('{"row":1}\n{"row":2}\n'))
      const App = Layer.mergeAll(
        HttpRouter.add(
          "GET",
          "/zstd",
          HttpServerResponse.stream(Stream.make(zstd), { headers: { "content-encoding": "zstd" } })
        ),
        HttpRouter.add(
          "GET",
          "/corrupt",
          HttpServerResponse.stream(Stream.make(utf8("not gzip at all")), { headers: { "content-encoding": "gzip" } })
        ),
        HttpRouter.add(
          "GET",
          "/weird",
          HttpServerResponse.stream(Stream.make(zstd), { headers: { "content-encoding": "weird" } })
        )
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.stream("GET", "/zstd")
        const rows = yield* r.stream.pipe(
          TestStream.ndjsonSchema(Schema.Struct({ row: Schema.Number })),
          Stream.runCollect
        )
        expect(rows).toEqual([{ row: 1 }, { row: 2 }])
        const corrupt = yield* TestClient.stream("GET", "/corrupt")
        const failure = yield* bodyFailure(corrupt.text)
        expect(failure.reason._tag).toBe("DecodeError")
        expect(failure.message).toContain("corrupt gzip body")
        const error = yield* Effect.flip(TestClient.stream("GET", "/weird"))
        expect(error._tag).toBe("ResponseError")
        expect(error.message).toContain('unsupported content-encoding "weird"')
      }).pipe(Effect.provide(TestClient.layer(App)))
    })
  )

  it.effect("Set-Cookie on a streamed response lands in the jar; redirects are not followed", () =>
    Effect.gen(function* () {
      const App = Layer.mergeAll(
        HttpRouter.add(
          "GET",
          "/subscribe",
          HttpServerResponse.stream(Stream.make(utf8("ok"))).pipe(HttpServerResponse.setCookieUnsafe("feed", "on"))
        ),
        HttpRouter.add("GET", "/moved", HttpServerResponse.redirect("/subscribe", { status: 302 }))
      )
      yield* Effect.gen(function* () {
        const r = yield* TestClient.stream("GET", "/subscribe")
        expect(r.setCookie).toEqual(["feed=on"])
        expect(yield* TestClient.cookieHeader()).toBe("feed=on")
        const moved = yield* TestClient.stream("GET", "/moved")
        expect(moved.status).toBe(302)
        expect(moved.headers.location).toBe("/subscribe")
        expect(moved.url).toBe("http://testserver/moved")
      }).pipe(Effect.provide(TestClient.layer(App)))
    })
  )
})

describe("a streamed body is read once", () => {
  const Abc = HttpRouter.add(
    "GET",
    "/stream",
    HttpServerResponse.stream(Stream.make("a", "b", "c").pipe(Stream.encodeText))
  )
  const textOf = (r: TestClient.StreamResponse) =>
    Effect.map(Stream.runCollect(r.stream), (chunks) => new TextDecoder().decode(concatBytes(chunks)))

  it.effect("stream read twice: the second read fails saying so, never with an empty body", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.stream("GET", "/stream")
      expect(yield* textOf(r)).toBe("abc")
      const reads: ReadonlyArray<Effect.Effect<unknown, HttpClientError.HttpClientError>> = [
        textOf(r),
        r.text,
        Stream.runCollect(r.events)
      ]
      for (const again of reads) {
        const error = yield* bodyFailure(again)
        expect(error.reason._tag).toBe("DecodeError")
        expect(error.message).toContain("the body was already read (by stream)")
      }
    }).pipe(Effect.provide(TestClient.layer(Abc)))
  )

  it.effect("text, json and arrayBuffer share one read; stream after them fails saying who read it", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.stream("GET", "/stream")
      expect(yield* r.text).toBe("abc")
      expect(new TextDecoder().decode(yield* r.arrayBuffer)).toBe("abc")
      expect(yield* r.text).toBe("abc")
      const error = yield* bodyFailure(textOf(r))
      expect(error.message).toContain("already read (by text, json or arrayBuffer)")
    }).pipe(Effect.provide(TestClient.layer(Abc)))
  )

  it.effect("a body read after the scope stream() was opened in has closed says so", () =>
    Effect.gen(function* () {
      const Feed = HttpRouter.add(
        "GET",
        "/feed",
        HttpServerResponse.stream(Stream.concat(Stream.make(utf8("first")), Stream.never))
      )
      yield* Effect.gen(function* () {
        const r = yield* Effect.scoped(TestClient.stream("GET", "/feed"))
        const error = yield* bodyFailure(Stream.runDrain(r.stream))
        expect(error.message).toContain("the scope TestClient.stream was opened in has closed")
      }).pipe(Effect.provide(TestClient.layer(Feed)))
    })
  )
})
