/**
 * The core request and error behaviours, through the public API: the port of the Effect 3
 * edition's `Behaviours.test.ts`. That file runs every test over each of its transports; this
 * edition has no socket transport, so where production decides, a test compares the kit with
 * the same app on `NodeHttpServer.layerTest`.
 */
import { NodeFileSystem, NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Cause, Data, Deferred, Duration, Effect, Exit, Fiber, FileSystem, Layer, Option, Result, Schema } from "effect"
import {
  HttpClient,
  HttpClientRequest,
  type HttpClientResponse,
  HttpRouter,
  HttpServerError,
  HttpServerRequest,
  HttpServerRespondable,
  HttpServerResponse
} from "effect/http"

/** Echoes what the app saw of the request, as JSON. */
const echo = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const params = yield* HttpServerRequest.ParsedSearchParams
  const body = yield* request.text
  return HttpServerResponse.jsonUnsafe({
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
  headers: Schema.Record(Schema.String, Schema.String),
  params: Schema.Record(Schema.String, Schema.Union([Schema.String, Schema.Array(Schema.String)])),
  body: Schema.String,
  remoteAddress: Schema.NullOr(Schema.String)
})

const EchoRoutes = Layer.mergeAll(
  HttpRouter.add("*", "/echo", echo),
  HttpRouter.add("*", "/api/v1/bar", echo),
  HttpRouter.add("GET", "/search", echo)
)

const echoed = (r: { readonly json: Effect.Effect<unknown, unknown> }) =>
  Effect.flatMap(r.json, Schema.decodeUnknownEffect(Echo))

class Teapot extends Data.TaggedError("Teapot") implements HttpServerRespondable.Respondable {
  [HttpServerRespondable.symbol]() {
    return Effect.succeed(HttpServerResponse.text("short and stout", { status: 418 }))
  }
}

const TestApp = TestClient.layer(EchoRoutes)

/** The handler's defect message, if its Cause died with an Error. */
const defectOf = (cause: Cause.Cause<unknown>): string | undefined => {
  const found = Cause.findDefect(cause)
  return Result.isSuccess(found) ? (found.success as Error).message : undefined
}

/** Whether a handler's exit was an interruption as a client abort (as platform-node's on a closed socket). */
const isClientAbort = (exit: Exit.Exit<unknown, unknown>): boolean =>
  Exit.isFailure(exit) &&
  exit.cause.reasons.some(
    (reason) => Cause.isInterruptReason(reason) && reason.annotations.has(HttpServerError.ClientAbort.key)
  )

