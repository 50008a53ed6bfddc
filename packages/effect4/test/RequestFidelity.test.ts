/**
 * What the app receives matches what platform-node's request hands it over a socket: the
 * header order, the peer address, an empty body read as JSON or as a Stream, the body in
 * socket-sized pieces (so body and multipart limits fire as in production), methods and
 * bodies fetch will not send but Node's server takes. Checked against `NodeHttpServer` where
 * Node decides.
 */
import * as Http from "node:http"
import { Readable } from "node:stream"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { ByteSize, Cause, Deferred, Effect, Layer, Option, Stream, Tracer } from "effect"
import {
  HttpClient,
  HttpClientRequest,
  HttpIncomingMessage,
  HttpRouter,
  HttpServer,
  HttpServerResponse,
  Multipart
} from "effect/http"

/** What the app sees of its request. */
const Seen = HttpRouter.add("*", "/seen", (request) =>
  Effect.gen(function* () {
    const chunks = yield* Stream.runCollect(request.stream)
    const sizes = Array.from(chunks, (chunk) => chunk.length)
    return HttpServerResponse.jsonUnsafe({
      method: request.method,
      url: request.url,
      headerNames: Object.keys(request.headers).filter((name) => name !== "host" && name !== "connection"),
      // A loopback peer, as the listening socket reports it (IPv4, IPv4-mapped or IPv6).
      peer: Option.map(request.remoteAddress, (address) =>
        ["127.0.0.1", "::ffff:127.0.0.1", "::1"].includes(address) ? "loopback" : address
      ).pipe(Option.getOrNull),
      cookies: request.cookies,
      largest: sizes.length === 0 ? 0 : Math.max(...sizes),
      total: sizes.reduce((sum, size) => sum + size, 0)
    })
  })
)

const Json = HttpRouter.add("POST", "/json", (request) =>
  Effect.map(request.json, (received) => HttpServerResponse.jsonUnsafe({ received }))
)

const Limited = HttpRouter.add("POST", "/limited", (request) =>
  Effect.map(request.text, (text) => HttpServerResponse.text(`read ${text.length}`)).pipe(
    Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(1024))
  )
)

const Upload = HttpRouter.add("POST", "/upload", (request) =>
  Effect.map(request.multipart, (persisted) =>
    HttpServerResponse.jsonUnsafe({ parts: Object.keys(persisted).sort() })
  ).pipe(Effect.provideService(Multipart.MaxFileSize, ByteSize.bytes(16 * 1024)))
)

const App = Layer.mergeAll(Seen, Json, Limited, Upload)
const serve = HttpRouter.serve(App, { disableListenLog: true, disableLogger: true })
const OverSocket = serve.pipe(Layer.provideMerge(NodeHttpServer.layerTest))
const InProcess = serve.pipe(Layer.provideMerge(TestClient.layerTest))

/** Status and body of a platform-client request, with no trace headers (their ids differ). */
const outcome = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(request)
    return `${response.status} ${yield* response.text}`
  }).pipe(Effect.provideService(Tracer.DisablePropagation, true))

const both = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function* () {
    const overSocket = yield* outcome(request).pipe(Effect.provide(OverSocket))
    const inProcess = yield* outcome(request).pipe(Effect.provide(InProcess))
    return { overSocket, inProcess }
  })

