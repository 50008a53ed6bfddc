/**
 * Parity: the same app must answer the same way through `TestClient.layer(app)` (in
 * process, no socket) as through a real Node HTTP server (`NodeHttpServer.layerTest`) and
 * the platform `HttpClient` talking to it over a socket.
 *
 * Every case in the table is sent both ways with equivalent requests; the responses are
 * normalised (status, lowercase header record minus transport-only headers, body text) and
 * must be equal. One test per case, so a failure names the case.
 */
import { Readable } from "node:stream"
import { fileURLToPath } from "node:url"
import {
  Cookies,
  FileSystem,
  HttpClient,
  HttpClientRequest,
  HttpIncomingMessage,
  HttpRouter,
  HttpServer,
  HttpServerRequest,
  HttpServerRespondable,
  HttpServerResponse
} from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { describe, expect, layer } from "@effect/vitest"
import { catalogueEtag, type ParityFile, type ParityRequest, parityRequests } from "@effect-http-testkit/core/scenarios"
import { Data, Effect, Layer, Option, Schema, Stream } from "effect"
import { TestClient } from "effect-http-testkit"

// ---------------------------------------------------------------------------
// the app
// ---------------------------------------------------------------------------

/** A typed failure the app does not turn into a response: production answers 500. */
class InventoryUnavailable extends Data.TaggedError("InventoryUnavailable")<{ readonly sku: string }> {}

/** A typed failure that knows its own response (Respondable): production answers 418. */
class Teapot extends Data.TaggedError("Teapot")<{ readonly reason: string }> {
  [HttpServerRespondable.symbol]() {
    return HttpServerResponse.json({ error: "teapot", reason: this.reason }, { status: 418 })
  }
}

const utf8 = new TextDecoder()

/** The request headers the app reports back: everything but the ones only the transport sets. */
const visibleRequestHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    // `host` names the origin, which differs by construction (http://testserver vs
    // 127.0.0.1:<random port>); `connection: close` is added by Node's client agent
    // (keepAlive: false) to manage the socket, and an in-process exchange has no socket.
    if (name === "host" || name === "connection") continue
    out[name] = value
  }
  return out
}

const TypedQuery = Schema.Struct({
  page: Schema.NumberFromString,
  tag: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String)))
})

const thisFile = fileURLToPath(import.meta.url)

/** Mounted under /api/v1 with `mountApp`, which rewrites `request.url` through `request.modify`. */
const versioned = HttpRouter.empty.pipe(
  HttpRouter.get(
    "/status",
    Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
      HttpServerResponse.unsafeJson({ url: request.url, originalUrl: request.originalUrl, method: request.method })
    )
  )
)

