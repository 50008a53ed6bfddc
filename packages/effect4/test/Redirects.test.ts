/**
 * Redirect following (RFC 9110 §15.4, Fetch) through `TestClient`: the port of the Effect 3
 * edition's `Redirects.test.ts` beyond the core's tables (which `Scenarios.test.ts` runs):
 * where a Location leads, the redirect limit, history, following off, what is not followed,
 * credentials across origins, a Stream body resent, and the exchange log.
 */
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Layer, Stream } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"

/** `/redirect/:status?to=...` answers with that status and `Location`. */
const redirect = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.map(HttpRouter.params, (params) => {
    const to = new URL(request.url, "http://x").searchParams.get("to")
    return HttpServerResponse.empty({ status: Number(params.status), headers: to === null ? {} : { location: to } })
  })

/** Reports what it received in headers, so HEAD follow-ups can be checked too. */
const target = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.map(request.text, (body) =>
    HttpServerResponse.text(`target saw ${request.method}`, {
      headers: {
        "x-seen-method": request.method,
        "x-seen-url": request.url,
        "x-seen-host": request.headers.host ?? "",
        "x-seen-body": body === "" ? "(none)" : body,
        "x-seen-content-type": request.headers["content-type"] ?? "(none)",
        "x-seen-content-length": request.headers["content-length"] ?? "(none)",
        "x-seen-authorization": request.headers.authorization ?? "(none)",
        "x-seen-proxy-authorization": request.headers["proxy-authorization"] ?? "(none)"
      }
    })
  )

const App = Layer.mergeAll(
  HttpRouter.add("*", "/redirect/:status", redirect),
  HttpRouter.add("*", "/a/redirect/target", target),
  HttpRouter.add("*", "/a/redirect/:status", redirect),
  HttpRouter.add("*", "/loop", HttpServerResponse.empty({ status: 302, headers: { location: "/loop" } })),
  HttpRouter.add("*", "/target", target),
  HttpRouter.add("*", "/a/target", target),
  HttpRouter.add("*", "/a/b/target", target)
)

const TestApp = TestClient.layer(App)

const seen = (r: TestClient.TestResponse) => ({
  method: r.headers["x-seen-method"],
  body: r.headers["x-seen-body"],
  contentType: r.headers["x-seen-content-type"],
  contentLength: r.headers["x-seen-content-length"]
})