describe("the app's request, in process and over a socket", () => {
  it.effect("headers in the order sent, the peer address, cookies and the URL", () =>
    Effect.gen(function* () {
      const { overSocket, inProcess } = yield* both(
        HttpClientRequest.post("/seen?q=1").pipe(
          HttpClientRequest.setHeaders({ "x-zeta": "1", cookie: "a=1; b=2", "x-alpha": "2" }),
          HttpClientRequest.bodyText("hello")
        )
      )
      expect(inProcess).toBe(overSocket)
      const seen = JSON.parse(inProcess.slice(4))
      expect(seen.headerNames.slice(0, 3)).toEqual(["x-zeta", "cookie", "x-alpha"])
      expect(seen).toMatchObject({ url: "/seen?q=1", cookies: { a: "1", b: "2" }, total: 5 })
      expect(seen.peer).toBe("loopback")
    })
  )

  it.effect("an empty body read as JSON is null; read as a Stream it is empty", () =>
    Effect.gen(function* () {
      const json = yield* both(HttpClientRequest.post("/json"))
      expect(json.inProcess).toBe(json.overSocket)
      expect(json.inProcess).toBe('200 {"received":null}')
      const stream = yield* both(HttpClientRequest.get("/seen"))
      expect(stream.inProcess).toBe(stream.overSocket)
      expect(JSON.parse(stream.inProcess.slice(4))).toMatchObject({ total: 0, largest: 0 })
    })
  )

  it.effect("a body past MaxBodySize answers 413 as in production", () =>
    Effect.gen(function* () {
      const { overSocket, inProcess } = yield* both(
        HttpClientRequest.post("/limited").pipe(HttpClientRequest.bodyText("x".repeat(4096)))
      )
      expect(inProcess).toBe(overSocket)
      expect(inProcess.startsWith("413")).toBe(true)
    })
  )

  it.effect("a 1 MiB body arrives in pieces of at most 64 KiB", () =>
    Effect.gen(function* () {
      const body = new Uint8Array(1024 * 1024).fill(7)
      const r = yield* TestClient.post("/seen", { body })
      expect(yield* r.json).toMatchObject({ largest: 64 * 1024, total: body.length })
    }).pipe(Effect.provide(TestClient.layer(App)))
  )

  for (const size of [1024, 256 * 1024]) {
    it.effect(`a ${size}-byte file against a 16 KiB multipart limit answers the same as over a socket`, () =>
      Effect.gen(function* () {
        const form = new FormData()
        form.append("title", "holiday")
        form.append("photo", new File([new Uint8Array(size).fill(65)], "photo.jpg", { type: "image/jpeg" }))
        const { overSocket, inProcess } = yield* both(
          HttpClientRequest.post("/upload").pipe(HttpClientRequest.bodyFormData(form))
        )
        expect(inProcess).toBe(overSocket)
        expect(inProcess.startsWith("200")).toBe(size <= 16 * 1024)
      })
    )
  }
})

/** Sends one request with Node's own HTTP client to a real server. */
const nodeRequest = (url: string, method: string, body: string | undefined) =>
  Effect.callback<{ readonly status: number; readonly body: string }, Error>((resume) => {
    // Framed with content-length, as the kit frames a body (Node's client would send it unframed).
    const headers = body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }
    const request = Http.request(url, { method, headers }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () =>
        resume(Effect.succeed({ status: response.statusCode!, body: Buffer.concat(chunks).toString() }))
      )
    })
    request.on("error", (error) => resume(Effect.fail(error)))
    request.end(body)
  })

describe("what Node's server takes and fetch will not send", () => {
  const cases = [
    { method: "GET", body: "a body on a GET" },
    { method: "HEAD", body: undefined },
    { method: "TRACE", body: undefined },
    { method: "DELETE", body: "a body on a DELETE" }
  ] as const
  for (const c of cases) {
    it.effect(`${c.method}${c.body === undefined ? "" : " with a body"} reaches the app as on Node`, () =>
      Effect.gen(function* () {
        const production = yield* HttpServer.addressFormattedWith((origin) =>
          nodeRequest(`${origin}/seen`, c.method, c.body)
        ).pipe(Effect.orDie)
        const inProcess = yield* TestClient.request(c.method, "/seen", c.body === undefined ? {} : { body: c.body })
        expect(inProcess.status).toBe(production.status)
        const text = yield* inProcess.text
        if (c.method === "HEAD") {
          expect(text).toBe(production.body)
          return
        }
        // The two clients send different headers: the rest of what the app saw is the same.
        const { headerNames: _a, ...seen } = JSON.parse(text)
        const { headerNames: _b, ...expected } = JSON.parse(production.body)
        expect(seen).toEqual(expected)
        expect(seen).toMatchObject({ method: c.method, total: c.body?.length ?? 0 })
      }).pipe(
        Effect.provide(Layer.mergeAll(serve.pipe(Layer.provideMerge(NodeHttpServer.layerTest)), TestClient.layer(App)))
      )
    )
  }
})