const crud = HttpRouter.empty.pipe(
  HttpRouter.get("/text", HttpServerResponse.text("hello, world")),
  HttpRouter.get("/json", HttpServerResponse.json({ ok: true, items: [1, 2, 3], nested: { name: "ä ö ü ✓" } })),
  HttpRouter.get(
    "/unsafe-json",
    Effect.succeed(HttpServerResponse.unsafeJson({ kind: "unsafe" }, { headers: { "x-json": "yes" } }))
  ),
  HttpRouter.post(
    "/echo/json",
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const body = yield* request.json
      return HttpServerResponse.unsafeJson({ received: body, contentType: request.headers["content-type"] ?? null })
    })
  ),
  HttpRouter.post(
    "/echo/text",
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const text = yield* request.text
      return HttpServerResponse.text(`got ${text.length} chars: ${text}`, {
        contentType: request.headers["content-type"] ?? "text/plain"
      })
    })
  ),
  HttpRouter.all(
    "/echo/headers",
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const body = yield* request.text
      return HttpServerResponse.unsafeJson({
        method: request.method,
        headers: visibleRequestHeaders(request.headers),
        body
      })
    })
  ),
  HttpRouter.post(
    "/form",
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const params = yield* request.urlParamsBody
      return HttpServerResponse.unsafeJson({ params })
    })
  ),
  HttpRouter.post(
    "/upload",
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const fs = yield* FileSystem.FileSystem
      const persisted = yield* request.multipart
      const fields: Record<string, string | ReadonlyArray<string>> = {}
      const files: Array<{ key: string; name: string; contentType: string; size: number; content: string }> = []
      for (const [key, value] of Object.entries(persisted)) {
        if (typeof value === "string") {
          fields[key] = value
          continue
        }
        for (const part of value) {
          if (typeof part === "string") {
            fields[key] = [...(Array.isArray(fields[key]) ? fields[key] : []), part]
            continue
          }
          const bytes = yield* fs.readFile(part.path)
          files.push({
            key,
            name: part.name,
            contentType: part.contentType,
            size: bytes.length,
            content: utf8.decode(bytes.subarray(0, 32))
          })
        }
      }
      return HttpServerResponse.unsafeJson({ fields, files })
    })
  ),
  HttpRouter.put(
    "/items/:id",
    Effect.gen(function* () {
      const { id } = yield* HttpRouter.params
      const body = yield* Effect.flatMap(HttpServerRequest.HttpServerRequest, (r) => r.json)
      return HttpServerResponse.unsafeJson({ op: "replace", id, body }, { headers: { etag: `"${id}-v2"` } })
    })
  ),
  HttpRouter.patch(
    "/items/:id",
    Effect.gen(function* () {
      const { id } = yield* HttpRouter.params
      const body = yield* Effect.flatMap(HttpServerRequest.HttpServerRequest, (r) => r.json)
      return HttpServerResponse.unsafeJson({ op: "update", id, body })
    })
  ),
  HttpRouter.del("/items/:id", HttpServerResponse.empty({ status: 204, headers: { "x-deleted": "true" } })),
  HttpRouter.options(
    "/items",
    HttpServerResponse.empty({
      status: 204,
      headers: { allow: "GET, PUT, PATCH, DELETE, OPTIONS", "access-control-max-age": "600" }
    })
  )
)

const http = crud.pipe(
  HttpRouter.mountApp("/api/v1", versioned),
  HttpRouter.get(
    "/catalogue",
    Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
      request.headers["if-none-match"] === catalogueEtag
        ? HttpServerResponse.empty({ status: 304, headers: { etag: catalogueEtag, "cache-control": "max-age=60" } })
        : HttpServerResponse.unsafeJson(
            { items: ["a", "b"] },
            { headers: { etag: catalogueEtag, "cache-control": "max-age=60" } }
          )
    )
  ),
  // A common slip: a 204 built with a body. HTTP forbids the body and Node drops it.
  HttpRouter.del("/sessions/current", Effect.succeed(HttpServerResponse.unsafeJson({ ok: true }, { status: 204 }))),
  HttpRouter.post(
    "/limited",
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const body = yield* HttpIncomingMessage.withMaxBodySize(request.json, Option.some(1024))
      return HttpServerResponse.unsafeJson({ received: body })
    })
  )
)

