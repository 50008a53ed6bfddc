/**
 * The cookie jar across requests, through `TestClient`: the port of the Effect 3 edition's
 * `Cookies.test.ts` beyond the core's rule table (which `Scenarios.test.ts` runs) and the
 * jar's own API (`CookieApi.test.ts`): cookies across redirect hops, several Set-Cookie lines,
 * deletion, domain and path, per-call cookies, control characters, a Domain equal to the
 * host, many cookies beside a Secure one, and `cookieHeader`'s URLs.
 */
import { describe, expect, it } from "@effect/vitest"
import { PAST } from "@effect-http-testkit/core/scenarios"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Layer, Option } from "effect"
import { Cookies, HttpRouter, HttpServerResponse } from "effect/http"

/**
 * Any path: with `?set-cookie=<raw>` it answers 204 with that exact Set-Cookie line;
 * otherwise with the request's Cookie header as text ("" when there is none), saying in
 * `x-cookie-sent` whether the header was there at all.
 */
const AnyPath = HttpRouter.add("*", "*", (request) => {
  const raw = new URL(request.url, "http://x").searchParams.get("set-cookie")
  if (raw !== null) return Effect.succeed(HttpServerResponse.empty({ status: 204, headers: { "set-cookie": raw } }))
  const cookie = request.headers.cookie
  return Effect.succeed(
    HttpServerResponse.text(cookie ?? "", { headers: { "x-cookie-sent": cookie === undefined ? "no" : "yes" } })
  )
})

const App = Layer.mergeAll(
  // One response, three Set-Cookie lines: two from platform Cookies, one raw header.
  HttpRouter.add(
    "GET",
    "/multi",
    HttpServerResponse.empty({ headers: { "set-cookie": "c=3; Path=/" } }).pipe(
      HttpServerResponse.setCookiesUnsafe([
        ["a", "1", { path: "/" }],
        ["b", "2", { path: "/", httpOnly: true }]
      ])
    )
  ),
  HttpRouter.add(
    "GET",
    "/login",
    HttpServerResponse.empty({
      status: 302,
      headers: { location: "/home", "set-cookie": "session=abc123; Path=/; HttpOnly" }
    })
  ),
  HttpRouter.add(
    "GET",
    "/login-elsewhere",
    HttpServerResponse.empty({
      status: 302,
      headers: { location: "http://other.test/home", "set-cookie": "session=abc123; Path=/" }
    })
  ),
  // A session cookie whose Domain names the very host that sets it (RFC 6265 §5.3 step 5).
  HttpRouter.add(
    "GET",
    "/login-host-domain",
    HttpServerResponse.empty({ status: 204 }).pipe(
      HttpServerResponse.setCookieUnsafe("sid", "abc", { domain: "testserver", path: "/", httpOnly: true })
    )
  ),
  // `?n=` cookies c0..c{n-1} on Path=/ in one response, then two that try to shadow a Secure `s`.
  HttpRouter.add("GET", "/many", (request) => {
    const n = Number(new URL(request.url, "http://x").searchParams.get("n"))
    const cookies = Array.from({ length: n }, (_, i) => [`c${i}`, String(i), { path: "/" }] as const)
    return Effect.succeed(
      // The raw line goes after the response's cookies, as platform-node writes them.
      HttpServerResponse.empty({ status: 204, headers: { "set-cookie": "s=shadow; Path=/deeper" } }).pipe(
        HttpServerResponse.setCookiesUnsafe([...cookies, ["s", "shadow", { path: "/" }]])
      )
    )
  }),
  AnyPath
)

const TestApp = TestClient.layer(App)

/** Makes the app at `url` answer with one raw Set-Cookie line. */
const setFrom = (url: string, header: string) =>
  Effect.gen(function* () {
    const r = yield* TestClient.get(url, { params: { "set-cookie": header } })
    expect(r.status).toBe(204)
    // As a client reads it off the wire: Node's parser drops the spaces and tabs around a value.
    expect(r.setCookie).toEqual([header.replace(/^[\t ]+|[\t ]+$/g, "")])
  })