describe("dispatch and requests", () => {
  // v3: ClientClosed. This edition has no ClientClosed error: a layer whose bootstrap never
  // serves an app fails requests with InvalidRequest naming HttpServer.serve.
  it.effect("a bootstrap that never serves an app fails requests with InvalidRequest naming HttpServer.serve", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/echo"))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("HttpServer.serve")
    }).pipe(Effect.provide(TestClient.layerServer(Layer.empty)))
  )

  it.effect("params append after the URL's query, keep order, repeat arrays, encode non-ASCII, booleans", () =>
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

  // On Effect 4, `originalUrl` is the absolute URL, built from the Host header (platform-node's
  // request does so too: compared below with NodeHttpServer.layerTest).
  it.effect(
    "routing sees the path without the query; urlParams see the whole query; originalUrl is absolute on Effect 4",
    () =>
      Effect.gen(function* () {
        const r = yield* TestClient.get("/search?q=effect&page=2")
        expect(r.status).toBe(200)
        const seen = yield* echoed(r)
        expect(seen.url).toBe("/search?q=effect&page=2")
        expect(seen.originalUrl).toBe("http://testserver/search?q=effect&page=2")
        expect(seen.params).toEqual({ q: "effect", page: "2" })
        const overSocket = yield* Effect.gen(function* () {
          yield* Layer.build(HttpRouter.serve(EchoRoutes, { disableLogger: true, disableListenLog: true }))
          return yield* Effect.flatMap(HttpClient.get("/search?q=effect&page=2"), echoed)
        }).pipe(Effect.provide(NodeHttpServer.layerTest))
        expect(overSocket.url).toBe(seen.url)
        expect(overSocket.originalUrl).toBe(`http://${overSocket.headers.host}/search?q=effect&page=2`)
        expect(overSocket.params).toEqual(seen.params)
      }).pipe(Effect.provide(TestApp))
  )

  it.effect("an explicit Content-Type is never overwritten", () =>
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

  // The Effect 3 edition sends no Content-Length for an empty POST body. This edition frames a
  // request as Node's client and fetch do: a POST with no body or an empty one says
  // `content-length: 0` (compared below with fetch against NodeHttpServer.layerTest); a GET
  // with no body says nothing.
  it.effect(
    "an empty POST body sends Content-Length: 0 as fetch does, a GET none; otherwise it is the byte length",
    () =>
      Effect.gen(function* () {
        const none = yield* echoed(yield* TestClient.post("/echo"))
        expect(none.headers["content-length"]).toBe("0")
        const empty = yield* echoed(yield* TestClient.post("/echo", { body: "" }))
        expect(empty.headers["content-length"]).toBe("0")
        const get = yield* echoed(yield* TestClient.get("/echo"))
        expect(get.headers["content-length"]).toBeUndefined()
        const utf8 = yield* echoed(yield* TestClient.post("/echo", { body: "žž" }))
        expect(utf8.headers["content-length"]).toBe("4")
        expect(utf8.body).toBe("žž")
        const bytes = yield* echoed(yield* TestClient.post("/echo", { body: new Uint8Array([104, 105]) }))
        expect(bytes.headers["content-length"]).toBe("2")
        expect(bytes.headers["content-type"]).toBeUndefined()
        const overSocket = yield* Effect.gen(function* () {
          yield* Layer.build(HttpRouter.serve(EchoRoutes, { disableLogger: true, disableListenLog: true }))
          const send = (request: HttpClientRequest.HttpClientRequest) =>
            Effect.map(Effect.flatMap(HttpClient.execute(request), echoed), (seen) => seen.headers["content-length"])
          return [
            yield* send(HttpClientRequest.post("/echo")),
            yield* send(HttpClientRequest.post("/echo").pipe(HttpClientRequest.bodyText(""))),
            yield* send(HttpClientRequest.get("/echo")),
            yield* send(HttpClientRequest.post("/echo").pipe(HttpClientRequest.bodyText("žž")))
          ]
        }).pipe(Effect.provide(NodeHttpServer.layerTest))
        expect(overSocket).toEqual([
          none.headers["content-length"],
          empty.headers["content-length"],
          get.headers["content-length"],
          utf8.headers["content-length"]
        ])
      }).pipe(Effect.provide(TestApp))
  )

  // A header's value is a string here (the Effect 3 edition also takes an array); repeated
  // lines are given as a web Headers, which folds them as Node does: ", ", and "; " for cookie.
  it.effect("repeated request headers all reach the app, folded as Node folds them", () =>
    Effect.gen(function* () {
      const headers = new Headers()
      for (const value of ["a", "b", "c"]) headers.append("x-multi", value)
      for (const value of ["a=1", "b=2"]) headers.append("cookie", value)
      const r = yield* TestClient.get("/folded", { headers })
      expect(yield* r.json).toEqual({ multi: "a, b, c", cookie: "a=1; b=2" })
    }).pipe(
      Effect.provide(
        TestClient.layer(
          // The app reads the cookie header itself: Effect 4 redacts it when the headers are serialised.
          HttpRouter.add("GET", "/folded", (request) =>
            Effect.succeed(
              HttpServerResponse.jsonUnsafe({ multi: request.headers["x-multi"], cookie: request.headers.cookie })
            )
          )
        )
      )
    )
  )

  it.effect("a multipart upload arrives persisted, as Node delivers it: fields and a readable file", () =>
    Effect.gen(function* () {
      const Upload = HttpRouter.add(
        "POST",
        "/upload",
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const fs = yield* FileSystem.FileSystem
          const form = yield* request.multipart
          const files = form.avatar as ReadonlyArray<{ path: string; name: string; contentType: string }>
          const content = yield* fs.readFileString(files[0].path)
          return HttpServerResponse.jsonUnsafe({
            name: form.name,
            tags: form.tag,
            file: { name: files[0].name, type: files[0].contentType, content, path: files[0].path }
          })
        })
      )
      const r = yield* TestClient.post("/upload", {
        multipart: {
          name: "Ada",
          tag: ["a", "b"],
          avatar: new File(["hello, file"], "hello.txt", { type: "text/plain" })
        }
      }).pipe(Effect.provide(TestClient.layer(Upload)))
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
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})

describe("responses and errors", () => {
  const Failing = Layer.mergeAll(
    HttpRouter.add("GET", "/defect", Effect.die(new Error("kaboom"))),
    HttpRouter.add("GET", "/failure", Effect.fail("typed but unhandled")),
    HttpRouter.add("GET", "/teapot", Effect.fail(new Teapot()))
  )

  it.effect('a defect with serverErrors: "fail" fails with ServerError holding the original defect', () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/defect"))
      expect(error._tag).toBe("ServerError")
      if (error._tag !== "ServerError") return
      const defect = Cause.squash(error.cause)
      expect(defect).toBeInstanceOf(Error)
      expect((defect as Error).message).toBe("kaboom")
      expect(error.status).toBe(500)
      expect(defectOf(error.cause)).toBe("kaboom")
      const failure = yield* Effect.flip(TestClient.get("/failure"))
      expect(failure._tag === "ServerError" && Cause.findErrorOption(failure.cause)).toEqual(
        Option.some("typed but unhandled")
      )
    }).pipe(Effect.provide(TestClient.layer(Failing)))
  )

  it.effect('with serverErrors: "respond" the client gets the 500 production sends', () =>
    Effect.gen(function* () {
      const read = <R>(get: (path: string) => Effect.Effect<HttpClientResponse.HttpClientResponse, unknown, R>) =>
        Effect.forEach(["/defect", "/failure"], (path) =>
          Effect.flatMap(get(path), (r) => Effect.map(r.text, (text) => ({ path, status: r.status, text })))
        )
      const inProcess = yield* read((path) => TestClient.get(path)).pipe(
        Effect.provide(TestClient.layer(Failing, { serverErrors: "respond" }))
      )
      expect(inProcess).toEqual([
        { path: "/defect", status: 500, text: "" },
        { path: "/failure", status: 500, text: "" }
      ])
      const overSocket = yield* Effect.gen(function* () {
        yield* Layer.build(HttpRouter.serve(Failing, { disableLogger: true, disableListenLog: true }))
        return yield* read((path) => HttpClient.get(path))
      }).pipe(Effect.provide(NodeHttpServer.layerTest))
      expect(inProcess).toEqual(overSocket)
    })
  )

  it.effect(
    "errors the app turns into responses (a 404, a Respondable error) are plain responses, never ServerError",
    () =>
      Effect.gen(function* () {
        expect((yield* TestClient.get("/nowhere")).status).toBe(404)
        const teapot = yield* TestClient.get("/teapot")
        expect(teapot.status).toBe(418)
        expect(yield* teapot.text).toBe("short and stout")
      }).pipe(Effect.provide(TestClient.layer(Failing)))
  )

  it.effect("a handler that never answers fails with RequestTimeout under TestClock and is interrupted", () =>
    Effect.gen(function* () {
      const ended = yield* Deferred.make<Exit.Exit<unknown, unknown>>()
      const Hang = HttpRouter.add(
        "GET",
        "/hang",
        Effect.never.pipe(Effect.onExit((exit) => Deferred.succeed(ended, exit)))
      )
      yield* Effect.gen(function* () {
        const error = yield* Effect.flip(TestClient.get("/hang", { timeout: "50 millis" }))
        expect(error._tag).toBe("RequestTimeout")
        expect(error._tag === "RequestTimeout" && error.timeout).toEqual(Duration.millis(50))
        expect(error.message).toContain("no response within the timeout of 50ms")
        // Interrupted as a client abort, as platform-node does when the socket closes.
        expect(isClientAbort(yield* Deferred.await(ended))).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(Hang)))
    })
  )
})

