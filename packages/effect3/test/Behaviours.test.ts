/**
 * The core request and error behaviours (docs/behaviours.md, linked above each test), through
 * the public API, for every transport in test/support/transports.ts.
 */
import {
  FileSystem,
  HttpRouter,
  HttpServerError,
  HttpServerRequest,
  HttpServerRespondable,
  HttpServerResponse
} from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Data,
  Deferred,
  Effect,
  Exit,
  Fiber,
  type FiberId,
  HashSet,
  Layer,
  Option,
  Schema,
  Stream
} from "effect"
import { TestClient } from "effect-http-testkit"
import { transports } from "./support/transports.js"

/** Echoes what the app saw of the request, as JSON. */
const echo = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const params = yield* HttpServerRequest.ParsedSearchParams
  const body = yield* request.text
  return yield* HttpServerResponse.json({
    method: request.method,
    url: request.url,
    originalUrl: request.originalUrl,
    headers: request.headers,
    params,
    body,
    remoteAddress: Option.getOrNull(request.remoteAddress)
  })
})

const Echo = Schema.Struct({
  method: Schema.String,
  url: Schema.String,
  originalUrl: Schema.String,
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  params: Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Array(Schema.String)) }),
  body: Schema.String,
  remoteAddress: Schema.NullOr(Schema.String)
})

const echoApp = HttpRouter.empty.pipe(
  HttpRouter.all("/echo", echo),
  HttpRouter.all("/api/v1/bar", echo),
  HttpRouter.get("/search", echo)
)

const echoed = (r: TestClient.TestResponse) => Effect.flatMap(r.json, Schema.decodeUnknown(Echo))

class Teapot extends Data.TaggedError("Teapot") implements HttpServerRespondable.Respondable {
  [HttpServerRespondable.symbol]() {
    return HttpServerResponse.text("short and stout", { status: 418 })
  }
}