describe("response framing, as Node frames it", () => {
  const form = () => {
    const data = new FormData()
    data.append("a", "1")
    return data
  }
  const Framed = Layer.mergeAll(
    HttpRouter.add("GET", "/f/nocontent", Effect.succeed(HttpServerResponse.empty())),
    HttpRouter.add("GET", "/f/text", Effect.succeed(HttpServerResponse.text("hi"))),
    HttpRouter.add("GET", "/f/stream", Effect.succeed(HttpServerResponse.stream(Stream.make(new Uint8Array([1, 2]))))),
    HttpRouter.add(
      "GET",
      "/f/raw",
      Effect.sync(() => HttpServerResponse.raw(Readable.from([Buffer.from("ab")])))
    ),
    HttpRouter.add(
      "GET",
      "/f/rawstr",
      Effect.sync(() => HttpServerResponse.raw("abc"))
    ),
    HttpRouter.add(
      "GET",
      "/f/form",
      Effect.sync(() => HttpServerResponse.formData(form()))
    ),
    HttpRouter.add("GET", "/f/redirect", Effect.succeed(HttpServerResponse.redirect("/x")))
  )
  const framing = (headers: Readonly<Record<string, string | Array<string> | undefined>>) =>
    `content-length=${headers["content-length"]} transfer-encoding=${headers["transfer-encoding"]}`
  const nodeGet = (url: string, method: string) =>
    Effect.callback<string>((resume) => {
      const request = Http.request(url, { method }, (response) => {
        response.resume()
        response.on("end", () => resume(Effect.succeed(framing(response.headers))))
      })
      request.end()
    })

  it.effect("a body of unknown length goes chunked, buffered or streamed; HEAD and 204 carry no framing", () =>
    Effect.gen(function* () {
      yield* HttpRouter.serve(Framed, { disableListenLog: true, disableLogger: true }).pipe(Layer.build)
      for (const path of ["/f/nocontent", "/f/text", "/f/stream", "/f/raw", "/f/rawstr", "/f/form", "/f/redirect"]) {
        for (const method of ["GET", "HEAD"]) {
          const production = yield* HttpServer.addressFormattedWith((origin) => nodeGet(`${origin}${path}`, method))
          const buffered = yield* TestClient.request(method, path, { followRedirects: false }).pipe(
            Effect.provide(TestClient.layer(Framed))
          )
          expect(`${method} ${path} ${framing(buffered.headers)}`).toBe(`${method} ${path} ${production}`)
          const streamed = yield* TestClient.stream(method, path).pipe(Effect.provide(TestClient.layer(Framed)))
          expect(`${method} ${path} ${framing(streamed.headers)}`).toBe(`${method} ${path} ${production}`)
        }
      }
    }).pipe(Effect.provide(NodeHttpServer.layerTest))
  )
})

describe("request headers, from TestClient's options", () => {
  const Headers = HttpRouter.add("GET", "/headers", (request) =>
    Effect.succeed(HttpServerResponse.jsonUnsafe(request.headers))
  )

  it.effect("an explicit host header reaches the app, as Node's client sends the caller's", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/headers", { headers: { host: "tenant-a.example.com" } })
      expect(((yield* r.json) as Record<string, string>).host).toBe("tenant-a.example.com")
      // Without one, the URL's host.
      const plain = yield* TestClient.get("/headers")
      expect(((yield* plain.json) as Record<string, string>).host).toBe("testserver")
    }).pipe(Effect.provide(TestClient.layer(Headers)))
  )

  it.effect("a header given as undefined removes the kit's default, per request or for the client", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/headers", { headers: { "user-agent": undefined, accept: undefined } })
      const headers = (yield* r.json) as Record<string, string>
      expect(headers["user-agent"]).toBeUndefined()
      expect(headers.accept).toBeUndefined()
      expect(headers["accept-encoding"]).toBeUndefined()
      expect(headers.host).toBe("testserver")
    }).pipe(Effect.provide(TestClient.layer(Headers, { headers: { "accept-encoding": undefined } })))
  )
})