const app = http.pipe(
  HttpRouter.post(
    "/accounts",
    HttpServerResponse.unsafeJson({ id: "acc_1" }, { status: 201 }).pipe(
      HttpServerResponse.setHeaders({
        location: "/accounts/acc_1",
        "x-request-id": "req-42",
        "cache-control": "no-store"
      }),
      HttpServerResponse.unsafeSetCookie("session", "s3cr3t", { httpOnly: true, path: "/", sameSite: "lax" }),
      HttpServerResponse.setCookie("theme", "dark", { maxAge: "1 hour", path: "/" })
    )
  ),
  HttpRouter.get(
    "/old-home",
    Effect.succeed(HttpServerResponse.redirect("/text", { status: 302, headers: { "x-moved": "yes" } }))
  ),
  HttpRouter.get(
    "/stream",
    Effect.succeed(
      HttpServerResponse.stream(Stream.make("line 1\n", "line 2\n", "line 3\n").pipe(Stream.encodeText), {
        contentType: "text/plain; charset=utf-8"
      })
    )
  ),
  HttpRouter.get("/empty", Effect.succeed(HttpServerResponse.empty())),
  HttpRouter.get("/raw", Effect.succeed(HttpServerResponse.raw("raw body text", { contentType: "text/x-raw" }))),
  HttpRouter.get(
    "/raw-readable",
    Effect.sync(() =>
      HttpServerResponse.raw(Readable.from([Buffer.from("from "), Buffer.from("a Node "), Buffer.from("Readable")]), {
        contentType: "text/plain"
      })
    )
  ),
  HttpRouter.get(
    "/stream-large",
    Effect.succeed(
      HttpServerResponse.stream(Stream.range(0, 255).pipe(Stream.map((i) => new Uint8Array(4096).fill(i))), {
        contentType: "application/octet-stream",
        headers: { "x-chunks": "256" }
      })
    )
  ),
  HttpRouter.get(
    "/download",
    Effect.succeed(
      HttpServerResponse.text("%PDF-1.7", {
        contentType: "application/pdf",
        headers: { "content-disposition": 'attachment; filename="résumé ✓.pdf"' }
      })
    )
  ),
  HttpRouter.get("/file", HttpServerResponse.file(thisFile, { contentType: "text/plain" })),
  HttpRouter.get("/die", Effect.die(new Error("handler defect"))),
  HttpRouter.get("/fail", Effect.fail(new InventoryUnavailable({ sku: "sku-1" }))),
  HttpRouter.get("/teapot", Effect.fail(new Teapot({ reason: "short and stout" }))),
  HttpRouter.get("/conflict", Effect.fail(HttpServerResponse.text("already exists", { status: 409 }))),
  HttpRouter.get("/interrupt", Effect.interrupt),
  HttpRouter.get(
    "/query",
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const search = yield* HttpServerRequest.ParsedSearchParams
      return HttpServerResponse.unsafeJson({ url: request.url, search })
    })
  ),
  HttpRouter.get(
    "/typed-query",
    Effect.gen(function* () {
      const query = yield* HttpServerRequest.schemaSearchParams(TypedQuery)
      return HttpServerResponse.unsafeJson(query)
    })
  ),
  HttpRouter.get(
    "/multi-header",
    Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
      HttpServerResponse.text(`x-multi=${request.headers["x-multi"] ?? "<none>"}`)
    )
  ),
  HttpRouter.get(
    "/cookies",
    Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
      HttpServerResponse.unsafeJson({ header: request.headers.cookie ?? null, parsed: request.cookies })
    )
  )
)

// ---------------------------------------------------------------------------
// the cases: the request list every edition sends (@effect-http-testkit/core/scenarios)
// ---------------------------------------------------------------------------

type Case = ParityRequest

/** A multipart body's parts as the FormData both clients send. */
const formData = (parts: ReadonlyArray<readonly [string, string | ParityFile]>): FormData => {
  const form = new FormData()
  for (const [name, part] of parts) {
    if (typeof part === "string") form.append(name, part)
    else form.append(name, new File([part.content], part.filename, { type: part.type }))
  }
  return form
}

const cases = parityRequests

// ---------------------------------------------------------------------------
// sending a case both ways
// ---------------------------------------------------------------------------

interface Normalised {
  readonly _tag: "Response"
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** The response's cookies as the client parsed them (`HttpClientResponse.cookies`). */
  readonly cookies: ReadonlyArray<string>
  readonly body: string
}

/**
 * Response headers that belong to the transport, not to the app; both sides are compared
 * without them. Everything else is compared, framing included (`content-length`,
 * `transfer-encoding`), because the in-process engine claims to frame responses as Node does.
 */
