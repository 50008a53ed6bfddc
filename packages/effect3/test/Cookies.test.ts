/**
 * The cookie jar against RFC 6265 / RFC 6265bis and browser behaviour, the cookie behaviours of
 * docs/behaviours.md#cookies, and the cookie helpers, through the public API.
 *
 * The expected `Cookie` headers below were worked out from the RFCs, not copied from a run.
 */
import { Cookies, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { cookieCases, FUTURE, PAST } from "@effect-http-testkit/core/scenarios"
import { Duration, Effect, Option } from "effect"
import { TestClient } from "effect-http-testkit"
import { MemoryCookieStore } from "tough-cookie"

/**
 * Any path: with `?set-cookie=<raw>` it answers 204 with that exact `Set-Cookie` line;
 * otherwise it answers with the request's `Cookie` header as text ("" when there is none)
 * and says in `x-cookie-sent` whether the header was there at all.
 */
const anyPath = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const params = yield* HttpServerRequest.ParsedSearchParams
  const raw = params["set-cookie"]
  if (typeof raw === "string") {
    return HttpServerResponse.empty({ status: 204 }).pipe(HttpServerResponse.setHeader("set-cookie", raw))
  }
  const cookie = request.headers.cookie
  return HttpServerResponse.text(cookie ?? "").pipe(
    HttpServerResponse.setHeader("x-cookie-sent", cookie === undefined ? "no" : "yes")
  )
})

const app = HttpRouter.empty.pipe(
  // One response, three Set-Cookie lines: two from platform Cookies, one raw header.
  HttpRouter.get(
    "/multi",
    Effect.sync(() =>
      HttpServerResponse.empty().pipe(
        HttpServerResponse.unsafeSetCookies([
          ["a", "1", { path: "/" }],
          ["b", "2", { path: "/", httpOnly: true }]
        ]),
        HttpServerResponse.setHeader("set-cookie", "c=3; Path=/")
      )
    )
  ),
  HttpRouter.get(
    "/login",
    Effect.succeed(
      HttpServerResponse.empty({ status: 302 }).pipe(
        HttpServerResponse.setHeader("location", "/home"),
        HttpServerResponse.setHeader("set-cookie", "session=abc123; Path=/; HttpOnly")
      )
    )
  ),
  HttpRouter.get(
    "/login-elsewhere",
    Effect.succeed(
      HttpServerResponse.empty({ status: 302 }).pipe(
        HttpServerResponse.setHeader("location", "http://other.test/home"),
        HttpServerResponse.setHeader("set-cookie", "session=abc123; Path=/")
      )
    )
  ),
  HttpRouter.get(
    "/attrs",
    Effect.sync(() =>
      HttpServerResponse.empty().pipe(
        HttpServerResponse.unsafeSetCookies([
          ["sid", "hello world", { path: "/", httpOnly: true, secure: true, maxAge: "1 hour", sameSite: "lax" }],
          ["pref", "dark", { path: "/settings", domain: "example.com", expires: new Date(FUTURE) }]
        ])
      )
    )
  ),
  // A session cookie whose Domain names the very host that sets it (RFC 6265 §5.3 step 5).
  HttpRouter.get(
    "/login-host-domain",
    Effect.sync(() =>
      HttpServerResponse.empty({ status: 204 }).pipe(
        HttpServerResponse.unsafeSetCookies([["sid", "abc", { domain: "testserver", path: "/", httpOnly: true }]])
      )
    )
  ),
  // `?n=` cookies c0..c{n-1} on Path=/ in one response, then two that try to shadow a Secure `s`.
  HttpRouter.get(
    "/many",
    Effect.gen(function* () {
      const params = yield* HttpServerRequest.ParsedSearchParams
      const n = Number(params.n)
      const cookies = Array.from({ length: n }, (_, i) => [`c${i}`, String(i), { path: "/" }] as const)
      return HttpServerResponse.empty({ status: 204 }).pipe(
        HttpServerResponse.unsafeSetCookies([...cookies, ["s", "shadow", { path: "/" }]]),
        HttpServerResponse.setHeader("set-cookie", "s=shadow; Path=/deeper")
      )
    })
  ),
  HttpRouter.all("*", anyPath)
)

