import * as Cookies from "@effect/platform/Cookies"
import {
  booleanProblem,
  cookieValueProblem,
  describe,
  encodeCookieValue,
  isOptionBag,
  type JarCookie,
  tokenRe,
  unknownKeys
} from "@effect-http-testkit/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { CookieOptions } from "../Client.js"
import { type Config, decodeDuration } from "./config.js"
import { InvalidRequest } from "./errors.js"
import { resolveUrl } from "./prepare.js"

// The jar and the value rules are Effect-free, in core/cookieJar.ts (shared by every
// edition); this module adds what needs Effect and the platform: platform `Cookies`, the
// client's URLs and errors.

/** The jar's cookies as platform `Cookies` (what `TestClient.cookies` gives). @internal */
export const platformCookies = (list: ReadonlyArray<JarCookie>): Cookies.Cookies =>
  Cookies.fromIterable(
    list.flatMap((cookie) => {
      const options: {
        domain?: string
        path?: string
        expires?: Date
        maxAge?: Duration.DurationInput
        secure?: boolean
        httpOnly?: boolean
        sameSite?: "lax" | "strict" | "none"
      } = {}
      if (cookie.domain !== undefined) options.domain = cookie.domain
      if (cookie.path !== undefined) options.path = cookie.path
      if (cookie.expires !== undefined) options.expires = cookie.expires
      if (cookie.maxAgeSeconds !== undefined) options.maxAge = Duration.seconds(cookie.maxAgeSeconds)
      if (cookie.secure) options.secure = true
      if (cookie.httpOnly) options.httpOnly = true
      if (cookie.sameSite !== undefined) options.sameSite = cookie.sameSite
      return Option.toArray(Option.getRight(Cookies.makeCookie(cookie.name, cookie.value, options)))
    })
  )

// ---------------------------------------------------------------------------
// the cookie jar's inputs
// ---------------------------------------------------------------------------

/**
 * The absolute URL a jar operation is about: `baseUrl` by default, a relative URL joined to
 * it as request URLs are, an absolute one as it is (http or https only).
 *
 * @internal
 */
export const jarUrl = (config: Config, url: unknown): { readonly url: string } | { readonly problem: string } => {
  if (url === undefined) return { url: config.baseUrl }
  if (typeof url !== "string") return { problem: `url must be a string such as "/admin", got ${describe(url)}` }
  try {
    const resolved = resolveUrl(config, url)
    if (resolved.protocol !== "http:" && resolved.protocol !== "https:") {
      return { problem: `unsupported url scheme ${resolved.protocol} in ${describe(url)}: use http or https` }
    }
    return { url: resolved.href }
  } catch {
    return { problem: `invalid url ${describe(url)}: give a path such as "/admin" or an absolute http(s) URL` }
  }
}

const cookieOptionNames = ["url", "domain", "path", "expires", "maxAge", "secure", "httpOnly", "sameSite"]
const cookiePathRe = /^[\x20-\x3a\x3c-\x7e]*$/
const cookieDomainRe = /^\.?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$/

/**
 * The `Set-Cookie` line `TestClient.setCookie` stores, and the URL it is stored from; or
 * what is wrong with the input. Every attribute is checked: a `;` or CR/LF in a path or
 * domain would start another attribute (`path: "/; Secure"`), a `maxAge` that is not a
 * Duration would throw, an Invalid Date would serialise as `Expires=Invalid Date`. Platform's
 * `Cookies.makeCookie` is not used: it throws on such a `maxAge`, takes an Invalid Date and
 * a path without a leading `/`, and percent-encodes every value, where the jar keeps values
 * as the kit sends them in a `Cookie` header (`encodeCookieValue`).
 *
 * @internal
 */
