/**
 * The client's cookie jar and the rules for cookies a test gives. Effect-free: shared by every
 * edition of the kit.
 */
import { isIP } from "node:net"
import { Cookie, CookieJar, canonicalDomain, defaultPath, domainMatch, getPublicSuffix, pathMatch } from "tough-cookie"
import { booleanProblem, describe, isOptionBag, tokenRe, unknownKeys } from "./values.js"

/** A stored cookie as the jar lists it (host-only cookies have no `domain`). */
export interface JarCookie {
  readonly name: string
  readonly value: string
  readonly domain?: string
  readonly path?: string
  readonly expires?: Date
  readonly maxAgeSeconds?: number
  readonly secure: boolean
  readonly httpOnly: boolean
  readonly sameSite?: "lax" | "strict" | "none"
}

/**
 * The client's cookie jar: RFC 6265 storage and matching by tough-cookie, with the rules
 * browsers apply (host-only and domain cookies, paths, `Secure` only over https or to
 * localhost, `__Host-`/`__Secure-` prefixes, expiry, deletion by `Max-Age=0` or a past
 * `Expires`). Expiry is judged on the wall clock, like a real client's.
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

  /** Every unexpired cookie whose domain matches `url`'s host, on any path, values decoded. */
  cookies(url: string): ReadonlyArray<JarCookie> {
    const found = this.jar.getCookiesSync(url, { http: true, allPaths: true })
    return found.map((cookie) => {
      const sameSite = cookie.sameSite?.toLowerCase()
      return {
        name: cookie.key,
        // The jar holds values as sent; a reader wants them decoded.
        value: safeDecode(cookie.value),
        ...(cookie.domain && !cookie.hostOnly ? { domain: cookie.domain } : {}),
        ...(cookie.path ? { path: cookie.path } : {}),
        ...(cookie.expires instanceof Date ? { expires: cookie.expires } : {}),
        ...(typeof cookie.maxAge === "number" ? { maxAgeSeconds: cookie.maxAge } : {}),
        secure: cookie.secure,
        httpOnly: cookie.httpOnly,
        ...(sameSite === "lax" || sameSite === "strict" || sameSite === "none" ? { sameSite } : {})
      }
    })
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

// ---------------------------------------------------------------------------
// what the test gives: cookie values, records and attributes
// ---------------------------------------------------------------------------

/** Control characters a cookie value cannot hold (RFC 6265bis: a browser drops such a cookie); tab is allowed. */
const cookieControlRe = /[^\t\x20-\x7e\x80-\uffff]/

/**
 * Cookies given as a record: token names and string values with no control character (other
 * characters are percent-encoded in transit and decoded by the app's `Cookies.parseHeader`).
 */
export const validateCookies = (cookies: unknown): string | undefined => {
  if (!isOptionBag(cookies) || cookies instanceof globalThis.Headers) {
    return `cookies must be a record of name to string value, e.g. { session: "abc" }, got ${describe(cookies)}`
  }
  for (const [name, value] of Object.entries(cookies)) {
    if (!tokenRe.test(name)) return `invalid cookie name ${describe(name)}: only token characters are allowed`
    if (typeof value !== "string") return `cookie ${describe(name)} must have a string value, got ${describe(value)}`
    const problem = cookieValueProblem(name, value)
    if (problem !== undefined) return problem
  }
  return undefined
}

export const cookieValueProblem = (name: string, value: string): string | undefined =>
  cookieControlRe.test(value)
    ? `the value of cookie ${describe(name)} contains a control character (CR, LF, NUL, ...): ${describe(value)}; a browser would drop such a cookie`
    : undefined

const cookieValueRe = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/

/**
 * A cookie value as it travels: percent-encoded when it holds characters a Cookie header
 * cannot carry. Platform's `Cookies.parseHeader` decodes it, so the app reads back exactly
 * what the test gave.
 */
export const encodeCookieValue = (value: string): string =>
  cookieValueRe.test(value) ? value : encodeURIComponent(value)

/** The jar's cookies for this hop, with the call's own cookies replacing those of the same name. */
export const cookieHeader = (fromJar: string, call: Readonly<Record<string, string>> | undefined): string => {
  if (call === undefined) return fromJar
  const names = new Set(Object.keys(call))
  const pairs = fromJar === "" ? [] : fromJar.split("; ").filter((pair) => !names.has(pair.slice(0, pair.indexOf("="))))
  for (const [name, value] of Object.entries(call)) pairs.push(`${name}=${encodeCookieValue(value)}`)
  return pairs.join("; ")
}

const cookieOptionNames = ["url", "domain", "path", "expires", "maxAge", "secure", "httpOnly", "sameSite"]
const cookiePathRe = /^[\x20-\x3a\x3c-\x7e]*$/
const cookieDomainRe = /^\.?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$/
const sameSites: Readonly<Record<string, string>> = { lax: "Lax", strict: "Strict", none: "None" }

/**
 * The `Set-Cookie` line a test's `setCookie(name, value, options)` stores, or what is wrong
 * with it. Every attribute is checked: a `;` or CR/LF in a path or domain would start another
 * attribute (`path: "/; Secure"`), an Invalid Date would serialise as `Expires=Invalid Date`,
 * a path without a leading `/` would be silently replaced by a browser. `maxAge` is the
 * edition's to read (a Duration): `maxAgeSeconds` is its whole number of seconds, or what is
 * wrong with it. The value is kept as the kit sends it in a `Cookie` header
 * (`encodeCookieValue`).
 */
export const cookieLine = (
  name: unknown,
  value: unknown,
  rawOptions: unknown,
  maxAgeSeconds: number | { readonly problem: string } | undefined
): { readonly header: string } | { readonly problem: string } => {
  const fail = (problem: string) => ({ problem })
  if (rawOptions !== undefined && !isOptionBag(rawOptions)) {
    return fail(`setCookie options must be an object such as { path: "/" }, got ${describe(rawOptions)}`)
  }
  const options = (rawOptions ?? {}) as Readonly<Record<string, unknown>>
  const unknown = unknownKeys(options, cookieOptionNames, "option")
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
  if (maxAgeSeconds !== undefined) {
    if (typeof maxAgeSeconds !== "number") return fail(maxAgeSeconds.problem)
    parts.push(`Max-Age=${maxAgeSeconds}`)
  }
  for (const flag of ["secure", "httpOnly"] as const) {
    const given = options[flag]
    if (given === undefined) continue
    const problem = booleanProblem(flag, given)
    if (problem !== undefined) return fail(problem)
    if (given) parts.push(flag === "secure" ? "Secure" : "HttpOnly")
  }
  if (options.sameSite !== undefined) {
    const sameSite = typeof options.sameSite === "string" ? sameSites[options.sameSite] : undefined
    if (sameSite === undefined || !Object.hasOwn(sameSites, options.sameSite as string)) {
      return fail(`sameSite must be "lax", "strict" or "none", got ${describe(options.sameSite)}`)
    }
    parts.push(`SameSite=${sameSite}`)
  }
  return { header: parts.join("; ") }
}

/** A `maxAge` of so many milliseconds as Max-Age's whole seconds, or what is wrong with it. */
export const maxAgeSeconds = (millis: number, shown: string): number | { readonly problem: string } => {
  if (!Number.isFinite(millis)) {
    return { problem: "maxAge is infinite: omit maxAge for a cookie that lasts the session, or give a far expires" }
  }
  if (millis % 1000 !== 0) return { problem: `maxAge ${shown} is not a whole number of seconds, which Max-Age counts` }
  return millis / 1000
}
