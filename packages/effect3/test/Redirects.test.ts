/**
 * Redirect following (RFC 9110 §15.4, Fetch): docs/behaviours.md#redirects.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import {
  credentialCases,
  followedStatuses,
  locationBase,
  locationCases,
  redirectMethodCases
} from "@effect-http-testkit/core/scenarios"
import { Effect, Stream } from "effect"
import { TestClient } from "effect-http-testkit"

/**
 * `/redirect/:status?to=...` answers with that status and `Location`; `/target` (under any
 * prefix) reports what it received in headers, so HEAD follow-ups can be checked too.
 */
const redirect = Effect.gen(function* () {
  const { status } = yield* HttpRouter.params
  const query = yield* HttpServerRequest.ParsedSearchParams
  const to = typeof query.to === "string" ? query.to : undefined
  return HttpServerResponse.empty({ status: Number(status), headers: to === undefined ? {} : { location: to } })
})

const target = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const body = yield* request.text
  return HttpServerResponse.text(`target saw ${request.method}`, {
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
})

const app = HttpRouter.empty.pipe(
  HttpRouter.all("/redirect/:status", redirect),
  HttpRouter.all("/a/redirect/target", target),
  HttpRouter.all("/a/redirect/:status", redirect),
  HttpRouter.all("/loop", Effect.succeed(HttpServerResponse.empty({ status: 302, headers: { location: "/loop" } }))),
  HttpRouter.all("/target", target),
  HttpRouter.all("/a/target", target),
  HttpRouter.all("/a/b/target", target)
)

const TestApp = TestClient.layer(app)

const seen = (r: TestClient.TestResponse) => ({
  method: r.headers["x-seen-method"],
  body: r.headers["x-seen-body"],
  contentType: r.headers["x-seen-content-type"],
  contentLength: r.headers["x-seen-content-length"]
})

// docs/behaviours.md#redirect-method-rewrite and #redirect-method-kept
describe("status x method: the follow-up request (the core's redirect table)", () => {
  it("the table covers every followed status after every method", () => {
    expect(redirectMethodCases.map((c) => `${c.status} ${c.method}`)).toEqual(
      followedStatuses.flatMap((status) => ["GET", "HEAD", "POST", "PUT", "DELETE"].map((m) => `${status} ${m}`))
    )
  })
  for (const { status, method, followUp, keepsBody } of redirectMethodCases) {
    const hasBody = method === "POST" || method === "PUT" || method === "DELETE"
    const expected = keepsBody
      ? { method: followUp, body: "payload", contentType: "text/plain;charset=UTF-8", contentLength: "7" }
      : { method: followUp, body: "(none)", contentType: "(none)", contentLength: "(none)" }
    it.scoped(`${status} after ${method} -> ${followUp}${keepsBody ? " with the body" : " without a body"}`, () =>
      Effect.gen(function* () {
        const r = yield* TestClient.request(
          method,
          `/redirect/${status}?to=/target`,
          hasBody ? { body: "payload" } : {}
        )
        expect(r.status).toBe(200)
        expect(seen(r)).toEqual(expected)
        expect(r.url).toBe("http://testserver/target")
        expect(r.history.map((hop) => hop.status)).toEqual([status])
        // HEAD stays HEAD: no body on the final response either.
        if (method === "HEAD") expect(r.body.length).toBe(0)
        else expect(yield* r.text).toBe(`target saw ${followUp}`)
      }).pipe(Effect.provide(TestApp))
    )
  }
})

