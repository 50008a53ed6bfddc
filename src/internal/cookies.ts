import * as Cookies from "@effect/platform/Cookies"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import { Cookie, CookieJar, defaultPath, domainMatch, pathMatch } from "tough-cookie"

/**
 * The client's cookie jar: RFC 6265 storage and matching by tough-cookie, with the rules
 * browsers apply (host-only and domain cookies, paths, `Secure` only over https or to
 * localhost, `__Host-`/`__Secure-` prefixes, expiry, deletion by `Max-Age=0` or a past
 * `Expires`). Expiry is judged on the wall clock, like a real client's.
 *
 * @internal
 */
export class Jar {
  private jar = new CookieJar(undefined, jarOptions)

  /** Whether any Secure cookie was ever stored: only then can "leave secure cookies alone" apply. */
  private hasSecure = false

  /** Stores the `Set-Cookie` headers of a response from `url`; malformed ones are ignored, as browsers do. */
  store(setCookie: ReadonlyArray<string>, url: string): void {
    for (const header of setCookie) {
      if (this.hasSecure && this.shadowsSecure(header, url)) continue
      const stored = this.jar.setCookieSync(header, url, { ignoreError: true, http: true })
      if (stored !== undefined) this.empty = false
      if (stored?.secure) this.hasSecure = true
    }
  }

  /**
   * RFC 6265bis §5.7 step 16 ("leave secure cookies alone"), which browsers apply and
   * tough-cookie does not: a non-Secure cookie set over plain http may not replace or shadow
   * a Secure cookie of the same name whose domain matches it (either way) and whose path
   * covers its own.
   */
  private shadowsSecure(header: string, url: string): boolean {
    const target = new URL(url)
    if (target.protocol === "https:") return false
    const cookie = Cookie.parse(header)
    if (cookie === undefined || cookie.secure) return false
    const domain = cookie.domain ?? target.hostname
    const path = cookie.path?.startsWith("/") ? cookie.path : defaultPath(target.pathname)
    const serialized = this.jar.serializeSync()
    return (serialized?.cookies ?? []).some(
      (existing) =>
        existing.key === cookie.key &&
        existing.secure === true &&
        typeof existing.domain === "string" &&
        (domainMatch(existing.domain, domain) === true || domainMatch(domain, existing.domain) === true) &&
        pathMatch(path, typeof existing.path === "string" ? existing.path : "/")
    )
  }

  /** The `Cookie` header a request to `url` carries, or `""`. */
  header(url: string): string {
    // Most tests never see a cookie: skip the jar's matching work while it is empty.
    if (this.empty) return ""
    return this.jar.getCookieStringSync(url, { http: true })
  }

  /** True until a cookie is first stored (and again after `clear()`): a cheap fast path. */
  private empty = true

  /** Every unexpired cookie whose domain matches `url`'s host, on any path. */
  cookies(url: string): Cookies.Cookies {
    const found = this.jar.getCookiesSync(url, { http: true, allPaths: true })
    return Cookies.fromIterable(
      found.flatMap((cookie) => {
        const options: {
          domain?: string
          path?: string
          expires?: Date
          maxAge?: Duration.DurationInput
          secure?: boolean
          httpOnly?: boolean
          sameSite?: "lax" | "strict" | "none"
        } = {}
        if (cookie.domain && !cookie.hostOnly) options.domain = cookie.domain
        if (cookie.path) options.path = cookie.path
        if (cookie.expires instanceof Date) options.expires = cookie.expires
        if (typeof cookie.maxAge === "number") options.maxAge = Duration.seconds(cookie.maxAge)
        if (cookie.secure) options.secure = true
        if (cookie.httpOnly) options.httpOnly = true
        const sameSite = cookie.sameSite?.toLowerCase()
        if (sameSite === "lax" || sameSite === "strict" || sameSite === "none") options.sameSite = sameSite
        // Platform cookies hold values decoded; the jar holds them as sent.
        return Option.toArray(Option.getRight(Cookies.makeCookie(cookie.key, safeDecode(cookie.value), options)))
      })
    )
  }

  /** Stores a cookie as if `url` had set it; returns a problem description if it was refused. */
  set(setCookie: string, url: string): string | undefined {
    const parsed = Cookie.parse(setCookie)
    if (parsed === undefined) return `cannot parse cookie ${JSON.stringify(setCookie)}`
    try {
      this.jar.setCookieSync(parsed, url, { http: true })
      this.empty = false
      if (parsed.secure) this.hasSecure = true
      return undefined
    } catch (cause) {
      return cause instanceof Error ? cause.message : String(cause)
    }
  }

  /** Removes every cookie, or only those named `name`. */
  clear(name?: string): void {
    if (name === undefined) {
      this.jar.removeAllCookiesSync()
      this.hasSecure = false
      this.empty = true
      return
    }
    const serialized = this.jar.serializeSync()
    if (serialized === undefined) return
    serialized.cookies = serialized.cookies.filter((cookie) => cookie.key !== name)
    this.jar = CookieJar.deserializeSync(serialized)
  }
}

const jarOptions = {
  looseMode: false,
  prefixSecurity: "silent",
  allowSpecialUseDomain: true,
  allowSecureOnLocal: true
} as const

const safeDecode = (value: string): string => {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}
