/**
 * Production parity at the edges of what Node's HTTP server accepts (the port of the Effect 3
 * edition's `test/Edges.test.ts`), each checked against the same app behind
 * `NodeHttpServer.layerTest` on 127.0.0.1: through its client (Effect 4's is fetch) or a raw
 * socket where the exact bytes matter:
 * - whitespace around a header value is trimmed before the app sees it;
 * - a request target plus headers reaching Node's `maxHeaderSize` (16 KiB) is answered 431
 *   with an empty body, and the handler never runs;
 * - a method Node's parser does not know is answered 400, and the handler never runs;
 * - `CONNECT` never reaches the handler: the connection is dropped.
 */

import { maxHeaderSize } from "node:http"
import * as net from "node:net"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Layer } from "effect"
import { HttpClient, HttpClientRequest, HttpServer, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { HttpMethod } from "effect/http/HttpMethod"

/** How many times a handler ran, across both servers. */
let handled = 0

/** Echoes what the app saw. A plain `HttpEffect`, not a router, so any method reaches it. */
const app = Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
  handled++
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (name !== "host" && name !== "connection") headers[name] = value
  }
  return HttpServerResponse.jsonUnsafe({ method: request.method, url: request.url, headers })
})

/** The app behind a real Node HTTP server on a random port, and its client aimed at it. */
const OverSocket = HttpServer.serve(app).pipe(Layer.provideMerge(NodeHttpServer.layerTest))
const InProcess = TestClient.layerServer(HttpServer.serve(app))

const utf8 = new TextDecoder()

/** What a client sees, comparable across both sides. */
interface Seen {
  readonly status: number
  readonly body: string
  readonly handled: number
}

/** Through the production client over the socket (no trace headers: the requests must be equal). */
const overSocket = (method: string, path: string, headers: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const before = handled
    const response = yield* HttpClient.execute(
      HttpClientRequest.make(method as HttpMethod)(path).pipe(HttpClientRequest.setHeaders(headers))
    )
    const body = utf8.decode(new Uint8Array(yield* response.arrayBuffer))
    return { status: response.status, body, handled: handled - before } satisfies Seen
  }).pipe(Effect.provideService(HttpClient.TracerPropagationEnabled, false))

/** Through the kit's own client. */
const inProcess = (method: string, path: string, headers: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const before = handled
    const response = yield* TestClient.request(method, path, { headers })
    return { status: response.status, body: yield* response.text, handled: handled - before } satisfies Seen
  }).pipe(Effect.provide(InProcess))

/** Exactly these bytes on a socket to the Node server; what comes back, as text ("" when it just closes). */
const rawSocket = (text: string) =>
  HttpServer.addressFormattedWith((origin) =>
    Effect.callback<string>((resume) => {
      const socket = net.connect(Number(new URL(origin).port), "127.0.0.1", () => socket.end(text))
      let received = ""
      socket.on("data", (data) => {
        received += data.toString("latin1")
      })
      socket.on("error", () => {})
      socket.on("close", () => resume(Effect.succeed(received)))
      return Effect.sync(() => socket.destroy())
    }).pipe(Effect.timeout("10 seconds"), Effect.orDie)
  )

const statusOf = (raw: string): number => Number(raw.split(" ")[1] ?? 0)

/** The headers the echo app saw, from a raw HTTP/1.1 response with a content-length body. */
const echoedHeaders = (raw: string): Record<string, string> =>
  (JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)) as { headers: Record<string, string> }).headers

