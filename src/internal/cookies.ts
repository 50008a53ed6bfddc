import { isIP } from "node:net"
import * as Cookies from "@effect/platform/Cookies"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import { Cookie, CookieJar, canonicalDomain, defaultPath, domainMatch, getPublicSuffix, pathMatch } from "tough-cookie"

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

  /**
   * Where Secure cookies were stored, by name (then by `domain path`): what "leave secure
   * cookies alone" checks a plain-http cookie against, without walking the jar. An entry may
   * outlive its cookie (deleted, expired, replaced by a non-Secure one over https, cleared):
   * the store is asked when the entry is used, and a dead entry is dropped then.
   */
  private secure = new Map<string, Map<string, { readonly domain: string; readonly path: string }>>()

  /** Stores the `Set-Cookie` headers of a response from `url`; malformed ones are ignored, as browsers do. */
  store(setCookie: ReadonlyArray<string>, url: string): void {
    if (setCookie.length === 0) return
    const target = new URL(url)
    const host = canonicalDomain(target.hostname)
    for (const header of setCookie) {
      const cookie = Cookie.parse(header)
      if (cookie === undefined) continue
      hostOnlyWhenDomainIsHost(cookie, host)
      if (this.secure.size > 0 && target.protocol !== "https:" && this.shadowsSecure(cookie, target)) continue
      const stored = this.jar.setCookieSync(cookie, url, { ignoreError: true, http: true })
      if (stored !== undefined) this.stored(stored)
    }
  }

  private stored(cookie: Cookie): void {
    this.empty = false
    if (!cookie.secure || cookie.domain == null || cookie.path == null) return
    let slots = this.secure.get(cookie.key)
    if (slots === undefined) {
      slots = new Map()
      this.secure.set(cookie.key, slots)
    }
    slots.set(`${cookie.domain} ${cookie.path}`, { domain: cookie.domain, path: cookie.path })
  }

  /**
   * RFC 6265bis §5.7 step 16 ("leave secure cookies alone"), which browsers apply and
   * tough-cookie does not: a non-Secure cookie set over plain http may not replace or shadow
   * a live Secure cookie of the same name whose domain matches it (either way) and whose path
   * covers its own. Costs one look-up per Secure cookie of that name, whatever the jar holds.
   */
  private shadowsSecure(cookie: Cookie, target: URL): boolean {
    if (cookie.secure) return false
    const slots = this.secure.get(cookie.key)
    if (slots === undefined) return false
    const domain = cookie.cdomain() ?? canonicalDomain(target.hostname)
    if (domain == null) return false
    const path = cookie.path?.startsWith("/") ? cookie.path : defaultPath(target.pathname)
    let shadows = false
    for (const [slot, existing] of slots) {
      if (!this.isLiveSecure(existing.domain, existing.path, cookie.key)) {
        slots.delete(slot)
        continue
      }
      if (
        (domainMatch(existing.domain, domain) === true || domainMatch(domain, existing.domain) === true) &&
        pathMatch(path, existing.path)
      ) {
        shadows = true
        break
      }
    }
    if (slots.size === 0) this.secure.delete(cookie.key)
    return shadows
  }

  /** Whether the store holds an unexpired Secure cookie at exactly this domain, path and name. */
  private isLiveSecure(domain: string, path: string, key: string): boolean {
    let found: Cookie | undefined
    // The memory store answers synchronously.
    this.jar.store.findCookie(domain, path, key, (error, cookie) => {
      if (error === null) found = cookie ?? undefined
    })
    if (found === undefined || !found.secure) return false
    // An expired cookie is gone (RFC 6265 §5.3): tough-cookie only evicts it on a later read.
    const expiry = found.expiryTime()
    return expiry === undefined || expiry > Date.now()
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
      hostOnlyWhenDomainIsHost(parsed, canonicalDomain(new URL(url).hostname))
      const stored = this.jar.setCookieSync(parsed, url, { http: true })
      if (stored !== undefined) this.stored(stored)
      return undefined
    } catch (cause) {
      return cause instanceof Error ? cause.message : String(cause)
    }
  }

  /** Removes every cookie, or only those named `name`. */
  clear(name?: string): void {
    if (name === undefined) {
      this.jar.removeAllCookiesSync()
      this.secure.clear()
      this.empty = true
      return
    }
    this.secure.delete(name)
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

/**
 * RFC 6265 §5.3 step 5, which tough-cookie skips: a `Domain` attribute that is a public suffix
 * (a single-label host such as `testserver` counts as one) is refused, unless it is the
 * request host itself; then the cookie is stored host-only. A `Domain` that is not a public
 * suffix, the host's own included, keeps making a domain cookie. `__Host-` cookies are left
 * as they are: their prefix rule refuses any `Domain` attribute.
 */
const hostOnlyWhenDomainIsHost = (cookie: Cookie, host: string | undefined): void => {
  if (cookie.domain == null || host === undefined || cookie.key.startsWith("__Host-")) return
  const domain = cookie.cdomain()
  if (domain !== host || isIP(domain) !== 0) return
  if (getPublicSuffix(domain, { allowSpecialUseDomain: jarOptions.allowSpecialUseDomain, ignoreError: true })) return
  cookie.domain = null
}

const safeDecode = (value: string): string => {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}