// docs/behaviours.md#redirect-location
describe("where a Location leads (the core's location table)", () => {
  const base = new URL(locationBase)
  for (const { name, location, to } of locationCases) {
    it.scoped(`${name}: ${JSON.stringify(location)} -> ${to ?? "not followed"}`, () =>
      Effect.gen(function* () {
        const from = `${base.pathname}?to=${encodeURIComponent(location)}`
        const r = yield* TestClient.get(from, { maxRedirects: 1 }).pipe(
          Effect.catchTag("TooManyRedirects", (e) => Effect.succeed(e.history[e.history.length - 1]))
        )
        if (to === undefined) {
          expect(r.status).toBe(302)
          expect(r.url).toBe(`${base.origin}${from}`)
          expect(r.history).toEqual([])
        } else {
          expect(r.history.map((hop) => hop.status)).toEqual([302])
          expect(r.url).toBe(to)
          // The target route reports the Host it was asked for; `?only=query` lands on the redirect route.
          if (r.status === 200) expect(r.headers["x-seen-host"]).toBe(new URL(to).host)
        }
      }).pipe(Effect.provide(TestApp))
    )
  }
})

// docs/behaviours.md#redirect-credentials
describe("credentials across origins (the core's credential table)", () => {
  for (const { name, status, location, kept } of credentialCases) {
    it.scoped(`${name}: ${status} to ${location} ${kept ? "keeps" : "drops"} them`, () =>
      Effect.gen(function* () {
        const r = yield* TestClient.post(`/redirect/${status}?to=${encodeURIComponent(location)}`, {
          body: "x",
          headers: { authorization: "Bearer secret", "proxy-authorization": "Basic cHJveHk6c2VjcmV0" }
        })
        expect(r.status).toBe(200)
        expect(r.history.map((hop) => hop.status)).toEqual([status])
        expect([r.headers["x-seen-authorization"], r.headers["x-seen-proxy-authorization"]]).toEqual(
          kept ? ["Bearer secret", "Basic cHJveHk6c2VjcmV0"] : ["(none)", "(none)"]
        )
      }).pipe(Effect.provide(TestApp))
    )
  }
})