describe("parity at the edges of Node's HTTP server", () => {
  layer(OverSocket)((it) => {
    describe("whitespace around header values", () => {
      it.effect("is trimmed before the app sees it, as Node's parser trims it", () =>
        Effect.gen(function* () {
          const headers = { "x-padded": "  padded value \t", "x-blank": " \t ", "x-inner": "a  b" }
          // The raw lines on the socket: fetch would trim the values itself before sending.
          const lines = Object.entries(headers)
            .map(([name, value]) => `${name}:${value}\r\n`)
            .join("")
          const node = echoedHeaders(
            yield* rawSocket(`GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${lines}\r\n`)
          )
          const kit = yield* inProcess("GET", "/echo", headers)
          for (const seen of [node, echoedHeaders(`\r\n\r\n${kit.body}`)]) {
            expect(seen["x-padded"]).toBe("padded value")
            expect(seen["x-blank"]).toBe("")
            expect(seen["x-inner"]).toBe("a  b")
          }
        })
      )

      it.effect("in the client's own headers too", () =>
        Effect.gen(function* () {
          const r = yield* TestClient.get("/echo")
          const seen = (JSON.parse(yield* r.text) as { headers: Record<string, string> }).headers
          expect(seen["x-client"]).toBe("padded")
          expect(seen["accept-encoding"]).toBe("gzip")
        }).pipe(
          Effect.provide(
            TestClient.layerServer(HttpServer.serve(app), {
              headers: { "x-client": "\tpadded  " },
              acceptEncoding: " gzip "
            })
          )
        )
      )
    })

    describe("431 for a request target and headers reaching maxHeaderSize", () => {
      it.effect("a URL over 16 KiB: 431 with an empty body, and the handler never runs", () =>
        Effect.gen(function* () {
          const path = `/search?q=${"a".repeat(17 * 1024)}`
          const node = yield* overSocket("GET", path)
          const kit = yield* inProcess("GET", path)
          expect(node).toEqual({ status: 431, body: "", handled: 0 })
          expect(kit).toEqual(node)
        })
      )

      it.effect("a header over 16 KiB: 431 with an empty body, and the handler never runs", () =>
        Effect.gen(function* () {
          const headers = { "x-big": "b".repeat(17 * 1024) }
          const node = yield* overSocket("POST", "/upload", headers)
          const kit = yield* inProcess("POST", "/upload", headers)
          expect(node).toEqual({ status: 431, body: "", handled: 0 })
          expect(kit).toEqual(node)
        })
      )

      it.effect("the limit is exact: target + header names + values one byte under passes, at the limit is 431", () =>
        Effect.gen(function* () {
          // Node counts the request target and each header name and value, nothing else.
          const target = "/exact"
          const fixed = target.length + "host".length + "x".length + "connection".length + "close".length
          const padName = "x-pad"
          const at = (size: number) => "p".repeat(size - fixed - padName.length)
          for (const [size, status] of [
            [maxHeaderSize - 1, 200],
            [maxHeaderSize, 431]
          ] as const) {
            const pad = at(size)
            const before = handled
            const raw = yield* rawSocket(
              `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: ${pad}\r\n\r\n`
            )
            expect(statusOf(raw)).toBe(status)
            expect(handled - before).toBe(status === 200 ? 1 : 0)
            // The kit sends the same lines: its defaults removed, the same host.
            const kit = yield* TestClient.get(target, {
              headers: {
                host: "x",
                connection: "close",
                "x-pad": pad,
                "user-agent": undefined,
                accept: undefined,
                "accept-encoding": undefined
              }
            }).pipe(Effect.provide(InProcess))
            expect(kit.status).toBe(status)
            expect(handled - before).toBe(status === 200 ? 2 : 0)
          }
        })
      )

      it.effect("the kit's platform HttpClient gets the same 431, with no handler run", () =>
        Effect.gen(function* () {
          const before = handled
          const client = yield* HttpClient.HttpClient
          const r = yield* client.get(`/search?q=${"a".repeat(17 * 1024)}`)
          expect(r.status).toBe(431)
          expect(yield* r.text).toBe("")
          expect(handled).toBe(before)
        }).pipe(Effect.provide(InProcess))
      )
    })

    describe("methods Node does not route to the app", () => {
      it.effect("an unknown method: 400 with an empty body, and the handler never runs", () =>
        Effect.gen(function* () {
          const node = yield* overSocket("FOO", "/thing")
          const kit = yield* inProcess("FOO", "/thing")
          expect(node).toEqual({ status: 400, body: "", handled: 0 })
          expect(kit).toEqual(node)
          // Every method Node knows does reach the app (QUERY, PURGE, ...).
          expect(yield* inProcess("PURGE", "/thing")).toMatchObject({ status: 200, handled: 1 })
        })
      )

      it.effect("CONNECT: the connection is dropped with no response, and the handler never runs", () =>
        Effect.gen(function* () {
          const before = handled
          // Effect 4's client over the socket is fetch, which refuses to send CONNECT at all.
          const node = yield* Effect.flip(overSocket("CONNECT", "/tunnel"))
          expect(node._tag).toBe("HttpClientError")
          expect(node._tag === "HttpClientError" && node.reason._tag).toBe("TransportError")
          // Node's server itself drops the connection.
          expect(yield* rawSocket("CONNECT testserver:443 HTTP/1.1\r\nHost: testserver:443\r\n\r\n")).toBe("")

          // The Effect 4 edition has no ConnectionReset error: the kit refuses CONNECT with
          // InvalidRequest saying why.
          const kit = yield* Effect.flip(TestClient.request("CONNECT", "/tunnel")).pipe(Effect.provide(InProcess))
          expect(kit._tag).toBe("InvalidRequest")
          expect(kit.message).toContain("never routes CONNECT")
          const viaHttpClient = yield* Effect.flip(
            HttpClient.execute(HttpClientRequest.make("CONNECT" as HttpMethod)("/tunnel"))
          ).pipe(Effect.provide(InProcess))
          expect(viaHttpClient.reason._tag).toBe("TransportError")
          expect(handled).toBe(before)
        })
      )
    })
  })
})
