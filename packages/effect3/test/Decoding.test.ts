/**
 * Content decoding of buffered responses: docs/behaviours.md#content-decoding.
 */

import * as Zlib from "node:zlib"
import { compress as zstdCompress, init as zstdInit } from "@bokuweb/zstd-wasm"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClient } from "effect-http-testkit"

beforeAll(() => zstdInit())

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

const encoders: Record<string, (bytes: Uint8Array) => Uint8Array> = {
  gzip: (bytes) => Zlib.gzipSync(bytes),
  deflate: (bytes) => Zlib.deflateSync(bytes),
  "deflate-raw": (bytes) => Zlib.deflateRawSync(bytes),
  br: (bytes) => Zlib.brotliCompressSync(bytes, { params: { [Zlib.constants.BROTLI_PARAM_QUALITY]: 4 } }),
  zstd: (bytes) => zstdCompress(bytes, 3)
}

/** `/encoded/:coding?size=N` answers N payload bytes encoded with that coding. */
const app = HttpRouter.empty.pipe(
  HttpRouter.get(
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
  HttpRouter.get(
    "/multi-member",
    Effect.sync(() => {
      const gz = Buffer.concat([Zlib.gzipSync("first member, "), Zlib.gzipSync("second member")])
      return HttpServerResponse.uint8Array(gz, { headers: { "content-encoding": "gzip" } })
    })
  ),
  HttpRouter.get(
    "/stacked",
    Effect.sync(() =>
      HttpServerResponse.uint8Array(Zlib.brotliCompressSync(Zlib.gzipSync("gzip, then br")), {
        headers: { "content-encoding": "gzip, br" }
      })
    )
  ),
  HttpRouter.get(
    "/identity",
    Effect.succeed(HttpServerResponse.text("plain", { headers: { "content-encoding": "identity" } }))
  ),
  HttpRouter.get(
    "/unknown",
    Effect.succeed(HttpServerResponse.text("???", { headers: { "content-encoding": "x-custom" } }))
  ),
  HttpRouter.get(
    "/corrupt",
    Effect.succeed(
      HttpServerResponse.uint8Array(new Uint8Array([1, 2, 3, 4, 5]), { headers: { "content-encoding": "gzip" } })
    )
  ),
  HttpRouter.get(
    "/empty-gzip",
    Effect.succeed(HttpServerResponse.empty({ status: 200, headers: { "content-encoding": "gzip" } }))
  ),
  HttpRouter.get(
    "/no-content-gzip",
    Effect.succeed(HttpServerResponse.empty({ status: 204, headers: { "content-encoding": "gzip" } }))
  ),
  HttpRouter.get(
    "/accept-encoding",
    Effect.map(HttpServerRequest.HttpServerRequest, (r) =>
      HttpServerResponse.text(r.headers["accept-encoding"] ?? "(none)")
    )
  )
)

const TestApp = TestClient.layer(app)

const sizes = [0, 1, 1024, 64 * 1024 + 7, 4 * 1024 * 1024] as const

// docs/behaviours.md#decode-codings
describe("each encoding round-trips, 0 bytes to 4 MiB", () => {
  for (const coding of Object.keys(encoders)) {
    for (const size of sizes) {
      it.scoped(`${coding}, ${size} bytes`, () =>
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
  // docs/behaviours.md#decode-codings
  it.scoped("a multi-member gzip body is decoded whole", () =>
    Effect.gen(function* () {
      expect(yield* (yield* TestClient.get("/multi-member")).text).toBe("first member, second member")
    }).pipe(Effect.provide(TestApp))
  )

  // docs/behaviours.md#decode-codings
  it.scoped("stacked codings are undone in reverse order; identity is no coding", () =>
    Effect.gen(function* () {
      expect(yield* (yield* TestClient.get("/stacked")).text).toBe("gzip, then br")
      expect(yield* (yield* TestClient.get("/identity")).text).toBe("plain")
    }).pipe(Effect.provide(TestApp))
  )

  // docs/behaviours.md#decode-failures
  it.scoped("an unknown encoding fails loudly with a ResponseError naming it", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/unknown"))
      expect(error._tag).toBe("ResponseError")
      expect(error.message).toContain('unsupported content-encoding "x-custom"')
    }).pipe(Effect.provide(TestApp))
  )

  // docs/behaviours.md#decode-failures
  it.scoped("a corrupt body fails with a ResponseError naming the encoding", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/corrupt"))
      expect(error._tag).toBe("ResponseError")
      expect(error.message).toContain("corrupt gzip body")
    }).pipe(Effect.provide(TestApp))
  )

  // docs/behaviours.md#decode-empty-bodies
  it.scoped("HEAD, 204 and empty bodies with a Content-Encoding never fail decoding", () =>
    Effect.gen(function* () {
      const head = yield* TestClient.head("/encoded/gzip", { params: { size: 100 } })
      expect(head.status).toBe(200)
      expect(head.body.length).toBe(0)
      expect(head.headers["content-encoding"]).toBe("gzip")
      expect((yield* TestClient.get("/empty-gzip")).body.length).toBe(0)
      expect((yield* TestClient.get("/no-content-gzip")).status).toBe(204)
    }).pipe(Effect.provide(TestApp))
  )

  // docs/behaviours.md#accept-encoding
  it.scoped("accept-encoding is sent by default and follows the acceptEncoding option", () =>
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