describe("redirects", () => {
  it.effect("303 after POST: GET with no body, no Content-Type and no Content-Length", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.post("/redirect/303?to=/target", { json: { name: "Ada" } })
      expect(seen(r)).toEqual({ method: "GET", body: "(none)", contentType: "(none)", contentLength: "(none)" })
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("relative and absolute Location values resolve against the current URL", () =>
    Effect.gen(function* () {
      const cases = [
        ["/a/redirect/302?to=target", "/a/redirect/target"],
        ["/a/redirect/302?to=../target", "/a/target"],
        ["/a/redirect/302?to=../b/target%3Fq%3D1", "/a/b/target?q=1"],
        ["/a/redirect/302?to=../../target", "/target"],
        ["/a/redirect/302?to=/a/b/target", "/a/b/target"],
        ["/a/redirect/302?to=%3Fonly%3Dquery", "/a/redirect/302?only=query"]
      ] as const
      for (const [from, to] of cases) {
        // The query-only Location leads to a redirect with no Location of its own, returned as is.
        const r = yield* TestClient.get(from, { maxRedirects: 1 })
        expect(r.history).toHaveLength(1)
        expect(new URL(r.url).pathname + new URL(r.url).search).toBe(to)
      }
      const absolute = yield* TestClient.get(
        `/redirect/302?to=${encodeURIComponent("http://other.example:8080/target")}`
      )
      expect(absolute.url).toBe("http://other.example:8080/target")
      expect(absolute.headers["x-seen-host"]).toBe("other.example:8080")
      const schemeRelative = yield* TestClient.get(`/redirect/302?to=${encodeURIComponent("//cdn.example/target")}`)
      expect(schemeRelative.url).toBe("http://cdn.example/target")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a loop fails with TooManyRedirects after maxRedirects, every hop in exchanges", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/loop"))
      expect(error._tag).toBe("TooManyRedirects")
      expect(error.message).toContain("more than 3 redirects")
      const hops = yield* TestClient.exchanges
      expect(hops.map((e) => e.response.status)).toEqual([302, 302, 302, 302])
      const fewer = yield* Effect.flip(TestClient.get("/loop", { maxRedirects: 0 }))
      expect(fewer._tag === "TooManyRedirects" && fewer.maxRedirects).toBe(0)
      expect((yield* TestClient.exchanges).length).toBe(5)
    }).pipe(Effect.provide(TestClient.layer(App, { maxRedirects: 3 })))
  )

  it.effect("history holds every hop oldest first, url is the final URL", () =>
    Effect.gen(function* () {
      const hop2 = encodeURIComponent("/redirect/307?to=/target")
      const r = yield* TestClient.post(`/redirect/302?to=${hop2}`, { body: "x" })
      expect(r.url).toBe("http://testserver/target")
      expect(r.history.map((hop) => [hop.status, hop.url])).toEqual([
        [302, `http://testserver/redirect/302?to=${hop2}`],
        [307, "http://testserver/redirect/307?to=/target"]
      ])
      expect(r.history[1]!.history.length).toBe(1)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("with following off (client-wide or per call) the 3xx comes back as is", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/redirect/302?to=/target")
      expect(r.status).toBe(302)
      expect(r.headers.location).toBe("/target")
      expect(r.history).toEqual([])
      const followed = yield* TestClient.get("/redirect/302?to=/target", { followRedirects: true })
      expect(followed.status).toBe(200)
    }).pipe(Effect.provide(TestClient.layer(App, { followRedirects: false })))
  )

  it.effect("a 3xx without a Location, a 304 and a non-http Location are returned as they are", () =>
    Effect.gen(function* () {
      expect((yield* TestClient.get("/redirect/302")).status).toBe(302)
      expect((yield* TestClient.get("/redirect/304?to=/target")).status).toBe(304)
      expect((yield* TestClient.get("/redirect/300?to=/target")).status).toBe(300)
      const mail = yield* TestClient.get("/redirect/302?to=mailto:someone@example.com")
      expect(mail.status).toBe(302)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("Authorization is kept on same-origin hops and dropped on cross-origin hops", () =>
    Effect.gen(function* () {
      const headers = { authorization: "Bearer secret" }
      const same = yield* TestClient.get("/redirect/302?to=/target", { headers })
      expect(same.headers["x-seen-authorization"]).toBe("Bearer secret")
      const cross = yield* TestClient.get(`/redirect/302?to=${encodeURIComponent("http://elsewhere.example/target")}`, {
        headers
      })
      expect(cross.headers["x-seen-authorization"]).toBe("(none)")
      const scheme = yield* TestClient.get(`/redirect/307?to=${encodeURIComponent("https://testserver/target")}`, {
        headers
      })
      expect(scheme.headers["x-seen-authorization"]).toBe("(none)")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect(
    "Proxy-Authorization is kept on same-origin hops and dropped on cross-origin hops, like Authorization",
    () =>
      Effect.gen(function* () {
        const headers = { "proxy-authorization": "Basic cHJveHk6c2VjcmV0", authorization: "Bearer secret" }
        const same = yield* TestClient.get("/redirect/302?to=/target", { headers })
        expect(same.headers["x-seen-proxy-authorization"]).toBe("Basic cHJveHk6c2VjcmV0")
        expect(same.headers["x-seen-authorization"]).toBe("Bearer secret")
        for (const [status, to] of [
          [302, "http://elsewhere.example/target"],
          [307, "https://testserver/target"],
          [308, "http://testserver:8080/target"],
          [303, "//cdn.example/target"]
        ] as const) {
          const cross = yield* TestClient.post(`/redirect/${status}?to=${encodeURIComponent(to)}`, {
            body: "x",
            // A header name in any case is the same header.
            headers: { "Proxy-Authorization": "Basic cHJveHk6c2VjcmV0" }
          })
          expect(cross.status).toBe(200)
          expect(cross.history.map((hop) => hop.status)).toEqual([status])
          expect(cross.headers["x-seen-proxy-authorization"]).toBe("(none)")
        }
        // The first hop itself carried it: only the cross-origin follow-up loses it.
        const last = (yield* TestClient.exchanges).slice(-2)
        expect(last.map((e) => e.request.headers["proxy-authorization"])).toEqual(["Basic cHJveHk6c2VjcmV0", undefined])
      }).pipe(Effect.provide(TestApp))
  )

  // A Stream body is sent as it is produced: it cannot be sent twice.
  it.effect("a 307/308 that must resend a Stream body fails with InvalidRequest; a 303 needs no body", () =>
    Effect.gen(function* () {
      const body = () => Stream.make(new TextEncoder().encode("streamed"))
      const error = yield* Effect.flip(TestClient.post("/redirect/307?to=/target", { body: body() }))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("a Stream body can only be sent once")
      const dropped = yield* TestClient.post("/redirect/303?to=/target", { body: body() })
      expect(seen(dropped)).toMatchObject({ method: "GET", body: "(none)" })
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("exchanges records every hop, with the request as sent", () =>
    Effect.gen(function* () {
      yield* TestClient.post("/redirect/303?to=/target", { body: "x" })
      const exchanges = yield* TestClient.exchanges
      expect(exchanges.map((e) => [e.request.method, e.response.status])).toEqual([
        ["POST", 303],
        ["GET", 200]
      ])
      expect(exchanges[0]!.request.url).toBe("http://testserver/redirect/303?to=/target")
      expect(exchanges[0]!.request.headers["content-length"]).toBe("1")
      expect(exchanges[1]!.request.url).toBe("http://testserver/target")
      expect(exchanges[1]!.request.headers.host).toBe("testserver")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("exchanges is a bounded ring", () =>
    Effect.gen(function* () {
      for (let i = 0; i < 5; i++) yield* TestClient.get(`/target?i=${i}`)
      const exchanges = yield* TestClient.exchanges
      expect(exchanges.map((e) => e.response.headers["x-seen-url"])).toEqual(["/target?i=3", "/target?i=4"])
    }).pipe(Effect.provide(TestClient.layer(App, { exchangeLimit: 2 })))
  )

  it.effect("bad redirect options fail with InvalidRequest", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/target", { maxRedirects: -1 }))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("maxRedirects")
    }).pipe(Effect.provide(TestApp))
  )
})