describe("request bodies and the peer, from TestClient's options", () => {
  const Parts = HttpRouter.add("POST", "/parts", (request) =>
    Effect.gen(function* () {
      const persisted = yield* request.multipart
      const fields: Record<string, unknown> = {}
      for (const [name, value] of Object.entries(persisted)) {
        fields[name] =
          typeof value === "string"
            ? value
            : (value as ReadonlyArray<unknown>).map((part) =>
                typeof part === "string" ? part : `${(part as { name: string }).name}`
              )
      }
      return HttpServerResponse.jsonUnsafe({
        fields,
        contentType: (request.headers["content-type"] ?? "").split(";")[0]
      })
    }).pipe(Effect.scoped)
  )
  const Peer = HttpRouter.add("GET", "/peer", (request) =>
    Effect.succeed(HttpServerResponse.text(Option.getOrElse(request.remoteAddress, () => "none")))
  )
  const App2 = Layer.mergeAll(App, Parts, Peer)

  it.effect("multipart: FormData or a record, read by the app as platform-node reads it", () =>
    Effect.gen(function* () {
      const form = new FormData()
      form.append("title", "holiday")
      form.append("photo", new File(["jpeg bytes"], "photo.jpg", { type: "image/jpeg" }))
      const fromForm = yield* Effect.flatMap(TestClient.post("/parts", { multipart: form }), (r) => r.json)
      const fromRecord = yield* Effect.flatMap(
        TestClient.post("/parts", {
          multipart: { title: "holiday", photo: new File(["jpeg bytes"], "photo.jpg", { type: "image/jpeg" }) }
        }),
        (r) => r.json
      )
      expect(fromForm).toEqual({
        fields: { title: "holiday", photo: ["photo.jpg"] },
        contentType: "multipart/form-data"
      })
      expect(fromRecord).toEqual(fromForm)
    }).pipe(Effect.provide(TestClient.layer(App2)))
  )

  it.effect("a Stream body is sent chunked and read whole by the app", () =>
    Effect.gen(function* () {
      const chunks = Stream.make(new Uint8Array([1, 2, 3]), new Uint8Array([4, 5]))
      const seen = yield* Effect.flatMap(TestClient.post("/seen", { body: chunks }), (r) => r.json)
      expect(seen).toMatchObject({ total: 5 })
      const [exchange] = yield* TestClient.exchanges
      expect(exchange!.request.headers["transfer-encoding"]).toBe("chunked")
      expect(exchange!.request.headers["content-length"]).toBeUndefined()
      // A failing body stream fails the request with InvalidRequest, never reaching the app.
      const failed = yield* Effect.flip(TestClient.post("/seen", { body: Stream.fail("disk gone") }))
      expect(failed._tag).toBe("InvalidRequest")
      expect(failed.message).toContain("the request body stream failed")
    }).pipe(Effect.provide(TestClient.layer(App2)))
  )

  it.effect("bad bodies fail with InvalidRequest saying why", () =>
    Effect.gen(function* () {
      const refused = [
        [TestClient.post("/seen", { multipart: { n: 1 } as never }), "multipart must be FormData or a record"],
        [TestClient.post("/seen", { multipart: new FormData(), json: {} }), "json and multipart were given"],
        [TestClient.post("/seen", { body: 42 as never }), "body must be a string, a Uint8Array or a Stream"],
        [TestClient.post("/seen", { body: Stream.make("text") as never }), "must emit Uint8Array chunks"]
      ] as const
      for (const [attempt, reason] of refused) {
        const error = yield* Effect.flip(attempt)
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain(reason)
      }
    }).pipe(Effect.provide(TestClient.layer(App2)))
  )

  it.effect("the remoteAddress option is the peer the app sees; a bad one fails every request", () =>
    Effect.gen(function* () {
      const seen = (options?: TestClient.Options) =>
        Effect.flatMap(TestClient.get("/peer"), (r) => r.text).pipe(Effect.provide(TestClient.layer(App2, options)))
      expect(yield* seen()).toBe("127.0.0.1")
      expect(yield* seen({ remoteAddress: "10.0.0.7" })).toBe("10.0.0.7")
      expect(yield* seen({ remoteAddress: "::1" })).toBe("::1")
      const error = yield* Effect.flip(seen({ remoteAddress: "localhost" }))
      expect(error.message).toContain("remoteAddress must be an IPv4 or IPv6 address")
    })
  )
})

describe("a body that does not match its content-length", () => {
  const Mismatch = Layer.mergeAll(
    HttpRouter.add(
      "GET",
      "/long",
      Effect.succeed(
        HttpServerResponse.stream(Stream.make("hello").pipe(Stream.encodeText), { headers: { "content-length": "3" } })
      )
    ),
    HttpRouter.add(
      "GET",
      "/short",
      Effect.succeed(
        HttpServerResponse.stream(Stream.make("hi").pipe(Stream.encodeText), { headers: { "content-length": "9" } })
      )
    )
  )
  const serveMismatch = HttpRouter.serve(Mismatch, { disableListenLog: true, disableLogger: true })
  /** What the platform HttpClient gets: the body, or that the request failed. */
  const got = (path: string) =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      return yield* Effect.flatMap(client.get(path), (r) => r.text)
    }).pipe(
      Effect.match({ onFailure: () => "failed", onSuccess: (text) => `body ${text}` }),
      Effect.provideService(Tracer.DisablePropagation, true)
    )

  for (const path of ["/long", "/short"]) {
    it.effect(`${path}: the request fails as on Node (strictContentLength), never a silently cut body`, () =>
      Effect.gen(function* () {
        const overSocket = yield* got(path).pipe(
          Effect.provide(serveMismatch.pipe(Layer.provideMerge(NodeHttpServer.layerTest)))
        )
        const inProcess = yield* got(path).pipe(
          Effect.provide(serveMismatch.pipe(Layer.provideMerge(TestClient.layerTest)))
        )
        expect(inProcess).toBe(overSocket)
        expect(inProcess).toBe("failed")
        const error = yield* Effect.flip(TestClient.get(path)).pipe(Effect.provide(TestClient.layer(Mismatch)))
        expect(error._tag).toBe("ServerError")
        expect(error._tag === "ServerError" && Cause.pretty(error.cause)).toContain("does not match the content-length")
      })
    )
  }
})

