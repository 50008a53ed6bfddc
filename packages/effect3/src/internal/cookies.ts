import * as Cookies from "@effect/platform/Cookies"
import { cookieLine, describe, isOptionBag, type JarCookie, maxAgeSeconds } from "@effect-http-testkit/core"
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

/**
 * The `Set-Cookie` line `TestClient.setCookie` stores, and the URL it is stored from; or
 * what is wrong with the input (the core's `cookieLine`, with `maxAge` read as a Duration).
 * Platform's `Cookies.makeCookie` is not used: it throws on a `maxAge` that is not a
 * Duration, takes an Invalid Date and a path without a leading `/`, and percent-encodes
 * every value, where the jar keeps values as the kit sends them in a `Cookie` header.
 *
 * @internal
 */
export const cookieToSet = (
  config: Config,
  name: unknown,
  value: unknown,
  rawOptions: unknown
): { readonly url: string; readonly header: string } | { readonly url: string; readonly problem: string } => {
  const target = isOptionBag(rawOptions) ? jarUrl(config, (rawOptions as CookieOptions).url) : { url: config.baseUrl }
  if ("problem" in target) return { url: config.baseUrl, problem: target.problem }
  const maxAge = isOptionBag(rawOptions) ? (rawOptions as CookieOptions).maxAge : undefined
  let seconds: number | { readonly problem: string } | undefined
  if (maxAge !== undefined) {
    const decoded = decodeDuration(maxAge, true)
    seconds =
      "problem" in decoded
        ? { problem: `maxAge ${describe(maxAge)} ${decoded.problem}: give a Duration such as "1 hour" (0 deletes)` }
        : maxAgeSeconds(Duration.toMillis(decoded.duration), Duration.format(decoded.duration))
  }
  return { url: target.url, ...cookieLine(name, value, rawOptions, seconds) }
}

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
