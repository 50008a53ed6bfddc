/**
 * Regressions found in review of the Effect 3 edition, each through the public API (the
 * Effect 4 edition keeps them).
 */
import * as Zlib from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Layer, Ref, Stream } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"

describe("regressions", () => {
  it.effect("a request effect run twice sends the request twice (multipart included)", () =>
    Effect.gen(function* () {
      const hits = yield* Ref.make(0)
      const app = HttpRouter.add(
        "POST",
        "/upload",
        Effect.as(
          Ref.update(hits, (n) => n + 1),
          HttpServerResponse.text("ok")
        )
      )
      yield* Effect.gen(function* () {
        const client = yield* TestClient.TestClient
        const upload = client.request("POST", "/upload", { multipart: { a: "b", file: new File(["x"], "x.txt") } })
        expect((yield* upload).status).toBe(200)
        expect((yield* upload).status).toBe(200)
        const json = client.request("POST", "/upload", { json: { a: 1 } })
        yield* Effect.repeat(json, { times: 2 })
        expect(yield* Ref.get(hits)).toBe(5)
        // The second run sent one content-type, not two.
        const exchanges = yield* TestClient.exchanges
        expect(exchanges[1]!.request.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/)
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  const gzipped = Zlib.gzipSync("hi")
  const deflated = Zlib.deflateSync("hello world")
  const app = Layer.mergeAll(
    HttpRouter.add(
      "GET",
      "/gz",
      Effect.succeed(HttpServerResponse.uint8Array(gzipped, { headers: { "content-encoding": "gzip" } }))
    ),
    HttpRouter.add(
      "GET",
      "/not-modified",
      Effect.succeed(HttpServerResponse.empty({ status: 304, headers: { "content-encoding": "gzip" } }))
    ),
    HttpRouter.add(
      "GET",
      "/empty-gzip-stream",
      Effect.succeed(HttpServerResponse.stream(Stream.empty, { headers: { "content-encoding": "gzip" } }))
    ),
    HttpRouter.add(
      "GET",
      "/deflate-stream",
      Effect.succeed(
        HttpServerResponse.stream(Stream.make(deflated.subarray(0, 1), deflated.subarray(1)), {
          headers: { "content-encoding": "deflate" }
        })
      )
    )
  )

  it.effect("streamed HEAD, 304 and empty bodies with a Content-Encoding decode to nothing", () =>
    Effect.gen(function* () {
      expect(yield* (yield* TestClient.stream("HEAD", "/gz")).text).toBe("")
      expect(yield* (yield* TestClient.stream("GET", "/not-modified")).text).toBe("")
      expect(yield* (yield* TestClient.stream("GET", "/empty-gzip-stream")).text).toBe("")
      expect(yield* (yield* TestClient.stream("GET", "/gz")).text).toBe("hi")
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.effect("streamed deflate whose first chunk is a single byte is still told apart from raw deflate", () =>
    Effect.gen(function* () {
      expect(yield* (yield* TestClient.get("/deflate-stream")).text).toBe("hello world")
      expect(yield* (yield* TestClient.stream("GET", "/deflate-stream")).text).toBe("hello world")
    }).pipe(Effect.provide(TestClient.layer(app)))
  )
})
