/**
 * The core's scenario tables, through the Effect 4 client: the same cookie and redirect
 * cases the Effect 3 edition runs.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  cookieCases,
  credentialCases,
  followedStatuses,
  locationBase,
  locationCases,
  redirectMethodCases
} from "@effect-http-testkit/core/scenarios"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Layer } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"

// ---------------------------------------------------------------------------------------------
// cookies
// ---------------------------------------------------------------------------------------------

/** Any path: `?set-cookie=<raw>` answers 204 with that Set-Cookie line; otherwise the Cookie header it got. */
const CookieApp = HttpRouter.add("*", "*", (request) => {
  const raw = new URL(request.url, "http://x").searchParams.get("set-cookie")
  if (raw !== null) {
    return Effect.succeed(HttpServerResponse.empty({ status: 204, headers: { "set-cookie": raw } }))
  }
  return Effect.succeed(HttpServerResponse.text(request.headers.cookie ?? ""))
})

describe("cookie jar rules (RFC 6265 / 6265bis), the core's table", () => {
  for (const c of cookieCases) {
    it.effect(c.name, () =>
      Effect.gen(function* () {
        for (const entry of c.set) {
          const [from, header] = typeof entry === "string" ? [c.from, entry] : entry
          const url = new URL(from)
          url.searchParams.set("set-cookie", header)
          expect((yield* TestClient.get(url.href)).status).toBe(204)
        }
        const sent = yield* TestClient.get(c.to)
        expect(yield* sent.text).toBe(c.expected)
        expect(yield* TestClient.cookieHeader(c.to)).toBe(c.expected)
      }).pipe(Effect.provide(TestClient.layer(CookieApp)))
    )
  }
})

// ---------------------------------------------------------------------------------------------
// redirects
// ---------------------------------------------------------------------------------------------

const redirect = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.map(HttpRouter.params, (params) => {
    const to = new URL(request.url, "http://x").searchParams.get("to")
    return HttpServerResponse.empty({ status: Number(params.status), headers: to === null ? {} : { location: to } })
  })

const target = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.map(request.text, (body) =>
    HttpServerResponse.text(`target saw ${request.method}`, {
      headers: {
        "x-seen-method": request.method,
        "x-seen-host": request.headers.host ?? "",
        "x-seen-body": body === "" ? "(none)" : body,
        "x-seen-content-type": request.headers["content-type"] ?? "(none)",
        "x-seen-content-length": request.headers["content-length"] ?? "(none)",
        "x-seen-authorization": request.headers.authorization ?? "(none)",
        "x-seen-proxy-authorization": request.headers["proxy-authorization"] ?? "(none)"
      }
    })
  )

const RedirectApp = Layer.mergeAll(
  HttpRouter.add("*", "/redirect/:status", redirect),
  HttpRouter.add("*", "/a/redirect/target", target),
  HttpRouter.add("*", "/a/redirect/:status", redirect),
  HttpRouter.add("*", "/target", target),
  HttpRouter.add("*", "/a/target", target),
  HttpRouter.add("*", "/a/b/target", target)
)
const TestRedirects = TestClient.layer(RedirectApp)

describe("status x method: the follow-up request, the core's table", () => {
  it("covers every followed status after every method", () => {
    expect(redirectMethodCases.map((c) => `${c.status} ${c.method}`)).toEqual(
      followedStatuses.flatMap((status) => ["GET", "HEAD", "POST", "PUT", "DELETE"].map((m) => `${status} ${m}`))
    )
  })
  for (const { status, method, followUp, keepsBody } of redirectMethodCases) {
    const hasBody = method === "POST" || method === "PUT" || method === "DELETE"
    it.effect(`${status} after ${method} -> ${followUp}${keepsBody ? " with the body" : " without a body"}`, () =>
      Effect.gen(function* () {
        const r = yield* TestClient.request(
          method,
          `/redirect/${status}?to=/target`,
          hasBody ? { body: "payload" } : {}
        )
        expect(r.status).toBe(200)
        expect([
          r.headers["x-seen-method"],
          r.headers["x-seen-body"],
          r.headers["x-seen-content-type"],
          r.headers["x-seen-content-length"]
        ]).toEqual(
          keepsBody ? [followUp, "payload", "text/plain;charset=UTF-8", "7"] : [followUp, "(none)", "(none)", "(none)"]
        )
        expect(r.url).toBe("http://testserver/target")
        expect(r.history.map((hop) => hop.status)).toEqual([status])
        if (method === "HEAD") expect(r.body.length).toBe(0)
        else expect(yield* r.text).toBe(`target saw ${followUp}`)
      }).pipe(Effect.provide(TestRedirects))
    )
  }
})

describe("where a Location leads, the core's table", () => {
  const base = new URL(locationBase)
  for (const { name, location, to } of locationCases) {
    it.effect(`${name}: ${JSON.stringify(location)} -> ${to ?? "not followed"}`, () =>
      Effect.gen(function* () {
        const from = `${base.pathname}?to=${encodeURIComponent(location)}`
        const r = yield* TestClient.get(from, { maxRedirects: 1 }).pipe(
          Effect.catchTag("TooManyRedirects", () => Effect.die("a location case redirects once at most"))
        )
        if (to === undefined) {
          expect(r.status).toBe(302)
          expect(r.url).toBe(`${base.origin}${from}`)
          expect(r.history).toEqual([])
        } else {
          expect(r.history.map((hop) => hop.status)).toEqual([302])
          expect(r.url).toBe(to)
          if (r.status === 200) expect(r.headers["x-seen-host"]).toBe(new URL(to).host)
        }
      }).pipe(Effect.provide(TestRedirects))
    )
  }
})

describe("credentials across origins, the core's table", () => {
  for (const { name, status, location, kept } of credentialCases) {
    it.effect(`${name}: ${status} to ${location} ${kept ? "keeps" : "drops"} them`, () =>
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
      }).pipe(Effect.provide(TestRedirects))
    )
  }
})