describe("redirects", () => {
  // docs/behaviours.md#redirect-method-rewrite
  it.scoped("303 after POST: GET with no body, no Content-Type and no Content-Length", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.post("/redirect/303?to=/target", { json: { name: "Ada" } })
      expect(seen(r)).toEqual({ method: "GET", body: "(none)", contentType: "(none)", contentLength: "(none)" })
    }).pipe(Effect.provide(TestApp))
  )

  // docs/behaviours.md#redirect-location
  it.scoped("relative and absolute Location values resolve against the current URL", () =>
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
        const r = yield* TestClient.get(from, { maxRedirects: 1 }).pipe(
          Effect.catchTag("TooManyRedirects", (e) => Effect.succeed(e.history[e.history.length - 1]))
        )
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

  // docs/behaviours.md#redirect-limit
  it.scoped("a loop fails with TooManyRedirects after maxRedirects, every hop in history", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/loop"))
      expect(error._tag).toBe("TooManyRedirects")
      if (error._tag !== "TooManyRedirects") return
      expect(error.history.length).toBe(4)
      expect(error.history.every((hop) => hop.status === 302)).toBe(true)
      expect(error.message).toContain("more than 3 redirects")
      const fewer = yield* Effect.flip(TestClient.get("/loop", { maxRedirects: 0 }))
      expect(fewer._tag === "TooManyRedirects" && fewer.history.length).toBe(1)
    }).pipe(Effect.provide(TestClient.layer(app, { maxRedirects: 3 })))
  )

  // docs/behaviours.md#redirect-history
  it.scoped("history holds every hop oldest first, url is the final URL", () =>
    Effect.gen(function* () {
      const hop2 = encodeURIComponent("/redirect/307?to=/target")
      const r = yield* TestClient.post(`/redirect/302?to=${hop2}`, { body: "x" })
      expect(r.url).toBe("http://testserver/target")
      expect(r.history.map((hop) => [hop.status, hop.url])).toEqual([
        [302, `http://testserver/redirect/302?to=${hop2}`],
        [307, "http://testserver/redirect/307?to=/target"]
      ])
      expect(r.history[1].history.length).toBe(1)
    }).pipe(Effect.provide(TestApp))
  )

  // docs/behaviours.md#redirect-not-followed
  it.scoped("with following off (client-wide or per call) the 3xx comes back as is", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/redirect/302?to=/target")
      expect(r.status).toBe(302)
      expect(r.headers.location).toBe("/target")
      expect(r.history).toEqual([])
      const followed = yield* TestClient.get("/redirect/302?to=/target", { followRedirects: true })
      expect(followed.status).toBe(200)
    }).pipe(Effect.provide(TestClient.layer(app, { followRedirects: false })))
  )

  // docs/behaviours.md#redirect-not-followed
  it.scoped("a 3xx without a Location, a 304 and a non-http Location are returned as they are", () =>
    Effect.gen(function* () {
      expect((yield* TestClient.get("/redirect/302")).status).toBe(302)
      expect((yield* TestClient.get("/redirect/304?to=/target")).status).toBe(304)
      expect((yield* TestClient.get("/redirect/300?to=/target")).status).toBe(300)
      const mail = yield* TestClient.get("/redirect/302?to=mailto:someone@example.com")
      expect(mail.status).toBe(302)
    }).pipe(Effect.provide(TestApp))
  )

  // docs/behaviours.md#redirect-credentials
  it.scoped("Authorization is kept on same-origin hops and dropped on cross-origin hops", () =>
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

  // docs/behaviours.md#redirect-credentials
  it.scoped(
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
        const exchanges = yield* TestClient.exchanges
        const last = exchanges.slice(-2)
        expect(last.map((e) => e.request.headers["proxy-authorization"])).toEqual(["Basic cHJveHk6c2VjcmV0", undefined])
      }).pipe(Effect.provide(TestApp))
  )

  // docs/behaviours.md#redirect-method-kept
  it.scoped("a 307/308 that must resend a Stream body fails with InvalidRequest; a 303 needs no body", () =>
    Effect.gen(function* () {
      const body = () => Stream.make(new TextEncoder().encode("streamed"))
      const error = yield* Effect.flip(TestClient.post("/redirect/307?to=/target", { body: body() }))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("Stream body can only be sent once")
      const r = yield* TestClient.post("/redirect/303?to=/target", { body: body() })
      expect(seen(r).method).toBe("GET")
    }).pipe(Effect.provide(TestApp))
  )

  // docs/behaviours.md#exchanges-log
  it.scoped("exchanges records every hop, with the request as sent", () =>
    Effect.gen(function* () {
      yield* TestClient.post("/redirect/303?to=/target", { body: "x" })
      const exchanges = yield* TestClient.exchanges
      expect(exchanges.map((e) => [e.request.method, e.response.url, e.response.status])).toEqual([
        ["POST", "http://testserver/redirect/303?to=/target", 303],
        ["GET", "http://testserver/target", 200]
      ])
      expect(exchanges[0].request.url).toBe("http://testserver/redirect/303")
      expect(exchanges[0].request.headers["content-length"]).toBe("1")
      expect(exchanges[1].request.headers.host).toBe("testserver")
    }).pipe(Effect.provide(TestApp))
  )

  // docs/behaviours.md#exchanges-log
  it.scoped("exchanges is a bounded ring", () =>
    Effect.gen(function* () {
      for (let i = 0; i < 5; i++) yield* TestClient.get(`/target?i=${i}`)
      const exchanges = yield* TestClient.exchanges
      expect(exchanges.map((e) => e.response.headers["x-seen-url"])).toEqual(["/target?i=3", "/target?i=4"])
    }).pipe(Effect.provide(TestClient.layer(app, { exchangeLimit: 2 })))
  )

  // docs/behaviours.md#option-validation
  it.scoped("bad redirect options fail with InvalidRequest", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/target", { maxRedirects: -1 }))
      expect(error._tag).toBe("InvalidRequest")
      expect(error.message).toContain("maxRedirects")
    }).pipe(Effect.provide(TestApp))
  )
})
