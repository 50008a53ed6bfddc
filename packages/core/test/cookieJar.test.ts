/**
 * The cookie jar run directly on the shared cookie table, and the rules for cookies a test
 * gives. The editions run the same table through their clients.
 */
import { describe, expect, it } from "vitest"
import { cookieHeader, cookieValueProblem, encodeCookieValue, Jar, validateCookies } from "../src/index.js"
import { cookieCases, FUTURE, PAST } from "../src/scenarios/index.js"

describe("the cookie table, through the jar", () => {
  it("has at least 30 cases, with unique names", () => {
    expect(cookieCases.length).toBeGreaterThanOrEqual(30)
    expect(new Set(cookieCases.map((c) => c.name)).size).toBe(cookieCases.length)
  })

  for (const c of cookieCases) {
    it(c.name, () => {
      const jar = new Jar()
      for (const entry of c.set) {
        const [from, header] = typeof entry === "string" ? [c.from, entry] : entry
        jar.store([header], from)
      }
      expect(jar.header(c.to)).toBe(c.expected)
    })
  }
})

describe("Jar", () => {
  it("lists a host's cookies on every path, values decoded, with their attributes", () => {
    const jar = new Jar()
    jar.store(
      [
        "session=a%20b; Path=/; HttpOnly; SameSite=Lax",
        `pref=dark; Path=/settings; Domain=example.com; Expires=${FUTURE}; Secure`
      ],
      "https://example.com/login"
    )
    expect(jar.cookies("https://example.com/")).toEqual([
      { name: "session", value: "a b", path: "/", secure: false, httpOnly: true, sameSite: "lax" },
      {
        name: "pref",
        value: "dark",
        domain: "example.com",
        path: "/settings",
        expires: new Date(FUTURE),
        secure: true,
        httpOnly: false
      }
    ])
    // Secure cookies are not sent over plain http; a path-scoped one only under its path.
    expect(jar.header("http://example.com/")).toBe("session=a%20b")
    expect(jar.header("https://example.com/settings/x")).toBe("pref=dark; session=a%20b")
  })

  it("a past Expires deletes; clear(name) removes one name; clear() empties the jar", () => {
    const jar = new Jar()
    jar.store(["a=1", "b=2", "c=3"], "http://testserver/")
    jar.store([`a=gone; Expires=${PAST}`], "http://testserver/")
    expect(jar.header("http://testserver/")).toBe("b=2; c=3")
    jar.clear("b")
    expect(jar.header("http://testserver/")).toBe("c=3")
    jar.clear()
    expect(jar.header("http://testserver/")).toBe("")
    expect(jar.cookies("http://testserver/")).toEqual([])
  })

  it("set stores as if the URL had set it, and says why it refuses", () => {
    const jar = new Jar()
    expect(jar.set("token=xyz; Path=/api", "http://testserver/")).toBeUndefined()
    expect(jar.header("http://testserver/api/items")).toBe("token=xyz")
    expect(jar.header("http://testserver/")).toBe("")
    expect(jar.set("", "http://testserver/")).toBe('cannot parse cookie ""')
    expect(jar.set("x=1; Domain=other.example", "http://testserver/")).toMatch(/domain/i)
    expect(jar.header("http://testserver/api")).toBe("token=xyz")
  })
})

describe("cookies a test gives", () => {
  it("validateCookies takes a record of strings and names what is wrong otherwise", () => {
    expect(validateCookies({ session: "abc", theme: "dark mode" })).toBeUndefined()
    expect(validateCookies(["a=1"])).toContain("cookies must be a record of name to string value")
    expect(validateCookies(null)).toContain("got null")
    expect(validateCookies({ "bad name": "x" })).toBe(
      'invalid cookie name "bad name": only token characters are allowed'
    )
    expect(validateCookies({ n: 1 })).toBe('cookie "n" must have a string value, got 1')
    expect(validateCookies({ n: "a\nb" })).toContain("control character")
  })

  it("a control character is refused; other characters are percent-encoded on the way", () => {
    expect(cookieValueProblem("sid", "a\u0000b")).toContain('cookie "sid" contains a control character')
    expect(cookieValueProblem("sid", "tab\tis fine")).toBeUndefined()
    expect(encodeCookieValue("plain-token_1")).toBe("plain-token_1")
    expect(encodeCookieValue("a b;c")).toBe("a%20b%3Bc")
  })

  it("cookieHeader lets a call's cookies replace the jar's of the same name", () => {
    expect(cookieHeader("a=1; b=2", undefined)).toBe("a=1; b=2")
    expect(cookieHeader("a=1; b=2", { b: "x y", c: "3" })).toBe("a=1; b=x%20y; c=3")
    expect(cookieHeader("", { only: "1" })).toBe("only=1")
  })
})
