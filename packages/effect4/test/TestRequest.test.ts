/**
 * TestRequest: one handler run against an in-memory request, with no router or server.
 */

import { Readable } from "node:stream"
import { NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { TestClient, TestRequest } from "@effect-http-testkit/effect4"
import { ByteSize, Cause, Data, Effect, Exit, type FileSystem, Option, type Path, Ref, Schema, Stream } from "effect"
import * as FileSystemService from "effect/FileSystem"
import {
  HttpIncomingMessage,
  HttpRouter,
  HttpServerError,
  HttpServerRequest,
  HttpServerRespondable,
  HttpServerResponse,
  Multipart
} from "effect/http"
import type * as Scope from "effect/Scope"

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** Answers with what it was given: the request as the handler sees it. */
const echo = Effect.gen(function* () {
  const request = yield* Effect.service(HttpServerRequest.HttpServerRequest)
  return yield* HttpServerResponse.json({
    method: request.method,
    url: request.url,
    // A plain record: platform Headers redact authorization and cookie when serialised.
    headers: Object.fromEntries(Object.entries(request.headers)),
    cookies: request.cookies,
    remoteAddress: Option.getOrNull(request.remoteAddress)
  })
})

/** Answers with the body as text and the headers that describe it. */
const echoBody = Effect.gen(function* () {
  const request = yield* Effect.service(HttpServerRequest.HttpServerRequest)
  return yield* HttpServerResponse.json({
    text: yield* request.text,
    contentType: request.headers["content-type"] ?? null,
    contentLength: request.headers["content-length"] ?? null,
    transferEncoding: request.headers["transfer-encoding"] ?? null
  })
})

class NotFound extends Data.TaggedError("NotFound")<{ readonly id: string }> {}

class Teapot extends Data.TaggedError("Teapot") implements HttpServerRespondable.Respondable {
  [HttpServerRespondable.symbol]() {
    return Effect.succeed(HttpServerResponse.text("short and stout", { status: 418 }))
  }
}

class Unauthorized extends Data.TaggedError("Unauthorized") {}

describe("TestRequest: the request the handler sees", () => {
  it.effect("method, URL and query params, headers, cookies and remote address reach the handler", () =>
    Effect.gen(function* () {
      const response = yield* echo.pipe(
        TestRequest.run("patch", "/items?x=1", {
          params: { page: 2, tag: ["a", "b"] },
          // Repeated lines (a web Headers) are folded as Node folds them.
          headers: new Headers([
            ["X-Trace", "1"],
            ["X-Trace", "2"],
            ["authorization", "Bearer t"]
          ]),
          cookies: { session: "abc", note: "a b;c" },
          remoteAddress: "10.0.0.7"
        })
      )
      expect(yield* TestRequest.bodyJson(response)).toEqual({
        method: "PATCH",
        url: "/items?x=1&page=2&tag=a&tag=b",
        headers: {
          host: "testserver",
          "user-agent": "effect-http-testkit",
          accept: "*/*",
          "accept-encoding": "gzip, deflate, br, zstd",
          "x-trace": "1, 2",
          authorization: "Bearer t",
          cookie: "session=abc; note=a%20b%3Bc",
          // A Node client frames a PATCH with no body so.
          "content-length": "0"
        },
        cookies: { session: "abc", note: "a b;c" },
        remoteAddress: "10.0.0.7"
      })
    })
  )

  it.effect(
    "an absolute URL sets the host header; the defaults can be replaced; the remote address defaults to 127.0.0.1",
    () =>
      Effect.gen(function* () {
        const response = yield* TestRequest.run(echo, "GET", "https://example.com:8443/a/b?q=1#top", {
          headers: { "user-agent": "probe/1", accept: undefined },
          cookies: { session: "abc" }
        })
        const seen = (yield* TestRequest.bodyJson(response)) as {
          url: string
          headers: Record<string, string>
          cookies: Record<string, string>
          remoteAddress: string
        }
        expect(seen.url).toBe("/a/b?q=1")
        expect(seen.headers.host).toBe("example.com:8443")
        expect(seen.headers["user-agent"]).toBe("probe/1")
        // `undefined` removes a default header, as with TestClient.
        expect(seen.headers.accept).toBeUndefined()
        expect(seen.cookies).toEqual({ session: "abc" })
        expect(seen.remoteAddress).toBe("127.0.0.1")
      })
  )

  it.effect("the request is the one TestClient delivers to the app for the same method, URL and options", () =>
    Effect.gen(function* () {
      /** What the app sees of its request, in order: method, URL, header lines, cookies, body, peer. */
      const seen = Effect.gen(function* () {
        const request = yield* Effect.service(HttpServerRequest.HttpServerRequest)
        return HttpServerResponse.jsonUnsafe({
          method: request.method,
          url: request.url,
          headers: Object.entries(request.headers),
          cookies: request.cookies,
          body: yield* request.text,
          remoteAddress: Option.getOrNull(request.remoteAddress)
        })
      })
      const cases: ReadonlyArray<readonly [string, string, TestRequest.Options]> = [
        ["GET", "/a?b=1", { params: { c: [1, 2] }, headers: { "x-one": "1", Accept: "text/html" } }],
        // A cookie header and the cookies option together: whatever TestClient sends.
        ["GET", "/c", { headers: { cookie: "theme=dark" }, cookies: { session: "abc" } }],
        ["POST", "/j", { json: { name: "Ada", tags: ["x"] } }],
        ["PUT", "/f", { form: { user: "ada", note: "a&b c" } }],
        ["POST", "/s", { body: Stream.make(encoder.encode("ab"), encoder.encode("c")) }],
        ["DELETE", "/d", { body: new Uint8Array([1, 2, 3]), headers: { "content-type": "application/octet-stream" } }],
        ["POST", "/m", { multipart: { field: "v" } }]
      ]
      const app = HttpRouter.add("*", "/*", seen)
      yield* Effect.gen(function* () {
        for (const [method, url, options] of cases) {
          const viaClient = yield* Effect.flatMap(TestClient.request(method, url, options), (r) => r.json)
          const direct = yield* TestRequest.bodyJson(yield* TestRequest.run(seen, method, url, options))
          if (options.multipart === undefined) {
            expect(direct, `${method} ${url}`).toEqual(viaClient)
          } else {
            // Each encoding of a FormData draws its own boundary: compare the rest.
            const normalise = (value: unknown) =>
              JSON.stringify(value)
                .replace(/formdata-undici-\d+/g, "BOUNDARY")
                .replace(/\["content-length","\d+"\]/, '["content-length","N"]')
            expect(normalise(direct), `${method} ${url}`).toEqual(normalise(viaClient))
          }
        }
      }).pipe(Effect.provide(TestClient.layer(app)))
    })
  )

  it.effect("make builds the request object itself, for code that takes a request", () =>
    Effect.gen(function* () {
      const wantsJson = (request: HttpServerRequest.HttpServerRequest) =>
        (request.headers.accept ?? "").includes("application/json")
      const request = yield* TestRequest.make("POST", "/users", {
        json: { name: "Ada" },
        headers: { accept: "application/json" }
      })
      expect(wantsJson(request)).toBe(true)
      expect(request.method).toBe("POST")
      expect(request.url).toBe("/users")
      expect(request.headers["content-type"]).toBe("application/json")
      expect(yield* request.json).toEqual({ name: "Ada" })
      // The body is cached, as platform-node's request caches it: it can be read again.
      expect(yield* request.text).toBe('{"name":"Ada"}')
      const upgrade = yield* Effect.flip(request.upgrade)
      expect(upgrade._tag).toBe("HttpServerError")
      expect(upgrade.reason._tag).toBe("RequestParseError")
      expect(upgrade.reason._tag === "RequestParseError" && upgrade.reason.description).toBe(
        "not an upgradeable ServerRequest"
      )
    })
  )

  it.effect("provide gives the request context to any effect and keeps its result and its errors", () =>
    Effect.gen(function* () {
      const currentUser = Effect.flatMap(Effect.service(HttpServerRequest.HttpServerRequest), (request) =>
        request.headers.authorization === "Bearer t" ? Effect.succeed("ada") : Effect.fail(new Unauthorized())
      )
      // The request context is gone from the requirements; InvalidRequest joins the errors.
      const signedIn: Effect.Effect<string, Unauthorized | TestRequest.InvalidRequest> = currentUser.pipe(
        TestRequest.provide("GET", "/", { headers: { authorization: "Bearer t" } })
      )
      expect(yield* signedIn).toBe("ada")
      const anonymous = yield* Effect.flip(TestRequest.provide(currentUser, "GET", "/"))
      expect(anonymous).toBeInstanceOf(Unauthorized)
    })
  )
})

describe("TestRequest: bodies", () => {
  it.effect("json is encoded with its content type and length, and decodes with schemaBodyJson", () =>
    Effect.gen(function* () {
      const handler = Effect.gen(function* () {
        const body = yield* HttpServerRequest.schemaBodyJson(Schema.Struct({ name: Schema.String }))
        const request = yield* Effect.service(HttpServerRequest.HttpServerRequest)
        return HttpServerResponse.text(
          `${body.name} ${request.headers["content-type"]} ${request.headers["content-length"]}`
        )
      })
      const response = yield* handler.pipe(TestRequest.run("POST", "/users", { json: { name: "Ada" } }))
      expect(yield* TestRequest.bodyText(response)).toBe("Ada application/json 14")
    })
  )

  it.effect("form is URL-encoded and decodes with schemaBodyUrlParams", () =>
    Effect.gen(function* () {
      const handler = Effect.gen(function* () {
        const form = yield* HttpServerRequest.schemaBodyUrlParams(
          Schema.Struct({ username: Schema.String, password: Schema.String })
        )
        const request = yield* Effect.service(HttpServerRequest.HttpServerRequest)
        return yield* HttpServerResponse.json({ form, contentType: request.headers["content-type"] })
      })
      const response = yield* handler.pipe(
        TestRequest.run("POST", "/login", { form: { username: "ada", password: "s3cret&more" } })
      )
      expect(yield* TestRequest.bodyJson(response)).toEqual({
        form: { username: "ada", password: "s3cret&more" },
        contentType: "application/x-www-form-urlencoded"
      })
    })
  )

  it.effect("raw bodies: a string is text/plain, bytes carry no content type, a Stream is chunked", () =>
    Effect.gen(function* () {
      const text = yield* echoBody.pipe(TestRequest.run("PUT", "/raw", { body: "héllo" }))
      expect(yield* TestRequest.bodyJson(text)).toEqual({
        text: "héllo",
        contentType: "text/plain;charset=UTF-8",
        contentLength: "6",
        transferEncoding: null
      })
      const bytes = yield* echoBody.pipe(TestRequest.run("PUT", "/raw", { body: new Uint8Array([104, 105]) }))
      expect(yield* TestRequest.bodyJson(bytes)).toEqual({
        text: "hi",
        contentType: null,
        contentLength: "2",
        transferEncoding: null
      })
      const streamed = yield* echoBody.pipe(
        TestRequest.run("POST", "/ingest", {
          body: Stream.make("a", "b", "c").pipe(Stream.encodeText),
          headers: { "content-type": "text/plain" }
        })
      )
      expect(yield* TestRequest.bodyJson(streamed)).toEqual({
        text: "abc",
        contentType: "text/plain",
        contentLength: null,
        transferEncoding: "chunked"
      })
    })
  )

  it.effect("multipart is parsed and persisted by the platform's parser (needs Scope, FileSystem and Path)", () =>
    Effect.gen(function* () {
      const handler = Effect.gen(function* () {
        const form = yield* HttpServerRequest.schemaBodyForm(
          Schema.Struct({ name: Schema.String, avatar: Multipart.SingleFileSchema })
        )
        const fs = yield* Effect.service(FileSystemService.FileSystem)
        return yield* HttpServerResponse.json({
          name: form.name,
          file: form.avatar.name,
          type: form.avatar.contentType,
          content: yield* fs.readFileString(form.avatar.path)
        })
      })
      // What is left to provide: Scope (it.effect's) and the file system the parser persists to.
      const run: Effect.Effect<
        HttpServerResponse.HttpServerResponse,
        unknown,
        Scope.Scope | FileSystem.FileSystem | Path.Path
      > = handler.pipe(
        TestRequest.run("POST", "/avatar", {
          multipart: { name: "Ada", avatar: new File(["png bytes"], "a.png", { type: "image/png" }) }
        })
      )
      const response = yield* run.pipe(Effect.provide(NodeServices.layer))
      expect(yield* TestRequest.bodyJson(response)).toEqual({
        name: "Ada",
        file: "a.png",
        type: "image/png",
        content: "png bytes"
      })
    })
  )

  it.effect("the app's MaxBodySize applies: an oversized body fails the read (production answers 413)", () =>
    Effect.gen(function* () {
      const handler = Effect.flatMap(
        Effect.service(HttpServerRequest.HttpServerRequest),
        (request) => request.text
      ).pipe(
        Effect.as(HttpServerResponse.empty()),
        Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(4))
      )
      const error = yield* Effect.flip(handler.pipe(TestRequest.run("POST", "/", { body: "too long" })))
      expect(error._tag).toBe("HttpServerError")
      expect(error._tag === "HttpServerError" && error.reason._tag).toBe("RequestParseError")
      expect(error._tag === "HttpServerError" && error.reason._tag === "RequestParseError" && error.reason.reason).toBe(
        "BodyTooLarge"
      )
      const answered = yield* TestRequest.runHandled(handler, "POST", "/", { body: "too long" })
      expect(answered.status).toBe(413)
    })
  )
})