for (const transport of transports) {
  const TestApp = transport.layer(echoApp)

  describe(`${transport.name}: dispatch and requests`, () => {
    // docs/behaviours.md#closed-client
    it.scoped("a request made after the client's scope closed fails with ClientClosed, not a hang", () =>
      Effect.gen(function* () {
        // Effect.provide closes the layer's scope as soon as this effect ends.
        const client = yield* Effect.provide(TestClient.TestClient, TestApp)
        const error = yield* Effect.flip(client.get("/echo"))
        expect(error._tag).toBe("ClientClosed")
        expect(error.message).toContain("scope has closed")
      })
    )

    // docs/behaviours.md#closed-client
    it.scoped("a bootstrap that never serves an app fails requests with ClientClosed", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(TestClient.get("/echo"))
        expect(error._tag).toBe("ClientClosed")
        expect(error.message).toContain("HttpServer.serve")
      }).pipe(Effect.provide(TestClient.layerServer(Layer.empty)))
    )

    // docs/behaviours.md#base-url-prefix
    it.scoped("a baseUrl path prefix is kept: http://h/api/v1/ + /bar reaches /api/v1/bar", () =>
      Effect.gen(function* () {
        const r = yield* TestClient.get("/bar")
        const seen = yield* echoed(r)
        expect(seen.url).toBe("/api/v1/bar")
        expect(seen.headers.host).toBe("h")
        expect(r.url).toBe("http://h/api/v1/bar")
      }).pipe(Effect.provide(transport.layer(echoApp, { baseUrl: "http://h/api/v1/" })))
    )

    // docs/behaviours.md#query-params
    it.scoped("params append after the URL's query, keep order, repeat arrays, encode non-ASCII, booleans", () =>
      Effect.gen(function* () {
        const r = yield* TestClient.get("/echo?first=1", {
          params: { b: true, list: ["x", "y"], name: "žluťoučký kůň", n: 2, off: false }
        })
        const seen = yield* echoed(r)
        expect(seen.url).toBe(
          "/echo?first=1&b=true&list=x&list=y&name=%C5%BElu%C5%A5ou%C4%8Dk%C3%BD+k%C5%AF%C5%88&n=2&off=false"
        )
        expect(seen.params).toEqual({
          first: "1",
          b: "true",
          list: ["x", "y"],
          name: "žluťoučký kůň",
          n: "2",
          off: "false"
        })
      }).pipe(Effect.provide(TestApp))
    )

    // docs/behaviours.md#path-and-query
    it.scoped("routing sees the path without the query; urlParams see the whole query", () =>
      Effect.gen(function* () {
        const r = yield* TestClient.get("/search?q=effect&page=2")
        expect(r.status).toBe(200)
        const seen = yield* echoed(r)
        expect(seen.url).toBe("/search?q=effect&page=2")
        expect(seen.originalUrl).toBe("/search?q=effect&page=2")
        expect(seen.params).toEqual({ q: "effect", page: "2" })
      }).pipe(Effect.provide(TestApp))
    )

    // docs/behaviours.md#single-body
    it.scoped("two bodies fail with InvalidRequest naming both", () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(TestClient.post("/echo", { json: { a: 1 }, form: { a: "1" } }))
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain("json and form")
      }).pipe(Effect.provide(TestApp))
    )

    // docs/behaviours.md#body-content-type
    it.scoped("an explicit Content-Type is never overwritten", () =>
      Effect.gen(function* () {
        const json = yield* echoed(
          yield* TestClient.post("/echo", { json: { a: 1 }, headers: { "Content-Type": "application/vnd.api+json" } })
        )
        expect(json.headers["content-type"]).toBe("application/vnd.api+json")
        expect(json.body).toBe('{"a":1}')
        const form = yield* echoed(yield* TestClient.post("/echo", { form: { a: "1" } }))
        expect(form.headers["content-type"]).toBe("application/x-www-form-urlencoded")
        const text = yield* echoed(yield* TestClient.post("/echo", { body: "hi" }))
        expect(text.headers["content-type"]).toBe("text/plain;charset=UTF-8")
      }).pipe(Effect.provide(TestApp))
    )

    // docs/behaviours.md#content-length
    it.scoped("an empty body sends no Content-Length; otherwise it is the byte length", () =>
      Effect.gen(function* () {
        const none = yield* echoed(yield* TestClient.post("/echo"))
        expect(none.headers["content-length"]).toBeUndefined()
        const empty = yield* echoed(yield* TestClient.post("/echo", { body: "" }))
        expect(empty.headers["content-length"]).toBeUndefined()
        const utf8 = yield* echoed(yield* TestClient.post("/echo", { body: "žž" }))
        expect(utf8.headers["content-length"]).toBe("4")
        expect(utf8.body).toBe("žž")
        const bytes = yield* echoed(yield* TestClient.post("/echo", { body: new Uint8Array([104, 105]) }))
        expect(bytes.headers["content-length"]).toBe("2")
        expect(bytes.headers["content-type"]).toBeUndefined()
      }).pipe(Effect.provide(TestApp))
    )

    // docs/behaviours.md#header-folding
    it.scoped("repeated request headers all reach the app, folded as Node folds them", () =>
      Effect.gen(function* () {
        const seen = yield* echoed(
          yield* TestClient.get("/echo", {
            headers: { "x-multi": ["a", "b", "c"], cookie: ["a=1", "b=2"] },
            cookies: { c: "3" }
          })
        )
        expect(seen.headers["x-multi"]).toBe("a, b, c")
        expect(seen.headers.cookie).toBe("a=1; b=2; c=3")
      }).pipe(Effect.provide(TestApp))
    )

    // docs/behaviours.md#multipart-persisted
    it.scoped("a multipart upload arrives persisted, as Node delivers it: fields and a readable file", () =>
      Effect.gen(function* () {
        const upload = HttpRouter.empty.pipe(
          HttpRouter.post(
            "/upload",
            Effect.gen(function* () {
              const request = yield* HttpServerRequest.HttpServerRequest
              const fs = yield* FileSystem.FileSystem
              const form = yield* request.multipart
              const files = form.avatar as ReadonlyArray<{ path: string; name: string; contentType: string }>
              const content = yield* fs.readFileString(files[0].path)
              return yield* HttpServerResponse.json({
                name: form.name,
                tags: form.tag,
                file: { name: files[0].name, type: files[0].contentType, content, path: files[0].path }
              })
            })
          )
        )
        const r = yield* TestClient.post("/upload", {
          multipart: {
            name: "Ada",
            tag: ["a", "b"],
            avatar: new File(["hello, file"], "hello.txt", { type: "text/plain" })
          }
        }).pipe(Effect.provide(transport.layer(upload)))
        expect(r.status).toBe(200)
        const body = (yield* r.json) as {
          name: string
          tags: Array<string>
          file: { name: string; type: string; content: string; path: string }
        }
        expect(body.name).toBe("Ada")
        expect(body.tags).toEqual(["a", "b"])
        expect(body.file).toMatchObject({ name: "hello.txt", type: "text/plain", content: "hello, file" })
        // The persisted file lived in the request's scope, as in production: it is gone now.
        const fs = yield* FileSystem.FileSystem
        expect(yield* fs.exists(body.file.path)).toBe(false)
      }).pipe(Effect.provide(nodeFileSystem))
    )

    // docs/behaviours.md#streaming-request-body
    it.scoped("a streaming request body reaches the handler incrementally", () =>
      Effect.gen(function* () {
        const firstChunkSeen = yield* Deferred.make<void>()
        const app = HttpRouter.empty.pipe(
          HttpRouter.post(
            "/ingest",
            Effect.gen(function* () {
              const request = yield* HttpServerRequest.HttpServerRequest
              const chunks = yield* request.stream.pipe(
                Stream.decodeText(),
                Stream.tap(() => Deferred.succeed(firstChunkSeen, void 0)),
                Stream.runCollect
              )
              return HttpServerResponse.unsafeJson(Chunk.toReadonlyArray(chunks))
            })
          )
        )
        const encoder = new TextEncoder()
        // The second chunk is only produced after the handler has seen the first one: a
        // client that buffered the body before dispatching would time out here.
        const body = Stream.concat(
          Stream.succeed(encoder.encode("first")),
          Stream.fromEffect(Deferred.await(firstChunkSeen).pipe(Effect.as(encoder.encode("second"))))
        )
        const r = yield* TestClient.post("/ingest", { body }).pipe(
          Effect.provide(transport.layer(app, { timeout: "5 seconds" }))
        )
        expect(yield* r.json).toEqual(["first", "second"])
      })
    )
  })

  describe(`${transport.name}: responses and errors`, () => {
    const failing = HttpRouter.empty.pipe(
      HttpRouter.get("/defect", Effect.die(new Error("kaboom"))),
      HttpRouter.get("/failure", Effect.fail("typed but unhandled")),
      HttpRouter.get("/teapot", Effect.fail(new Teapot())),
      HttpRouter.get("/response-as-error", Effect.fail(HttpServerResponse.text("as error", { status: 409 })))
    )

    // docs/behaviours.md#server-error
    it.scoped('a defect with serverErrors: "fail" fails with ServerError holding the original defect', () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(TestClient.get("/defect"))
        expect(error._tag).toBe("ServerError")
        if (error._tag !== "ServerError") return
        const defect = Cause.squash(error.cause)
        expect(defect).toBeInstanceOf(Error)
        expect((defect as Error).message).toBe("kaboom")
        expect(error.status).toBe(500)
        expect(error.message).toContain("kaboom")
        const failure = yield* Effect.flip(TestClient.get("/failure"))
        expect(failure._tag === "ServerError" && Cause.failureOption(failure.cause)).toEqual(
          Option.some("typed but unhandled")
        )
      }).pipe(Effect.provide(transport.layer(failing)))
    )

    // docs/behaviours.md#server-error-respond
    it.scoped('with serverErrors: "respond" the client gets the 500 production sends', () =>
      Effect.gen(function* () {
        const r = yield* TestClient.get("/defect")
        expect(r.status).toBe(500)
        expect(r.body.length).toBe(0)
        expect((yield* TestClient.get("/failure")).status).toBe(500)
      }).pipe(Effect.provide(transport.layer(failing, { serverErrors: "respond" })))
    )

    // docs/behaviours.md#app-responses
    it.scoped("errors the app turns into responses are plain responses, never ServerError", () =>
      Effect.gen(function* () {
        expect((yield* TestClient.get("/nowhere")).status).toBe(404)
        const teapot = yield* TestClient.get("/teapot")
        expect(teapot.status).toBe(418)
        expect(yield* teapot.text).toBe("short and stout")
        const conflict = yield* TestClient.get("/response-as-error")
        expect(conflict.status).toBe(409)
        expect(yield* conflict.text).toBe("as error")
      }).pipe(Effect.provide(transport.layer(failing)))
    )

    // docs/behaviours.md#request-timeout
    it.scoped("a handler that never answers fails with RequestTimeout under TestClock and is interrupted", () =>
      Effect.gen(function* () {
        const interruptedBy = yield* Deferred.make<HashSet.HashSet<FiberId.FiberId>>()
        const app = HttpRouter.empty.pipe(
          HttpRouter.get("/hang", Effect.never.pipe(Effect.onInterrupt((ids) => Deferred.succeed(interruptedBy, ids))))
        )
        const error = yield* Effect.flip(
          TestClient.get("/hang", { timeout: "50 millis" }).pipe(Effect.provide(transport.layer(app)))
        )
        expect(error._tag).toBe("RequestTimeout")
        expect(error.message).toContain("within 50ms")
        expect(error._tag === "RequestTimeout" && error.handlerStopped).toBe(true)
        // Interrupted as a client abort, as platform-node does when the socket closes.
        const ids = yield* Deferred.await(interruptedBy)
        expect(HashSet.has(ids, HttpServerError.clientAbortFiberId)).toBe(true)
      })
    )
  })
}

const nodeFileSystem = NodeFileSystem.layer

describe("lifecycle", () => {
  // docs/behaviours.md#interrupt-request
  it.scoped("interrupting the test's request disconnects the handler and waits for it", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const finalized = yield* Deferred.make<boolean>()
      const app = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/slow",
          Deferred.succeed(started, void 0).pipe(
            Effect.zipRight(Effect.never),
            Effect.onInterrupt(() => Deferred.succeed(finalized, true))
          )
        )
      )
      yield* Effect.gen(function* () {
        const fiber = yield* Effect.fork(TestClient.get("/slow"))
        yield* Deferred.await(started)
        const exit = yield* Fiber.interrupt(fiber)
        expect(Exit.isInterrupted(exit)).toBe(true)
        // The interrupt returned only after the handler's finalizer had run.
        expect(yield* Deferred.poll(finalized)).toEqual(Option.some(Exit.succeed(true)))
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )
})