const TestApp = TestClient.layer(app)

/** Makes the app at `url` answer with one raw `Set-Cookie` line. */
const setFrom = (url: string, header: string) =>
  Effect.gen(function* () {
    const r = yield* TestClient.get(url, { params: { "set-cookie": header } })
    expect(r.status).toBe(204)
    // As a client reads it off the wire: Node's parser drops the spaces and tabs around a value.
    expect(r.setCookie).toEqual([header.replace(/^[\t ]+|[\t ]+$/g, "")])
  })

/** What the app receives as `Cookie` on a request to `url` ("" for no header), checked against `cookieHeader`. */
const sentTo = (url: string, options?: TestClient.RequestOptions) =>
  Effect.gen(function* () {
    const r = yield* TestClient.get(url, options)
    expect(r.status).toBe(200)
    const body = yield* r.text
    expect(r.headers["x-cookie-sent"]).toBe(body === "" ? "no" : "yes")
    return body
  })

// ---------------------------------------------------------------------------
// the table
// ---------------------------------------------------------------------------

const cases = cookieCases

// docs/behaviours.md#cookie-jar
describe("cookie jar rules (RFC 6265 / 6265bis)", () => {
  it("the table has at least 30 cases, with unique names", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30)
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length)
  })

  for (const c of cases) {
    it.scoped(c.name, () =>
      Effect.gen(function* () {
        for (const entry of c.set) {
          const [from, header] = typeof entry === "string" ? [c.from, entry] : entry
          yield* setFrom(from, header)
        }
        expect(yield* sentTo(c.to)).toBe(c.expected)
        expect(yield* TestClient.cookieHeader(c.to)).toBe(c.expected)
      }).pipe(Effect.provide(TestApp))
    )
  }
})

// ---------------------------------------------------------------------------
// cookies across requests and redirect hops (docs/behaviours.md#cookies)
// ---------------------------------------------------------------------------

/** A `Cookie` header as a sorted list of pairs, for checks that do not depend on order. */
const pairs = (header: string): ReadonlyArray<string> => (header === "" ? [] : header.split("; ").sort())