describe("TestRequest: route and search params", () => {
  it.effect("HttpRouter.params and schemaPathParams see routeParams", () =>
    Effect.gen(function* () {
      const handler = Effect.gen(function* () {
        const raw = yield* HttpRouter.params
        const { id } = yield* HttpRouter.schemaPathParams(Schema.Struct({ id: Schema.NumberFromString }))
        const { route } = yield* Effect.service(HttpRouter.RouteContext)
        return yield* HttpServerResponse.json({ raw, id, path: route.path })
      })
      const response = yield* handler.pipe(TestRequest.run("GET", "/users/7", { routeParams: { id: "7" } }))
      expect(yield* TestRequest.bodyJson(response)).toEqual({ raw: { id: "7" }, id: 7, path: "*" })
    })
  )

  it.effect("route matches the URL with the platform router: params decoded, the pattern in RouteContext", () =>
    Effect.gen(function* () {
      const handler = Effect.gen(function* () {
        const params = yield* HttpRouter.params
        const { route } = yield* Effect.service(HttpRouter.RouteContext)
        return yield* HttpServerResponse.json({ params, path: route.path })
      })
      const matched = yield* handler.pipe(
        TestRequest.run("GET", "/users/42/posts/hello%20world?draft=1", { route: "/users/:id/posts/:slug" })
      )
      expect(yield* TestRequest.bodyJson(matched)).toEqual({
        params: { id: "42", slug: "hello world" },
        path: "/users/:id/posts/:slug"
      })
      // routeParams replace matched params of the same name.
      const overridden = yield* handler.pipe(
        TestRequest.run("GET", "/users/42/posts/x", { route: "/users/:id/posts/:slug", routeParams: { id: "1" } })
      )
      expect(yield* TestRequest.bodyJson(overridden)).toEqual({
        params: { id: "1", slug: "x" },
        path: "/users/:id/posts/:slug"
      })
      // The router is built with the current RouterConfig, as the app's is.
      const tooLong = yield* Effect.flip(
        handler.pipe(
          TestRequest.run("GET", "/users/12345/posts/x", { route: "/users/:id/posts/:slug" }),
          Effect.provideService(HttpRouter.RouterConfig, { maxParamLength: 3 })
        )
      )
      expect(tooLong.reason).toMatch(/does not match the route .*longer than maxParamLength \(3\)/)
    })
  )

  it.effect("schemaSearchParams sees the URL's query and params; HttpRouter.schemaParams merges path params", () =>
    Effect.gen(function* () {
      const search = Effect.gen(function* () {
        const query = yield* HttpServerRequest.schemaSearchParams(
          Schema.Struct({ page: Schema.NumberFromString, tag: Schema.Array(Schema.String) })
        )
        return yield* HttpServerResponse.json(query)
      })
      const response = yield* search.pipe(TestRequest.run("GET", "/items?page=2&tag=a", { params: { tag: "b c" } }))
      expect(yield* TestRequest.bodyJson(response)).toEqual({ page: 2, tag: ["a", "b c"] })

      const both = Effect.gen(function* () {
        const all = yield* HttpRouter.schemaParams(Schema.Struct({ id: Schema.String, sort: Schema.String }))
        return yield* HttpServerResponse.json(all)
      })
      for (const options of [{ routeParams: { id: "9" } }, { route: "/users/:id" as const }]) {
        const merged = yield* both.pipe(TestRequest.run("GET", "/users/9?sort=name", options))
        expect(yield* TestRequest.bodyJson(merged)).toEqual({ id: "9", sort: "name" })
      }
    })
  )
})

