/**
 * The jar's own API: `TestClient.setCookie` (as if the app had set the cookie, every
 * attribute checked), `TestClient.cookies` (the base URL's cookies as platform `Cookies`, with
 * their attributes), `TestClient.clearCookies`, and the client option `cookies`, which seeds
 * the jar. What the app receives is read back from the app itself.
 */
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Duration, Effect, Layer, Option } from "effect"
import { Cookies, HttpRouter, HttpServerResponse } from "effect/http"

const FUTURE = "Wed, 01 Jan 2098 00:00:00 GMT"

const app = Layer.mergeAll(
  // What the app receives as Cookie.
  HttpRouter.add("*", "*", (request) =>
    Effect.succeed(
      request.url.startsWith("/set")
        ? HttpServerResponse.empty({
            status: 204,
            headers: { "set-cookie": new URL(request.url, "http://x").searchParams.get("set-cookie") ?? "" }
          })
        : HttpServerResponse.text(request.headers.cookie ?? "")
    )
  )
)

const TestApp = TestClient.layer(app)

/** Makes the app at `url` answer with one raw Set-Cookie line. */
const setFrom = (url: string, header: string) =>
  Effect.gen(function* () {
    const target = new URL(url, "http://testserver")
    target.pathname = `/set${target.pathname === "/" ? "" : target.pathname}`
    const r = yield* TestClient.get(url.startsWith("http") ? target.href : `${target.pathname}`, {
      params: { "set-cookie": header }
    })
    expect(r.status).toBe(204)
  })

/** What the app receives as Cookie on a request to `url`, checked against cookieHeader. */
const sentTo = (url: string) =>
  Effect.gen(function* () {
    const received = yield* Effect.flatMap(TestClient.get(url), (r) => r.text)
    expect(yield* TestClient.cookieHeader(url)).toBe(received)
    return received
  })