/** What the app receives as Cookie on a request to `url` ("" for no header). */
const sentTo = (url: string, options?: TestClient.RequestOptions) =>
  Effect.gen(function* () {
    const r = yield* TestClient.get(url, options)
    expect(r.status).toBe(200)
    const body = yield* r.text
    expect(r.headers["x-cookie-sent"]).toBe(body === "" ? "no" : "yes")
    return body
  })

/** A Cookie header as a sorted list of pairs, for checks that do not depend on order. */
const pairs = (header: string): ReadonlyArray<string> => (header === "" ? [] : header.split("; ").sort())

describe("cookies across requests and redirect hops", () => {
  it.effect("a Set-Cookie on a redirect hop is sent on the next hop", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/login")
      expect(r.status).toBe(200)
      expect(r.url).toBe("http://testserver/home")
      expect(yield* r.text).toBe("session=abc123")
      expect(r.history).toHaveLength(1)
      const hop = r.history[0]!
      expect(hop.status).toBe(302)
      expect(hop.url).toBe("http://testserver/login")
      expect(hop.headers.location).toBe("/home")
      expect(hop.setCookie).toEqual(["session=abc123; Path=/; HttpOnly"])
      // The first hop carried no cookie; the second carried the one just set.
      const exchanges = yield* TestClient.exchanges
      expect(exchanges.map((e) => e.request.headers.cookie)).toEqual([undefined, "session=abc123"])
      expect(yield* TestClient.cookieHeader()).toBe("session=abc123")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a cookie set on a redirect hop is not sent to a next hop on another host", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/login-elsewhere")
      expect(r.url).toBe("http://other.test/home")
      expect(r.history.map((h) => h.status)).toEqual([302])
      expect(yield* r.text).toBe("")
      expect(yield* TestClient.cookieHeader("/")).toBe("session=abc123")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("several Set-Cookie headers in one response are all stored", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/multi")
      expect(r.setCookie).toHaveLength(3)
      expect(r.setCookie.map((line) => line.slice(0, line.indexOf(";")))).toEqual(["a=1", "b=2", "c=3"])
      expect(yield* sentTo("/echo")).toBe("a=1; b=2; c=3")
      expect(Cookies.toRecord(yield* TestClient.cookies)).toEqual({ a: "1", b: "2", c: "3" })
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("Max-Age=0 or an Expires in the past deletes the cookie", () =>
    Effect.gen(function* () {
      yield* setFrom("/", "a=1; Path=/")
      yield* setFrom("/", "b=2; Path=/")
      yield* setFrom("/", "c=3; Path=/")
      expect(yield* sentTo("/echo")).toBe("a=1; b=2; c=3")
      yield* setFrom("/", "a=1; Path=/; Max-Age=0")
      expect(yield* sentTo("/echo")).toBe("b=2; c=3")
      yield* setFrom("/", `b=; Path=/; Expires=${PAST}`)
      expect(yield* sentTo("/echo")).toBe("c=3")
      expect(Cookies.toRecord(yield* TestClient.cookies)).toEqual({ c: "3" })
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a cookie for another domain is rejected; a Path=/a cookie is not sent to /b", () =>
    Effect.gen(function* () {
      yield* setFrom("/", "foreign=1; Domain=example.com; Path=/")
      yield* setFrom("/a", "scoped=1; Path=/a")
      expect(yield* sentTo("http://example.com/")).toBe("")
      expect(yield* sentTo("http://www.example.com/")).toBe("")
      expect(yield* sentTo("/b")).toBe("")
      expect(yield* sentTo("/a")).toBe("scoped=1")
      expect(yield* sentTo("/a/deeper")).toBe("scoped=1")
      expect(Cookies.toRecord(yield* TestClient.cookies)).toEqual({ scoped: "1" })
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("per-call cookies override the jar for that call only", () =>
    Effect.gen(function* () {
      yield* setFrom("/", "a=jar; Path=/")
      yield* setFrom("/", "c=keep; Path=/")
      expect(yield* sentTo("/echo")).toBe("a=jar; c=keep")
      const overridden = yield* sentTo("/echo", { cookies: { a: "call", extra: "x" } })
      expect(pairs(overridden)).toEqual(["a=call", "c=keep", "extra=x"])
      // The jar is untouched: the next call sends the jar's values again.
      expect(yield* TestClient.cookieHeader()).toBe("a=jar; c=keep")
      expect(yield* sentTo("/echo")).toBe("a=jar; c=keep")
    }).pipe(Effect.provide(TestApp))
  )
})

describe("control characters in Set-Cookie", () => {
  it.effect("control characters: a Set-Cookie holding one never reaches the jar, and nothing crashes", () =>
    Effect.gen(function* () {
      yield* setFrom("/", "a=1; Path=/")
      // Node refuses to write such a header (ERR_INVALID_CHAR), so the app fails as in production.
      const error = yield* Effect.flip(TestClient.get("/", { params: { "set-cookie": "b=x\u0001y" } }))
      expect(error).toBeInstanceOf(TestClient.ServerError)
      expect(yield* sentTo("/echo")).toBe("a=1")
    }).pipe(Effect.provide(TestClient.layer(App, { report: "never" })))
  )

  it.effect("control characters: with serverErrors respond, the 500 carries no cookie", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/", { params: { "set-cookie": "b=x\u0001y" } })
      expect(r.status).toBe(500)
      expect(r.setCookie).toEqual([])
      expect(yield* TestClient.cookieHeader()).toBe("")
    }).pipe(Effect.provide(TestClient.layer(App, { serverErrors: "respond" })))
  )
})

describe("a Domain attribute equal to the request host (RFC 6265 §5.3 step 5)", () => {
  it.effect("Domain=testserver from http://testserver is stored host-only: sent back there, not to subdomains", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/login-host-domain")
      expect(r.setCookie).toEqual(["sid=abc; Domain=testserver; Path=/; HttpOnly"])
      expect(yield* sentTo("/me")).toBe("sid=abc")
      expect(yield* sentTo("http://testserver:8080/me")).toBe("sid=abc")
      expect(yield* sentTo("http://api.testserver/me")).toBe("")
      expect(yield* TestClient.cookieHeader("http://api.testserver/")).toBe("")
      const sid = Option.getOrThrow(Cookies.get(yield* TestClient.cookies, "sid"))
      expect(sid.value).toBe("abc")
      // Host-only: reported without a domain, as a cookie set with no Domain attribute is.
      expect(sid.options?.domain).toBeUndefined()
      expect(sid.options?.httpOnly).toBe(true)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a subdomain of testserver cannot set Domain=testserver (a public suffix it is not identical to)", () =>
    Effect.gen(function* () {
      yield* setFrom("http://api.testserver/", "sid=abc; Domain=testserver; Path=/")
      expect(yield* sentTo("http://api.testserver/")).toBe("")
      expect(yield* sentTo("/")).toBe("")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("__Host- cookies keep their rule: a Domain attribute, even the host's own, is refused", () =>
    Effect.gen(function* () {
      yield* setFrom("http://localhost/", "__Host-id=1; Secure; Path=/; Domain=localhost")
      yield* setFrom("https://intranet/", "__Host-id=2; Secure; Path=/; Domain=intranet")
      expect(yield* sentTo("http://localhost/")).toBe("")
      expect(yield* sentTo("https://intranet/")).toBe("")
    }).pipe(Effect.provide(TestApp))
  )
})

// How much of the jar storing a cookie walks is the core's jar's (shared by both editions);
// here, what a test sees: every cookie stored, none shadowing the Secure one.
describe("many cookies with a Secure cookie present", () => {
  // 1,000 keeps the jar's Cookie header (~11 KB) under Node's 16 KiB header limit, past which
  // the request would be refused with 431 before reaching the app.
  const n = 1000

  it.effect("one response with 1,000 Set-Cookie over plain http stores them all; none shadows the Secure one", () =>
    Effect.gen(function* () {
      // http://localhost is a secure context: the Secure cookie is stored, and the jar must then
      // check every plain-http cookie against it ("leave secure cookies alone").
      yield* setFrom("/", "s=1; Secure; Path=/")
      expect(yield* sentTo("/")).toBe("s=1")
      const r = yield* TestClient.get("/many", { params: { n } })
      expect(r.status).toBe(204)
      expect(r.setCookie).toHaveLength(n + 2)
      // All n stored, in creation order after `s`; neither shadowing `s` got in.
      const expected = ["s=1", ...Array.from({ length: n }, (_, i) => `c${i}=${i}`)].join("; ")
      expect(yield* TestClient.cookieHeader("/")).toBe(expected)
      expect(yield* TestClient.cookieHeader("/deeper")).toBe(expected)
      expect(yield* sentTo("/")).toBe(expected)
      const record = Cookies.toRecord(yield* TestClient.cookies)
      expect(Object.keys(record)).toHaveLength(n + 1)
      expect(record.s).toBe("1")
      expect(record[`c${n - 1}`]).toBe(String(n - 1))
      // Storing again replaces.
      yield* TestClient.get("/many", { params: { n } })
      expect(yield* TestClient.cookieHeader("/")).toBe(expected)
    }).pipe(Effect.provide(TestClient.layer(App, { baseUrl: "http://localhost" })))
  )

  it.effect("the Secure cookie stops guarding its name once it is cleared, deleted or replaced", () =>
    Effect.gen(function* () {
      yield* setFrom("/", "s=1; Secure; Path=/")
      yield* setFrom("http://testserver/", "s=elsewhere; Path=/")
      yield* TestClient.get("/many", { params: { n: 3 } })
      expect(yield* sentTo("/")).toBe("s=1; c0=0; c1=1; c2=2")
      // Another host's `s` is not guarded by this host's Secure one.
      expect(yield* sentTo("http://testserver/")).toBe("s=elsewhere")

      yield* TestClient.clearCookies("s")
      yield* setFrom("/", "s=2; Path=/")
      expect(yield* sentTo("/")).toBe("c0=0; c1=1; c2=2; s=2")

      // Secure again (replacing the plain one), then deleted: the name is free again.
      yield* setFrom("/", "s=3; Secure; Path=/")
      yield* setFrom("/", "s=4; Path=/")
      expect(yield* sentTo("/")).toBe("c0=0; c1=1; c2=2; s=3")
      yield* setFrom("/", "s=; Secure; Path=/; Max-Age=0")
      yield* setFrom("/", "s=5; Path=/")
      expect(yield* sentTo("/")).toBe("c0=0; c1=1; c2=2; s=5")

      yield* TestClient.clearCookies()
      yield* setFrom("/", "s=6; Path=/")
      expect(yield* sentTo("/")).toBe("s=6")
    }).pipe(Effect.provide(TestClient.layer(App, { baseUrl: "http://localhost" })))
  )
})

describe("cookieHeader", () => {
  it.effect("cookieHeader: default baseUrl, a relative URL joined to the baseUrl, an absolute URL", () =>
    Effect.gen(function* () {
      yield* setFrom("/", "root=1; Path=/")
      yield* setFrom("/api/admin", "api=1; Path=/api/admin")
      yield* setFrom("http://other.test/", "other=1")
      expect(yield* TestClient.cookieHeader()).toBe("root=1")
      // baseUrl has the /api path prefix: "admin/x" is /api/admin/x.
      expect(yield* TestClient.cookieHeader("admin/x")).toBe("api=1; root=1")
      expect(yield* TestClient.cookieHeader("http://testserver/api/admin")).toBe("api=1; root=1")
      expect(yield* TestClient.cookieHeader("http://testserver/admin")).toBe("root=1")
      expect(yield* TestClient.cookieHeader("http://other.test/")).toBe("other=1")
      expect(yield* sentTo("admin/x")).toBe("api=1; root=1")
    }).pipe(Effect.provide(TestClient.layer(App, { baseUrl: "http://testserver/api/" })))
  )
})