describe("TestRequest: the response", () => {
  it.effect("status, headers, cookies and body are the handler's, as an HttpServerResponse", () =>
    Effect.gen(function* () {
      const handler = Effect.succeed(
        HttpServerResponse.text("created", { status: 201, headers: { "x-id": "7" } }).pipe(
          HttpServerResponse.setCookieUnsafe("session", "abc", { httpOnly: true })
        )
      )
      const response = yield* handler.pipe(TestRequest.run("POST", "/items"))
      expect(response.status).toBe(201)
      expect(response.headers["x-id"]).toBe("7")
      expect(response.cookies.cookies.session?.value).toBe("abc")
      expect(response.cookies.cookies.session?.options?.httpOnly).toBe(true)
      // text and json responses carry their bytes directly.
      expect(response.body._tag).toBe("Uint8Array")
      if (response.body._tag === "Uint8Array") {
        expect(decoder.decode(response.body.body)).toBe("created")
        expect(response.body.contentType).toBe("text/plain")
      }
      expect(yield* TestRequest.bodyText(response)).toBe("created")
    })
  )

  it.effect(
    "bodyText reads every body kind the server writes: Stream, Raw (string, Node Readable), FormData, Empty",
    () =>
      Effect.gen(function* () {
        const read = (response: HttpServerResponse.HttpServerResponse) =>
          TestRequest.run(response, "GET", "/").pipe(Effect.flatMap(TestRequest.bodyText))
        expect(yield* read(HttpServerResponse.stream(Stream.make("a", "b", "c").pipe(Stream.encodeText)))).toBe("abc")
        expect(yield* read(HttpServerResponse.raw("raw text"))).toBe("raw text")
        expect(yield* read(HttpServerResponse.raw(Readable.from([Buffer.from("from "), Buffer.from("node")])))).toBe(
          "from node"
        )
        const form = new FormData()
        form.append("field", "value")
        const formText = yield* read(HttpServerResponse.formData(form))
        expect(formText).toContain('name="field"')
        expect(formText).toContain("value")
        expect(yield* read(HttpServerResponse.empty())).toBe("")
        // A Raw body platform-node cannot write (a web ReadableStream) dies, saying so.
        const unwritable = yield* Effect.exit(read(HttpServerResponse.raw(new ReadableStream())))
        expect(Exit.isFailure(unwritable) && String(Cause.squash(unwritable.cause))).toMatch(
          /a Raw response body Node cannot write/
        )
      })
  )

  it.effect("the handler takes any form HttpRouter.add takes: a response, an effect, a function of the request", () =>
    Effect.gen(function* () {
      const fixed = yield* TestRequest.run(HttpServerResponse.text("short and stout", { status: 418 }), "GET", "/")
      expect(fixed.status).toBe(418)
      expect(yield* TestRequest.bodyText(fixed)).toBe("short and stout")
      const ofRequest = yield* TestRequest.run(
        (request) => Effect.succeed(HttpServerResponse.text(`${request.method} ${request.url}`)),
        "DELETE",
        "/notes/1"
      )
      expect(yield* TestRequest.bodyText(ofRequest)).toBe("DELETE /notes/1")
      const dataLast = yield* TestRequest.run("GET", "/", { headers: { "x-who": "ada" } })((request) =>
        Effect.succeed(HttpServerResponse.text(request.headers["x-who"] ?? ""))
      )
      expect(yield* TestRequest.bodyText(dataLast)).toBe("ada")
    })
  )
})