const transportOnly = new Set([
  // Node's server stamps every response with the current time; an in-process exchange has
  // no wire format to stamp, and two exchanges need not fall in the same second anyway.
  "date",
  // Socket management: Node answers the client's `connection: close` (layerTest's agent runs
  // with keepAlive: false) or announces keep-alive and its timeout; in process there is no
  // socket to keep or close.
  "connection",
  "keep-alive"
])

/** The server closed the connection without sending a response. */
interface ConnectionDropped {
  readonly _tag: "ConnectionDropped"
}
const connectionDropped: ConnectionDropped = { _tag: "ConnectionDropped" }

const normalise = (
  status: number,
  headers: Readonly<Record<string, string>>,
  cookies: Cookies.Cookies,
  body: Uint8Array
): Normalised => {
  const out: Record<string, string> = {}
  for (const name of Object.keys(headers).sort()) {
    const lower = name.toLowerCase()
    if (!transportOnly.has(lower)) out[lower] = headers[name]
  }
  return {
    _tag: "Response",
    status,
    headers: out,
    cookies: Cookies.toSetCookieHeaders(cookies),
    body: utf8.decode(body)
  }
}

const groupHeaders = (lines: ReadonlyArray<readonly [string, string]>): Record<string, Array<string>> => {
  const out: Record<string, Array<string>> = {}
  for (const [name, value] of lines) {
    const key = name.toLowerCase()
    out[key] = [...(out[key] ?? []), value]
  }
  return out
}

