/**
 * The redirect rules run directly on the shared redirect tables. The editions run the same
 * tables through their clients.
 */
import { describe, expect, it } from "vitest"
import { type Hop, isRedirect, nextHop } from "../src/index.js"
import {
  credentialCases,
  fetchRedirectMethodCases,
  followedStatuses,
  locationBase,
  locationCases,
  redirectMethodCases,
  unfollowedStatuses
} from "../src/scenarios/index.js"

type Body = { readonly _tag: "Text"; readonly text: string } | { readonly _tag: "Empty" } | { readonly _tag: "Stream" }

const hop = (method: string, url: string, body: Body, headerLines: ReadonlyArray<readonly [string, string]> = []) =>
  ({ method, url: new URL(url), headerLines, body }) satisfies Hop<Body>

const withBody = (method: string) => method === "POST" || method === "PUT" || method === "DELETE"
const bodyLines = [
  ["content-type", "text/plain;charset=UTF-8"],
  ["content-length", "7"]
] as const

describe("the redirect tables, through nextHop", () => {
  it("the method table covers every followed status after every method", () => {
    expect(redirectMethodCases.map((c) => `${c.status} ${c.method}`)).toEqual(
      followedStatuses.flatMap((status) => ["GET", "HEAD", "POST", "PUT", "DELETE"].map((m) => `${status} ${m}`))
    )
  })

  for (const [rewrite, cases] of [
    ["any", redirectMethodCases],
    ["fetch", fetchRedirectMethodCases]
  ] as const) {
    for (const { status, method, followUp, keepsBody } of cases) {
      it(`${rewrite === "fetch" ? "as fetch: " : ""}${status} after ${method} -> ${followUp}${keepsBody ? " with the body" : ""}`, () => {
        const sent = withBody(method)
        const next = nextHop(
          hop(method, "http://testserver/from", sent ? { _tag: "Text", text: "payload" } : { _tag: "Empty" }, [
            ["accept", "*/*"],
            ...(sent ? bodyLines : [])
          ]),
          status,
          "/target",
          rewrite
        )
        expect(next).toEqual({
          method: followUp,
          url: new URL("http://testserver/target"),
          headerLines: [["accept", "*/*"], ...(keepsBody ? bodyLines : [])],
          body: keepsBody ? { _tag: "Text", text: "payload" } : { _tag: "Empty" }
        })
      })
    }
  }

  for (const { name, location, to } of locationCases) {
    it(`Location, ${name}: ${JSON.stringify(location)} -> ${to ?? "not followed"}`, () => {
      const from = `${locationBase}?to=${encodeURIComponent(location)}`
      const next = nextHop(hop("GET", from, { _tag: "Empty" }), 302, location)
      if (to === undefined) expect(next).toBeUndefined()
      else expect(next !== undefined && "url" in next ? next.url.href : next).toBe(to)
    })
  }

  for (const { name, status, location, kept } of credentialCases) {
    it(`credentials, ${name}: ${kept ? "kept" : "dropped"}`, () => {
      const credentials = [
        ["authorization", "Bearer secret"],
        ["proxy-authorization", "Basic cHJveHk6c2VjcmV0"],
        ["cookie", "explicit=1"]
      ] as const
      const next = nextHop(
        hop("POST", "http://testserver/redirect", { _tag: "Text", text: "x" }, [["x-other", "stays"], ...credentials]),
        status,
        location
      )
      expect(next !== undefined && "headerLines" in next ? next.headerLines.map(([name]) => name) : next).toEqual(
        kept ? ["x-other", "authorization", "proxy-authorization", "cookie"] : ["x-other"]
      )
    })
  }
})

describe("nextHop", () => {
  it("follows only 301/302/303/307/308, and only with a Location", () => {
    for (const status of followedStatuses) expect(isRedirect(status)).toBe(true)
    for (const status of [...unfollowedStatuses, 200, 201, 400]) {
      expect(isRedirect(status)).toBe(false)
      expect(nextHop(hop("GET", "http://testserver/", { _tag: "Empty" }), status, "/target")).toBeUndefined()
    }
    expect(nextHop(hop("GET", "http://testserver/", { _tag: "Empty" }), 302, undefined)).toBeUndefined()
  })

  it("a 307/308 that must resend a Stream body is a problem that says what to do; a 303 is not", () => {
    for (const status of [307, 308]) {
      const next = nextHop(hop("POST", "http://testserver/", { _tag: "Stream" }), status, "/target")
      expect(next).toEqual({ problem: expect.stringContaining("a Stream body can only be sent once") })
      expect(next !== undefined && "problem" in next && next.problem).toContain("followRedirects: false")
    }
    expect(nextHop(hop("POST", "http://testserver/", { _tag: "Stream" }), 303, "/target")).toMatchObject({
      method: "GET",
      body: { _tag: "Empty" }
    })
  })
})