describe("TestRequest: failures", () => {
  it.effect("the handler's typed error and defects come back unchanged", () =>
    Effect.gen(function* () {
      const getUser = Effect.flatMap(HttpRouter.params, ({ id }) => Effect.fail(new NotFound({ id: id ?? "" })))
      const error = yield* Effect.flip(getUser.pipe(TestRequest.run("GET", "/users/3", { route: "/users/:id" })))
      expect(error).toEqual(new NotFound({ id: "3" }))

      const defect = new Error("boom")
      const exit = yield* Effect.exit(TestRequest.run(Effect.die(defect), "GET", "/"))
      expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
      expect(Exit.isFailure(exit) && Cause.squash(exit.cause)).toBe(defect)
    })
  )

  it.effect("runHandled answers as the server's error handling would", () =>
    Effect.gen(function* () {
      const failed = yield* TestRequest.runHandled(Effect.fail(new NotFound({ id: "1" })), "GET", "/")
      expect(failed.status).toBe(500)
      const died = yield* Effect.die("boom").pipe(TestRequest.runHandled("GET", "/"))
      expect(died.status).toBe(500)
      const respondable = yield* TestRequest.runHandled(Effect.fail(new Teapot()), "GET", "/")
      expect(respondable.status).toBe(418)
      expect(yield* TestRequest.bodyText(respondable)).toBe("short and stout")
      const notFound = yield* TestRequest.runHandled(
        (request) =>
          Effect.fail(new HttpServerError.HttpServerError({ reason: new HttpServerError.RouteNotFound({ request }) })),
        "GET",
        "/missing"
      )
      expect(notFound.status).toBe(404)
      const ok = yield* TestRequest.runHandled(HttpServerResponse.text("fine"), "GET", "/")
      expect(ok.status).toBe(200)
      // Bad input is still the test's mistake, not a 500.
      const invalid = yield* Effect.flip(TestRequest.runHandled(HttpServerResponse.text("fine"), "GET", "http://"))
      expect(invalid._tag).toBe("InvalidRequest")
    })
  )

  it.effect("bad input fails with InvalidRequest, saying what to fix, and the handler does not run", () =>
    Effect.gen(function* () {
      const runs = yield* Ref.make(0)
      const handler = Effect.as(
        Ref.update(runs, (n) => n + 1),
        HttpServerResponse.empty()
      )
      const reasonFor = (method: string, url: string, options?: TestRequest.Options) =>
        Effect.map(Effect.flip(TestRequest.run(handler, method, url, options)), (error) => {
          expect(error).toBeInstanceOf(TestRequest.InvalidRequest)
          expect(error._tag).toBe("InvalidRequest")
          return error.reason
        })

      expect(yield* reasonFor("POST", "/", { json: {}, body: "x" })).toMatch(
        /json and body were given: choose one of json, body, form and multipart/
      )
      expect(yield* reasonFor("GET", "/", { headers: { "bad header": "x" } })).toMatch(/invalid header name/)
      expect(yield* reasonFor("GET", "/", { headers: { "x-a": "1\r\n2" } })).toMatch(/character a header cannot carry/)
      expect(yield* reasonFor("GET", "http://")).toMatch(/does not resolve/)
      expect(yield* reasonFor("GET", "ftp://host/x")).toMatch(/only http\(s\) URLs/)
      expect(yield* reasonFor("GE T", "/")).toMatch(/method "GE T" is not a token/)
      expect(yield* reasonFor("GET", "/", { cookies: { "a b": "x" } })).toMatch(/cookie name/)
      expect(yield* reasonFor("GET", "/posts/1", { route: "/users/:id" })).toMatch(
        /URL path "\/posts\/1" does not match the route "\/users\/:id"/
      )
      expect(yield* reasonFor("GET", "/", { route: "users/:id" as never })).toMatch(/invalid route "users\/:id"/)
      expect(yield* reasonFor("GET", "/", { route: "/users/:id(" })).toMatch(/invalid route .*Invalid regexp/)
      expect(yield* reasonFor("GET", "/", { routeParams: { id: 1 as never } })).toMatch(/route param "id"/)
      expect(yield* reasonFor("GET", "/", { remoteAddress: 1 as never })).toMatch(/remoteAddress/)
      expect(yield* reasonFor("GET", "/", null as never)).toMatch(/options must be an object/)
      // Also: a TestClient option TestRequest has no use for, and a typo, are named.
      expect(yield* reasonFor("GET", "/", { timeout: "1 second" } as never)).toMatch(/unknown option "timeout"/)
      expect(yield* reasonFor("GET", "/", { routeParam: { id: "1" } } as never)).toMatch(
        /unknown option "routeParam" \(did you mean "routeParams"\?\)/
      )
      expect(yield* reasonFor("GET", "/", { remoteAddress: "localhost" })).toMatch(/IPv4 or IPv6 address/)
      // A request Node's server answers itself never reaches a handler.
      expect(yield* reasonFor("FOO", "/")).toMatch(/answers 400 before any app sees this request/)
      expect(yield* reasonFor("GET", "/", { headers: { expect: "x" } })).toMatch(/answers 417/)
      expect(yield* reasonFor("CONNECT", "/")).toMatch(/never routes CONNECT/)
      // And a handler that is none of the forms HttpRouter.add takes.
      const notAHandler = yield* Effect.flip(
        TestRequest.run("nope" as unknown as HttpServerResponse.HttpServerResponse, "GET", "/", {})
      )
      expect(notAHandler.reason).toMatch(/the handler must be an HttpServerResponse/)
      expect(yield* Ref.get(runs)).toBe(0)
    })
  )
})