export const cookieToSet = (
  config: Config,
  name: unknown,
  value: unknown,
  rawOptions: unknown
): { readonly url: string; readonly header: string } | { readonly url: string; readonly problem: string } => {
  const options = (rawOptions ?? {}) as CookieOptions
  const target = isOptionBag(rawOptions) ? jarUrl(config, (rawOptions as CookieOptions).url) : { url: config.baseUrl }
  if ("problem" in target) return { url: config.baseUrl, problem: target.problem }
  const url = target.url
  const fail = (problem: string) => ({ url, problem })
  if (rawOptions !== undefined && !isOptionBag(rawOptions)) {
    return fail(`setCookie options must be an object such as { path: "/" }, got ${describe(rawOptions)}`)
  }
  const unknown = unknownKeys(options as Readonly<Record<string, unknown>>, cookieOptionNames, "option")
  if (unknown !== undefined) return fail(unknown)
  if (typeof name !== "string" || !tokenRe.test(name)) {
    return fail(`invalid cookie name ${describe(name)}: only token characters are allowed`)
  }
  if (typeof value !== "string")
    return fail(`cookie ${describe(name)} must have a string value, got ${describe(value)}`)
  const valueProblem = cookieValueProblem(name, value)
  if (valueProblem !== undefined) return fail(valueProblem)

  const parts = [`${name}=${encodeCookieValue(value)}`]
  const path = options.path ?? "/"
  if (typeof path !== "string") return fail(`path must be a string such as "/admin", got ${describe(path)}`)
  if (!path.startsWith("/")) {
    return fail(`path ${describe(path)} must start with "/" (a browser would silently use the URL's directory instead)`)
  }
  if (path.includes(";")) {
    return fail(`path ${describe(path)} contains ";", which would end the path and start another attribute`)
  }
  if (!cookiePathRe.test(path)) {
    return fail(`path ${describe(path)} contains a control character or a non-ASCII one: percent-encode it`)
  }
  parts.push(`Path=${path}`)
  if (options.domain !== undefined) {
    if (typeof options.domain !== "string" || !cookieDomainRe.test(options.domain)) {
      return fail(
        `domain must be a host name such as "example.com" (no ";", whitespace or control characters), got ${describe(options.domain)}`
      )
    }
    parts.push(`Domain=${options.domain}`)
  }
  if (options.expires !== undefined) {
    const expires: unknown = options.expires
    if (!(expires instanceof Date) || Number.isNaN(expires.getTime())) {
      return fail(`expires must be a valid Date, got ${describe(expires)}`)
    }
    parts.push(`Expires=${expires.toUTCString()}`)
  }
  if (options.maxAge !== undefined) {
    const decoded = decodeDuration(options.maxAge, true)
    if ("problem" in decoded) {
      return fail(`maxAge ${describe(options.maxAge)} ${decoded.problem}: give a Duration such as "1 hour" (0 deletes)`)
    }
    const millis = Duration.toMillis(decoded.duration)
    if (!Number.isFinite(millis)) {
      return fail("maxAge is infinite: omit maxAge for a cookie that lasts the session, or give a far expires")
    }
    if (millis % 1000 !== 0) {
      return fail(`maxAge ${Duration.format(decoded.duration)} is not a whole number of seconds, which Max-Age counts`)
    }
    parts.push(`Max-Age=${millis / 1000}`)
  }
  for (const flag of ["secure", "httpOnly"] as const) {
    const given = options[flag]
    if (given === undefined) continue
    const problem = booleanProblem(flag, given)
    if (problem !== undefined) return fail(problem)
    if (given) parts.push(flag === "secure" ? "Secure" : "HttpOnly")
  }
  if (options.sameSite !== undefined) {
    const sameSite = sameSites[options.sameSite]
    if (typeof options.sameSite !== "string" || sameSite === undefined || !Object.hasOwn(sameSites, options.sameSite)) {
      return fail(`sameSite must be "lax", "strict" or "none", got ${describe(options.sameSite)}`)
    }
    parts.push(`SameSite=${sameSite}`)
  }
  return { url, header: parts.join("; ") }
}

const sameSites: Readonly<Record<string, string>> = { lax: "Lax", strict: "Strict", none: "None" }

/**
 * `TestClient.cookieHeader(url)`: the `Cookie` header the jar sends to `url`, or
 * `InvalidRequest` for a URL that is not one. `header` is the jar's lookup.
 *
 * @internal
 */
export const cookieHeaderFor = (
  config: Config,
  header: (url: string) => string,
  url: unknown
): Effect.Effect<string, InvalidRequest> =>
  Effect.suspend(() => {
    const target = jarUrl(config, url)
    return "problem" in target
      ? Effect.fail(new InvalidRequest({ method: "COOKIE-HEADER", url: String(url), reason: target.problem }))
      : Effect.succeed(header(target.url))
  })