describe("a Stream request body", () => {
  const encoder = new TextEncoder()

  it.effect("reaches the handler as it is produced, chunk by chunk (buffered and streamed requests)", () =>
    Effect.gen(function* () {
      for (const send of ["request", "stream"] as const) {
        const firstChunkSeen = yield* Deferred.make<void>()
        const Ingest = HttpRouter.add("POST", "/ingest", (request) =>
          Effect.map(
            request.stream.pipe(
              Stream.decodeText,
              Stream.tap(() => Deferred.succeed(firstChunkSeen, undefined)),
              Stream.runCollect
            ),
            (chunks) => HttpServerResponse.jsonUnsafe(Array.from(chunks))
          )
        )
        // The second chunk is only produced once the handler has seen the first: a client that
        // read the body whole before sending it would wait for ever (here: time out).
        const body = Stream.concat(
          Stream.make(encoder.encode("first")),
          Stream.fromEffect(Effect.as(Deferred.await(firstChunkSeen), encoder.encode("second")))
        )
        const got = yield* (
          send === "request"
            ? Effect.flatMap(TestClient.post("/ingest", { body }), (r) => r.json)
            : Effect.scoped(Effect.flatMap(TestClient.stream("POST", "/ingest", { body }), (r) => r.json))
        ).pipe(Effect.provide(TestClient.layer(Ingest, { timeout: "2 seconds" })))
        expect(got, send).toEqual(["first", "second"])
      }
    })
  )

  it.effect("one the app never reads is sent as far as it is ready, as a socket client writes it", () =>
    Effect.gen(function* () {
      const Ignore = HttpRouter.add("POST", "/ignore", HttpServerResponse.text("ok"))
      const layer = TestClient.layer(Ignore, { timeout: "2 seconds", report: "never" })
      // A body failing after its first chunk, or giving a chunk that is no bytes: the request fails.
      const failing = Stream.concat(Stream.make(encoder.encode("a")), Stream.fail("boom"))
      const failed = yield* Effect.flip(TestClient.post("/ignore", { body: failing })).pipe(Effect.provide(layer))
      expect(failed._tag).toBe("InvalidRequest")
      expect(failed.message).toContain("the request body stream failed: boom")
      const notBytes = Stream.make("not bytes") as unknown as Stream.Stream<Uint8Array>
      const refused = yield* Effect.flip(TestClient.post("/ignore", { body: notBytes })).pipe(Effect.provide(layer))
      expect(refused.message).toContain("a Stream body must emit Uint8Array chunks")
      // One still being produced is left once the app has answered: the response comes.
      const endless = Stream.concat(Stream.make(encoder.encode("a")), Stream.never)
      const answered = yield* TestClient.post("/ignore", { body: endless }).pipe(Effect.provide(layer))
      expect([answered.status, yield* answered.text]).toEqual([200, "ok"])
    })
  )

  it.effect("that fails midway fails the request with InvalidRequest, after the app had its first chunk", () =>
    Effect.gen(function* () {
      const seen = yield* Deferred.make<string>()
      const Ingest = HttpRouter.add("POST", "/ingest", (request) =>
        request.stream.pipe(
          Stream.decodeText,
          Stream.tap((text) => Deferred.succeed(seen, text)),
          Stream.runDrain,
          Effect.as(HttpServerResponse.text("whole")),
          Effect.catch(() => Effect.succeed(HttpServerResponse.text("cut off", { status: 400 })))
        )
      )
      const body = Stream.concat(
        Stream.make(encoder.encode("first")),
        Stream.fromEffect(Effect.andThen(Deferred.await(seen), Effect.fail("disk gone")))
      )
      const error = yield* Effect.flip(TestClient.post("/ingest", { body })).pipe(
        Effect.provide(TestClient.layer(Ingest, { timeout: "2 seconds" }))
      )
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("the request body stream failed: disk gone")
      expect(yield* Deferred.await(seen)).toBe("first")
    })
  )
})
