/**
 * Regressions found in review, each through the public API.
 */

import * as Zlib from "node:zlib"
import { HttpRouter, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Ref, Stream } from "effect"
import { TestClient } from "effect-http-testkit"

describe("regressions", () => {
  it.scoped("a request effect run twice sends the request twice (multipart included)", () =>
    Effect.gen(function* () {
      const hits = yield* Ref.make(0)
      const app = HttpRouter.empty.pipe(
        HttpRouter.post(
          "/upload",
          Effect.as(
            Ref.update(hits, (n) => n + 1),
            HttpServerResponse.text("ok")
          )
        )
      )
      yield* Effect.gen(function* () {
        const client = yield* TestClient.TestClient
        const upload = client.post("/upload", { multipart: { a: "b", file: new File(["x"], "x.txt") } })
        expect((yield* upload).status).toBe(200)
        expect((yield* upload).status).toBe(200)
        const json = client.post("/upload", { json: { a: 1 } })
        yield* Effect.repeatN(json, 2)
        expect(yield* Ref.get(hits)).toBe(5)
        // The second run sent one content-type, not two.
        const exchanges = yield* TestClient.exchanges
        expect(exchanges[1].request.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/)
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  it.scoped("an infinite drainTimeout waits for the work instead of timing out at once", () =>
    Effect.gen(function* () {
      const done = yield* Ref.make(false)
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/bg",
          Effect.as(
            Effect.forkDaemon(
              Effect.zipRight(
                Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 30))),
                Ref.set(done, true)
              )
            ),
            HttpServerResponse.text("started")
          )
        )
      )
      yield* Effect.gen(function* () {
        yield* TestClient.get("/bg")
        yield* TestClient.drainTasks
        expect(yield* Ref.get(done)).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(app, { drainTimeout: Duration.infinity })))
    })
  )

  const gzipped = Zlib.gzipSync("hi")
  const deflated = Zlib.deflateSync("hello world")
  const app = HttpRouter.empty.pipe(
    HttpRouter.get(
      "/gz",
      Effect.succeed(HttpServerResponse.uint8Array(gzipped, { headers: { "content-encoding": "gzip" } }))
    ),
    HttpRouter.get(
      "/not-modified",
      Effect.succeed(HttpServerResponse.empty({ status: 304, headers: { "content-encoding": "gzip" } }))
    ),
    HttpRouter.get(
      "/empty-gzip-stream",
      Effect.succeed(HttpServerResponse.stream(Stream.empty, { headers: { "content-encoding": "gzip" } }))
    ),
    HttpRouter.get(
      "/deflate-stream",
      Effect.succeed(
        HttpServerResponse.stream(Stream.make(deflated.subarray(0, 1), deflated.subarray(1)), {
          headers: { "content-encoding": "deflate" }
        })
      )
    )
  )

  it.scoped("streamed HEAD, 304 and empty bodies with a Content-Encoding decode to nothing", () =>
    Effect.gen(function* () {
      expect(yield* (yield* TestClient.stream("HEAD", "/gz")).text).toBe("")
      expect(yield* (yield* TestClient.stream("GET", "/not-modified")).text).toBe("")
      expect(yield* (yield* TestClient.stream("GET", "/empty-gzip-stream")).text).toBe("")
      expect(yield* (yield* TestClient.stream("GET", "/gz")).text).toBe("hi")
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.scoped("streamed deflate whose first chunk is a single byte is still told apart from raw deflate", () =>
    Effect.gen(function* () {
      expect(yield* (yield* TestClient.get("/deflate-stream")).text).toBe("hello world")
      expect(yield* (yield* TestClient.stream("GET", "/deflate-stream")).text).toBe("hello world")
    }).pipe(Effect.provide(TestClient.layer(app)))
  )
})