describe("cookies across requests and redirect hops", () => {
  // docs/behaviours.md#cookie-redirect-hop
  it.scoped("a Set-Cookie on a redirect hop is sent on the next hop", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/login")
      expect(r.status).toBe(200)
      expect(r.url).toBe("http://testserver/home")
      expect(yield* r.text).toBe("session=abc123")
      expect(r.history).toHaveLength(1)
      const [hop] = r.history
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

  // docs/behaviours.md#cookie-cross-host-hop
  it.scoped("a cookie set on a redirect hop is not sent to a next hop on another host", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/login-elsewhere")
      expect(r.url).toBe("http://other.test/home")
      expect(r.history.map((h) => h.status)).toEqual([302])
      expect(yield* r.text).toBe("")
      expect(yield* TestClient.cookieHeader("/")).toBe("session=abc123")
    }).pipe(Effect.provide(TestApp))
  )

  // docs/behaviours.md#cookie-multiple-set-cookie
  it.scoped("several Set-Cookie headers in one response are all stored", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/multi")
      expect(r.setCookie).toHaveLength(3)
      expect(r.setCookie.map((line) => line.slice(0, line.indexOf(";")))).toEqual(["a=1", "b=2", "c=3"])
      expect(yield* sentTo("/echo")).toBe("a=1; b=2; c=3")
      const jar = yield* TestClient.cookies
      expect(Cookies.toRecord(jar)).toEqual({ a: "1", b: "2", c: "3" })
    }).pipe(Effect.provide(TestApp))
  )

  // docs/behaviours.md#cookie-deletion
  it.scoped("Max-Age=0 or an Expires in the past deletes the cookie", () =>
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

  // docs/behaviours.md#cookie-domain-path
  it.scoped("a cookie for another domain is rejected; a Path=/a cookie is not sent to /b", () =>
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

  // docs/behaviours.md#cookie-per-request
  it.scoped("per-call cookies override the jar for that call only", () =>
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

// docs/behaviours.md#cookie-malformed
describe("control characters in Set-Cookie", () => {
  // In process only: over a socket platform-node's 500 goes out with no framing after Node
  // refused the 204's headers (Node already took it for bodyless), so on a kept-alive
  // connection its body never ends and a client waits until the server closes it.
  const InProcessApp = TestClient.layer(app, { transport: "in-process" })

  it.scoped("control characters: a Set-Cookie holding one never reaches the jar, and nothing crashes", () =>
    Effect.gen(function* () {
      yield* setFrom("/", "a=1; Path=/")
      // Node refuses to write such a header (ERR_INVALID_CHAR), so the app fails as in production.
      const error = yield* Effect.flip(TestClient.get("/", { params: { "set-cookie": "b=x\u0001y" } }))
      expect(error).toBeInstanceOf(TestClient.ServerError)
      expect(yield* sentTo("/echo")).toBe("a=1")
    }).pipe(Effect.provide(InProcessApp))
  )

  it.scoped("control characters: with serverErrors respond, the 500 carries no cookie", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/", { params: { "set-cookie": "b=x\u0001y" } })
      expect(r.status).toBe(500)
      expect(r.setCookie).toEqual([])
      expect(yield* TestClient.cookieHeader()).toBe("")
    }).pipe(Effect.provide(TestClient.layer(app, { serverErrors: "respond", transport: "in-process" })))
  )
})

// ---------------------------------------------------------------------------
// RFC 6265 §5.3 step 5: Domain equal to the request host
// ---------------------------------------------------------------------------

// docs/behaviours.md#cookie-domain-equals-host
describe("a Domain attribute equal to the request host (RFC 6265 §5.3 step 5)", () => {
  it.scoped("Domain=testserver from http://testserver is stored host-only: sent back there, not to subdomains", () =>
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

  it.scoped("a subdomain of testserver cannot set Domain=testserver (a public suffix it is not identical to)", () =>
    Effect.gen(function* () {
      yield* setFrom("http://api.testserver/", "sid=abc; Domain=testserver; Path=/")
      expect(yield* sentTo("http://api.testserver/")).toBe("")
      expect(yield* sentTo("/")).toBe("")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("setCookie with domain equal to the baseUrl host stores it host-only", () =>
    Effect.gen(function* () {
      yield* TestClient.setCookie("theme", "dark", { domain: "testserver" })
      expect(yield* sentTo("/")).toBe("theme=dark")
      expect(yield* sentTo("http://www.testserver/")).toBe("")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("__Host- cookies keep their rule: a Domain attribute, even the host's own, is refused", () =>
    Effect.gen(function* () {
      yield* setFrom("http://localhost/", "__Host-id=1; Secure; Path=/; Domain=localhost")
      yield* setFrom("https://intranet/", "__Host-id=2; Secure; Path=/; Domain=intranet")
      expect(yield* sentTo("http://localhost/")).toBe("")
      expect(yield* sentTo("https://intranet/")).toBe("")
    }).pipe(Effect.provide(TestApp))
  )
})

// ---------------------------------------------------------------------------
// many cookies with a Secure cookie present
// ---------------------------------------------------------------------------

/**
 * Runs `effect` while counting the cookies the jar's store hands out in bulk (`getAllCookies`,
 * `findCookies`): the work of walking the jar. Storing one cookie needs no walk at all; a jar
 * that walks (or serialises) all of itself per `Set-Cookie` hands out O(n²) cookies for n.
 */
const countWalked = <A, E, R>(effect: Effect.Effect<A, E, R>) => {
  type Method = (this: unknown, ...args: Array<unknown>) => unknown
  const proto = MemoryCookieStore.prototype as unknown as Record<"getAllCookies" | "findCookies", Method>
  const originals = { getAllCookies: proto.getAllCookies, findCookies: proto.findCookies }
  let walked = 0
  const tally = (cookies: unknown) => {
    if (Array.isArray(cookies)) walked += cookies.length
  }
  const wrap = (original: Method): Method =>
    function (...args) {
      const last = args[args.length - 1]
      if (typeof last === "function") {
        args[args.length - 1] = (error: unknown, cookies: unknown) => {
          tally(cookies)
          return (last as (error: unknown, cookies: unknown) => unknown)(error, cookies)
        }
        return original.apply(this, args)
      }
      const result = original.apply(this, args)
      return result instanceof Promise
        ? result.then((cookies) => {
            tally(cookies)
            return cookies
          })
        : result
    }
  return Effect.acquireUseRelease(
    Effect.sync(() => {
      proto.getAllCookies = wrap(originals.getAllCookies)
      proto.findCookies = wrap(originals.findCookies)
    }),
    () => Effect.map(effect, (result) => ({ result, walked })),
    () =>
      Effect.sync(() => {
        proto.getAllCookies = originals.getAllCookies
        proto.findCookies = originals.findCookies
      })
  )
}

// docs/behaviours.md#cookie-jar-scales
describe("many cookies with a Secure cookie present", () => {
  // 1,000 keeps the jar's Cookie header (~11 KB) under Node's 16 KiB header limit, past which
  // the request would be refused with 431 before reaching the app.
  const n = 1000

  it.scoped(
    "one response with 1,000 Set-Cookie over plain http stores them all without walking the jar per cookie",
    () =>
      Effect.gen(function* () {
        // http://localhost is a secure context: the Secure cookie is stored, and the jar must then
        // check every plain-http cookie against it ("leave secure cookies alone").
        yield* setFrom("/", "s=1; Secure; Path=/")
        expect(yield* sentTo("/")).toBe("s=1")

        const { result: r, walked } = yield* countWalked(TestClient.get("/many", { params: { n } }))
        expect(r.status).toBe(204)
        expect(r.setCookie).toHaveLength(n + 2)
        // Structural: storing n cookies walks fewer than n cookies in all (the request's own
        // Cookie header walks the one cookie there was); the per-cookie walk handed out ~n²/2.
        expect(walked).toBeLessThan(n)

        // Correct: all n stored, in creation order after `s`; neither shadowing `s` got in.
        const expected = ["s=1", ...Array.from({ length: n }, (_, i) => `c${i}=${i}`)].join("; ")
        expect(yield* TestClient.cookieHeader("/")).toBe(expected)
        expect(yield* TestClient.cookieHeader("/deeper")).toBe(expected)
        expect(yield* sentTo("/")).toBe(expected)
        const record = Cookies.toRecord(yield* TestClient.cookies)
        expect(Object.keys(record)).toHaveLength(n + 1)
        expect(record.s).toBe("1")
        expect(record[`c${n - 1}`]).toBe(String(n - 1))

        // Storing again replaces, still without walking the jar per cookie.
        const again = yield* countWalked(TestClient.get("/many", { params: { n } }))
        expect(again.walked).toBeLessThanOrEqual(n + 1)
        expect(yield* TestClient.cookieHeader("/")).toBe(expected)
      }).pipe(Effect.provide(TestClient.layer(app, { baseUrl: "http://localhost" })))
  )

  it.scoped("the Secure cookie stops guarding its name once it is cleared, deleted or replaced", () =>
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
    }).pipe(Effect.provide(TestClient.layer(app, { baseUrl: "http://localhost" })))
  )
})

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

// docs/behaviours.md#cookie-helpers
describe("cookie helpers", () => {
  it.scoped("the client option cookies seeds the jar for the baseUrl host, on every path", () =>
    Effect.gen(function* () {
      expect(yield* TestClient.cookieHeader()).toBe("token=abc; note=hello%20world")
      expect(yield* sentTo("/echo")).toBe("token=abc; note=hello%20world")
      expect(yield* sentTo("http://api.example.com/elsewhere")).toBe("token=abc; note=hello%20world")
      expect(yield* sentTo("http://www.example.com/")).toBe("")
      expect(Cookies.toRecord(yield* TestClient.cookies)).toEqual({ token: "abc", note: "hello world" })
    }).pipe(
      Effect.provide(
        TestClient.layer(app, { baseUrl: "http://api.example.com/v1", cookies: { token: "abc", note: "hello world" } })
      )
    )
  )

  it.scoped("setCookie honours path, domain and secure", () =>
    Effect.gen(function* () {
      yield* TestClient.setCookie("p", "1", { path: "/admin" })
      expect(yield* TestClient.cookieHeader("/admin/users")).toBe("p=1")
      expect(yield* TestClient.cookieHeader("/")).toBe("")

      yield* TestClient.setCookie("d", "2", { domain: "example.com" })
      expect(yield* TestClient.cookieHeader("http://api.example.com/")).toBe("d=2")
      expect(yield* TestClient.cookieHeader("http://example.org/")).toBe("")

      yield* TestClient.setCookie("s", "3", { secure: true, url: "https://app.example.com/" })
      expect(yield* TestClient.cookieHeader("https://app.example.com/")).toBe("d=2; s=3")
      expect(yield* TestClient.cookieHeader("http://app.example.com/")).toBe("d=2")

      // The app receives them; the longer path comes first.
      expect(yield* sentTo("/admin/x")).toBe("p=1; d=2")
      expect(yield* sentTo("https://app.example.com/admin/x")).toBe("p=1; d=2; s=3")
    }).pipe(Effect.provide(TestClient.layer(app, { baseUrl: "http://app.example.com" })))
  )

  it.scoped("setCookie with a maxAge, expires or httpOnly stores them; maxAge 0 stores nothing", () =>
    Effect.gen(function* () {
      yield* TestClient.setCookie("m", "1", { maxAge: "1 hour", httpOnly: true })
      yield* TestClient.setCookie("e", "2", { expires: new Date(FUTURE) })
      yield* TestClient.setCookie("z", "3", { maxAge: 0 })
      const jar = yield* TestClient.cookies
      expect(Cookies.toRecord(jar)).toEqual({ m: "1", e: "2" })
      const m = Option.getOrThrow(Cookies.get(jar, "m"))
      expect(m.options?.httpOnly).toBe(true)
      expect(Duration.toSeconds(Duration.decode(m.options?.maxAge ?? 0))).toBe(3600)
      const e = Option.getOrThrow(Cookies.get(jar, "e"))
      expect(e.options?.expires?.getTime()).toBe(new Date(FUTURE).getTime())
      expect(yield* sentTo("/")).toBe("m=1; e=2")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("setCookie fails with InvalidRequest for a name that is not a token; the jar is unchanged", () =>
    Effect.gen(function* () {
      for (const name of ["bad name", "a;b", "a=b", "", "é"]) {
        const error = yield* Effect.flip(TestClient.setCookie(name, "1"))
        expect(error).toBeInstanceOf(TestClient.InvalidRequest)
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain(JSON.stringify(name))
      }
      expect(yield* TestClient.cookieHeader()).toBe("")
      expect(Cookies.isEmpty(yield* TestClient.cookies)).toBe(true)
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("setCookie fails with InvalidRequest when the jar refuses the cookie for its URL", () =>
    Effect.gen(function* () {
      // A Secure cookie "from" plain http, and a Domain unrelated to the URL.
      const secure = yield* Effect.flip(TestClient.setCookie("s", "1", { secure: true }))
      expect(secure).toBeInstanceOf(TestClient.InvalidRequest)
      const foreign = yield* Effect.flip(TestClient.setCookie("f", "1", { domain: "example.com" }))
      expect(foreign).toBeInstanceOf(TestClient.InvalidRequest)
      expect(yield* TestClient.cookieHeader("https://testserver/")).toBe("")
      expect(yield* TestClient.cookieHeader("http://example.com/")).toBe("")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("cookies returns the baseUrl host's cookies, any path, with decoded values and attributes", () =>
    Effect.gen(function* () {
      yield* TestClient.get("/attrs")
      yield* setFrom("http://other.org/", "elsewhere=1; Path=/")
      yield* setFrom("/deep/page", "deep=1")
      const jar = yield* TestClient.cookies
      expect(Object.keys(jar.cookies).sort()).toEqual(["deep", "pref", "sid"])

      const sid = Option.getOrThrow(Cookies.get(jar, "sid"))
      expect(sid.value).toBe("hello world")
      expect(sid.options?.path).toBe("/")
      expect(sid.options?.domain).toBeUndefined()
      expect(sid.options?.httpOnly).toBe(true)
      expect(sid.options?.secure).toBe(true)
      expect(sid.options?.sameSite).toBe("lax")
      expect(Duration.toSeconds(Duration.decode(sid.options?.maxAge ?? 0))).toBe(3600)

      const pref = Option.getOrThrow(Cookies.get(jar, "pref"))
      expect(pref.value).toBe("dark")
      expect(pref.options?.domain).toBe("example.com")
      expect(pref.options?.path).toBe("/settings")
      expect(pref.options?.expires?.getTime()).toBe(new Date(FUTURE).getTime())
      expect(pref.options?.httpOnly).toBeUndefined()

      const deep = Option.getOrThrow(Cookies.get(jar, "deep"))
      expect(deep.options?.path).toBe("/deep")
    }).pipe(Effect.provide(TestClient.layer(app, { baseUrl: "https://app.example.com" })))
  )

  it.scoped("cookieHeader: default baseUrl, a relative URL joined to the baseUrl, an absolute URL", () =>
    Effect.gen(function* () {
      yield* setFrom("/", "root=1; Path=/")
      yield* setFrom("/", "api=1; Path=/api/admin")
      yield* setFrom("http://other.test/", "other=1")
      expect(yield* TestClient.cookieHeader()).toBe("root=1")
      // baseUrl has the /api path prefix: "admin/x" is /api/admin/x.
      expect(yield* TestClient.cookieHeader("admin/x")).toBe("api=1; root=1")
      expect(yield* TestClient.cookieHeader("/admin")).toBe("api=1; root=1")
      expect(yield* TestClient.cookieHeader("http://testserver/admin")).toBe("root=1")
      expect(yield* TestClient.cookieHeader("http://other.test/")).toBe("other=1")
      expect(yield* sentTo("/admin/x")).toBe("api=1; root=1")
    }).pipe(Effect.provide(TestClient.layer(app, { baseUrl: "http://testserver/api" })))
  )

  it.scoped("clearCookies(name) removes that name on every domain and path; clearCookies() removes all", () =>
    Effect.gen(function* () {
      yield* setFrom("/", "a=1; Path=/")
      yield* setFrom("/", "a=2; Path=/x")
      yield* setFrom("http://other.test/", "a=3")
      yield* setFrom("/", "b=1; Path=/")
      yield* setFrom("http://other.test/", "b=2")
      expect(yield* sentTo("/x/y")).toBe("a=2; a=1; b=1")

      yield* TestClient.clearCookies("a")
      expect(yield* sentTo("/x/y")).toBe("b=1")
      expect(yield* sentTo("http://other.test/")).toBe("b=2")
      expect(Cookies.toRecord(yield* TestClient.cookies)).toEqual({ b: "1" })

      yield* TestClient.clearCookies()
      expect(yield* sentTo("/x/y")).toBe("")
      expect(yield* sentTo("http://other.test/")).toBe("")
      expect(Cookies.isEmpty(yield* TestClient.cookies)).toBe(true)

      // The jar still works after clearing.
      yield* setFrom("/", "c=1")
      expect(yield* sentTo("/")).toBe("c=1")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("clearCookies also drops cookies seeded by the client option", () =>
    Effect.gen(function* () {
      expect(yield* sentTo("/")).toBe("seed=1; other=2")
      yield* TestClient.clearCookies("seed")
      expect(yield* sentTo("/")).toBe("other=2")
    }).pipe(Effect.provide(TestClient.layer(app, { cookies: { seed: "1", other: "2" } })))
  )
})