describe("lifecycle", () => {
  it.effect("interrupting the test's request disconnects the handler and waits for it", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const finalized = yield* Deferred.make<Exit.Exit<unknown, unknown>>()
      const Slow = HttpRouter.add(
        "GET",
        "/slow",
        Deferred.succeed(started, void 0).pipe(
          Effect.andThen(Effect.never),
          Effect.onExit((exit) => Deferred.succeed(finalized, exit))
        )
      )
      yield* Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(TestClient.get("/slow"))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        expect(Exit.hasInterrupts(yield* Fiber.await(fiber))).toBe(true)
        // The interrupt returned only after the handler's finalizer had run, as a client abort.
        expect(yield* Deferred.isDone(finalized)).toBe(true)
        expect(isClientAbort(yield* Deferred.await(finalized))).toBe(true)
      }).pipe(Effect.provide(TestClient.layer(Slow)))
    })
  )
})

describe("URLs, bodies and cookies as the Effect 3 edition sends them", () => {
  it.effect("a baseUrl path prefix is kept: http://h/api/v1/ + /bar reaches /api/v1/bar", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/bar")
      const seen = yield* echoed(r)
      expect(seen.url).toBe("/api/v1/bar")
      expect(seen.headers.host).toBe("h")
      expect(r.url).toBe("http://h/api/v1/bar")
      // Without a trailing slash too; an absolute URL is kept as given.
      const absolute = yield* echoed(yield* TestClient.get("http://h/echo"))
      expect(absolute.url).toBe("/echo")
    }).pipe(Effect.provide(TestClient.layer(EchoRoutes, { baseUrl: "http://h/api/v1/" })))
  )

  it.effect("two bodies fail with InvalidRequest naming both", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.post("/echo", { json: { a: 1 }, form: { a: "1" } }))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("json and form were given")
    }).pipe(Effect.provide(TestClient.layer(EchoRoutes)))
  )

  it.effect("repeated cookie header lines and the call's cookies all reach the app, folded as Node folds them", () =>
    Effect.gen(function* () {
      const headers = new Headers()
      for (const value of ["a=1", "b=2"]) headers.append("cookie", value)
      const r = yield* TestClient.get("/cookie", { headers, cookies: { c: "3" } })
      expect(yield* r.text).toBe("a=1; b=2; c=3")
    }).pipe(
      Effect.provide(
        TestClient.layer(
          HttpRouter.add("GET", "/cookie", (request) =>
            Effect.succeed(HttpServerResponse.text(request.headers.cookie ?? ""))
          )
        )
      )
    )
  )

  // Production answers the response the app failed with (toHandled takes it as the answer).
  it.effect("an HttpServerResponse failed with is a plain response, never ServerError", () =>
    Effect.gen(function* () {
      const conflict = yield* TestClient.get("/response-as-error")
      expect(conflict.status).toBe(409)
      expect(yield* conflict.text).toBe("as error")
    }).pipe(
      Effect.provide(
        TestClient.layer(
          HttpRouter.add("GET", "/response-as-error", Effect.fail(HttpServerResponse.text("as error", { status: 409 })))
        )
      )
    )
  )
})