const cookieHeader = (cookies: Readonly<Record<string, string>>): string =>
  Object.entries(cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join("; ")

const encoder = new TextEncoder()

/**
 * TestClient's default `accept-encoding` (README, "Requests"; docs/behaviours.md#accept-encoding). The node side sends
 * it too so the app sees the same request; no route here compresses, so neither client has a
 * body to decode.
 */
const acceptEncoding = "gzip, deflate, br, zstd"
const chunkStream = (chunks: ReadonlyArray<string>) => Stream.fromIterable(chunks.map((chunk) => encoder.encode(chunk)))

/**
 * In process. TestClient puts header lines in this order: `host`, its defaults
 * (`user-agent: effect-http-testkit`, `accept: *\/*`, `accept-encoding`), the request's headers, `cookie`, then
 * the body's `content-type` / `content-length` / `transfer-encoding` when not given.
 */
const sendInProcess = (c: Case) =>
  Effect.gen(function* () {
    const headers = groupHeaders(c.headers ?? [])
    const options: TestClient.RequestOptions = {
      headers,
      // platform's HttpClient does not follow redirects; compare the 302 itself.
      followRedirects: false,
      ...(c.params === undefined ? {} : { params: c.params.map(([k, v]) => [k, v] as const) }),
      ...(c.cookies === undefined ? {} : { cookies: c.cookies })
    }
    const body = c.body
    const withBody: TestClient.RequestOptions =
      body === undefined
        ? options
        : body._tag === "Json"
          ? { ...options, json: body.value }
          : body._tag === "Form"
            ? { ...options, form: body.fields.map(([k, v]) => [k, v] as const) }
            : body._tag === "Multipart"
              ? { ...options, multipart: formData(body.parts) }
              : body._tag === "Text"
                ? { ...options, body: body.text, headers: { ...headers, "content-type": body.contentType } }
                : {
                    ...options,
                    body: chunkStream(body.chunks),
                    headers: { ...headers, "content-type": body.contentType }
                  }
    // A reset connection (as platform-node does on an oversized body) compares like a dropped socket.
    const response = yield* TestClient.request(c.method, c.path, withBody).pipe(
      Effect.catchTag("ConnectionReset", () => Effect.succeed(connectionDropped))
    )
    if ("_tag" in response) return response
    return normalise(response.status, response.headers, response.cookies, response.body)
  })

/** Over a real socket, with the same request: same header lines in the same order, same body bytes. */
const sendOverSocket = (c: Case) =>
  Effect.gen(function* () {
    // No trace propagation: it would add `traceparent`/`b3` headers the in-process client
    // does not send, and the requests must stay equivalent.
    const client = HttpClient.withTracerPropagation(yield* HttpClient.HttpClient, false)
    let request = HttpClientRequest.make(c.method)(c.path).pipe(
      HttpClientRequest.setHeaders({
        "user-agent": "effect-http-testkit",
        accept: "*/*",
        "accept-encoding": acceptEncoding
      })
    )
    if (c.params !== undefined) request = HttpClientRequest.appendUrlParams(request, c.params)
    for (const [name, values] of Object.entries(groupHeaders(c.headers ?? []))) {
      // Platform `Headers` hold one string per name, but `Headers.set` stores the value as
      // given and NodeHttpClient hands the record to `http.request`, which sends an array
      // value as one header line per element: a repeated header really goes out twice.
      request = HttpClientRequest.setHeader(
        request,
        name,
        values.length === 1 ? values[0] : (values as unknown as string)
      )
    }
    if (c.cookies !== undefined) request = HttpClientRequest.setHeader(request, "cookie", cookieHeader(c.cookies))
    const body = c.body
    if (body !== undefined) {
      switch (body._tag) {
        case "Json":
          request = HttpClientRequest.bodyUnsafeJson(request, body.value)
          break
        case "Form":
          request = HttpClientRequest.bodyUrlParams(request, body.fields)
          break
        case "Multipart":
          // Node's client sends this chunked while TestClient sends a content-length; the
          // upload route does not report framing headers, only what it parsed.
          request = HttpClientRequest.bodyFormData(request, formData(body.parts))
          break
        case "Text":
          request = HttpClientRequest.bodyText(
            HttpClientRequest.setHeader(request, "content-type", body.contentType),
            body.text,
            body.contentType
          )
          break
        case "Stream":
          request = HttpClientRequest.bodyStream(
            HttpClientRequest.setHeader(request, "content-type", body.contentType),
            chunkStream(body.chunks),
            { contentType: body.contentType }
          )
          break
      }
    }
    return yield* client.execute(request).pipe(
      Effect.flatMap((response) =>
        Effect.map(response.arrayBuffer, (buffer) =>
          normalise(response.status, response.headers, response.cookies, new Uint8Array(buffer))
        )
      ),
      // The server may drop the connection instead of answering (platform-node destroys the
      // request stream, and with it the socket, when a body exceeds `withMaxBodySize`). That is
      // an outcome too, and the in-process side must reproduce it, not invent a response.
      Effect.catchIf(
        (error) => error._tag === "RequestError" && error.reason === "Transport",
        () => Effect.succeed(connectionDropped)
      )
    )
  })

// ---------------------------------------------------------------------------
// the tests
// ---------------------------------------------------------------------------

/** The app behind a real Node HTTP server on a random port, and an HttpClient aimed at it. */
const OverSocket = HttpServer.serve(app).pipe(Layer.provideMerge(NodeHttpServer.layerTest))

/**
 * The same app in process; `serverErrors: "respond"` returns 500s as production does.
 * Provided per test: TestClient keeps a cookie jar, and platform's HttpClient has none, so a
 * shared client would send cookies set by earlier cases and the requests would differ.
 */
const InProcess = TestClient.layer(app, { serverErrors: "respond" })

describe("parity: TestClient.layer vs NodeHttpServer over a socket", () => {
  // One Node server for the whole table: it is stateless between requests (no jar, no keep-alive).
  layer(OverSocket)((it) => {
    it("has at least 20 cases", () => {
      expect(cases.length).toBeGreaterThanOrEqual(20)
      expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length)
    })

    for (const c of cases) {
      it.scoped(`${c.method} ${c.path} — ${c.name}`, () =>
        Effect.gen(function* () {
          const overSocket = yield* sendOverSocket(c)
          const inProcess = yield* Effect.provide(sendInProcess(c), InProcess)
          expect(inProcess).toEqual(overSocket)
        })
      )
    }
  })
})