describe("the jar's API", () => {
  it.effect("the client option cookies seeds the jar for the base URL's host, on every path", () =>
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

  it.effect("setCookie honours path, domain and secure", () =>
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

  it.effect("setCookie with domain equal to the base URL's host stores it host-only", () =>
    Effect.gen(function* () {
      yield* TestClient.setCookie("theme", "dark", { domain: "testserver" })
      expect(yield* sentTo("/")).toBe("theme=dark")
      expect(yield* sentTo("http://www.testserver/")).toBe("")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("setCookie with a maxAge, expires or httpOnly stores them; maxAge 0 stores nothing", () =>
    Effect.gen(function* () {
      yield* TestClient.setCookie("m", "1", { maxAge: "1 hour", httpOnly: true })
      yield* TestClient.setCookie("e", "2", { expires: new Date(FUTURE) })
      yield* TestClient.setCookie("z", "3", { maxAge: 0 })
      const jar = yield* TestClient.cookies
      expect(Cookies.toRecord(jar)).toEqual({ m: "1", e: "2" })
      const m = Option.getOrThrow(Cookies.get(jar, "m"))
      expect(m.options?.httpOnly).toBe(true)
      expect(Duration.toSeconds(Duration.fromInputUnsafe(m.options?.maxAge ?? 0))).toBe(3600)
      const e = Option.getOrThrow(Cookies.get(jar, "e"))
      expect(e.options?.expires?.getTime()).toBe(new Date(FUTURE).getTime())
      expect(yield* sentTo("/")).toBe("m=1; e=2")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("setCookie fails with InvalidRequest for bad input, saying what to fix; the jar is unchanged", () =>
    Effect.gen(function* () {
      const refused = [
        [TestClient.setCookie("bad name", "1"), '"bad name"'],
        [TestClient.setCookie("a;b", "1"), '"a;b"'],
        [TestClient.setCookie("", "1"), '""'],
        [TestClient.setCookie("p", "1", { path: "admin" }), 'must start with "/"'],
        [TestClient.setCookie("p", "1", { path: "/; Secure" }), 'contains ";"'],
        [TestClient.setCookie("x", "1", { expires: new Date("nope") }), "expires must be a valid Date"],
        [TestClient.setCookie("x", "1", { maxAge: "1.5 seconds" }), "not a whole number of seconds"],
        [TestClient.setCookie("x", "1", { maxAge: Duration.infinity }), "maxAge is infinite"],
        [TestClient.setCookie("x", "1", { sameSite: "loose" as never }), 'sameSite must be "lax", "strict" or "none"'],
        [TestClient.setCookie("x", "1", { url: "ftp://testserver/" }), "unsupported url scheme ftp:"],
        [TestClient.setCookie("x", "1", { paht: "/" } as never), "paht"]
      ] as const
      for (const [attempt, reason] of refused) {
        const error = yield* Effect.flip(attempt)
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain(reason)
      }
      expect(yield* TestClient.cookieHeader()).toBe("")
      expect(Cookies.isEmpty(yield* TestClient.cookies)).toBe(true)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("setCookie fails with InvalidRequest when the jar refuses the cookie for its URL", () =>
    Effect.gen(function* () {
      // A Secure cookie "from" plain http, and a Domain unrelated to the URL.
      const secure = yield* Effect.flip(TestClient.setCookie("s", "1", { secure: true }))
      expect(secure._tag).toBe("InvalidRequest")
      const foreign = yield* Effect.flip(TestClient.setCookie("f", "1", { domain: "example.com" }))
      expect(foreign._tag).toBe("InvalidRequest")
      expect(foreign.message).toContain("the jar refused cookie")
      expect(yield* TestClient.cookieHeader("https://testserver/")).toBe("")
      expect(yield* TestClient.cookieHeader("http://example.com/")).toBe("")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("cookies returns the base URL's host cookies, any path, with decoded values and attributes", () =>
    Effect.gen(function* () {
      yield* setFrom("/", `sid=hello%20world; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=3600`)
      yield* setFrom("/", `pref=dark; Domain=example.com; Path=/settings; Expires=${FUTURE}`)
      yield* setFrom("http://other.org/", "elsewhere=1; Path=/")
      const jar = yield* TestClient.cookies
      expect(Object.keys(jar.cookies).sort()).toEqual(["pref", "sid"])
      const sid = Option.getOrThrow(Cookies.get(jar, "sid"))
      expect(sid.value).toBe("hello world")
      expect(sid.options).toMatchObject({ path: "/", httpOnly: true, secure: true, sameSite: "lax" })
      expect(sid.options?.domain).toBeUndefined()
      expect(Duration.toSeconds(Duration.fromInputUnsafe(sid.options?.maxAge ?? 0))).toBe(3600)
      const pref = Option.getOrThrow(Cookies.get(jar, "pref"))
      expect(pref.options).toMatchObject({ domain: "example.com", path: "/settings" })
      expect(pref.options?.expires?.getTime()).toBe(new Date(FUTURE).getTime())
    }).pipe(Effect.provide(TestClient.layer(app, { baseUrl: "https://app.example.com" })))
  )

  it.effect("clearCookies(name) removes that name on every domain and path; clearCookies() removes all", () =>
    Effect.gen(function* () {
      yield* setFrom("/", "a=1; Path=/")
      yield* setFrom("/x", "a=2; Path=/x")
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

  it.effect("clearCookies also drops cookies seeded by the client option; a call's cookies replace the jar's", () =>
    Effect.gen(function* () {
      expect(yield* sentTo("/")).toBe("seed=1; other=2")
      const replaced = yield* Effect.flatMap(TestClient.get("/", { cookies: { seed: "9" } }), (r) => r.text)
      expect(replaced).toBe("other=2; seed=9")
      yield* TestClient.clearCookies("seed")
      expect(yield* sentTo("/")).toBe("other=2")
    }).pipe(Effect.provide(TestClient.layer(app, { cookies: { seed: "1", other: "2" } })))
  )
})
