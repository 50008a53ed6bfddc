import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import type { HeadersInput, Options } from "../Client.js"
import { defaultAcceptEncoding } from "./decode.js"

/**
 * Client-wide settings with defaults applied. Bad options do not fail the layer: they are
 * kept as `problem` and every request fails with `InvalidRequest` naming them.
 *
 * @internal
 */
export interface Config {
  readonly origin: string
  readonly basePath: string
  /** `origin + basePath + "/"`: where seeded cookies belong. */
  readonly baseUrl: string
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly cookies: Readonly<Record<string, string>>
  readonly timeout: Duration.Duration
  readonly drainTimeout: Duration.Duration
  readonly serverErrors: "fail" | "respond"
  readonly remoteAddress: string
  readonly followRedirects: boolean
  readonly maxRedirects: number
  readonly exchangeLimit: number
  readonly report: "onFailure" | "never"
  readonly problem: string | undefined
}

/** @internal */
export const defaultBaseUrl = "http://testserver"

/** @internal */
export const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** RFC 9110 field values: visible ASCII, obs-text, space and tab; no CR, LF or NUL. @internal */
export const invalidValueRe = /[^\t\x20-\x7e\x80-\xff]/

/** @internal */
export const describe = (value: unknown): string => JSON.stringify(value) ?? String(value)

/** @internal */
export const makeConfig = (options: Options = {}): Config => {
  const problems: Array<string> = []
  let origin = defaultBaseUrl
  let basePath = ""
  try {
    const url = new URL(options.baseUrl ?? defaultBaseUrl)
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`unsupported scheme ${url.protocol}`)
    origin = url.origin
    basePath = url.pathname.endsWith("/") ? url.pathname.slice(0, -1) : url.pathname
  } catch (cause) {
    problems.push(
      `the client option baseUrl ${describe(options.baseUrl)} is not an absolute http(s) URL (${String(cause)}); use e.g. "http://testserver/api"`
    )
  }
  const headers: Array<readonly [string, string]> = [
    ["user-agent", "effect-http-testkit"],
    ["accept", "*/*"]
  ]
  const acceptEncoding = options.acceptEncoding ?? defaultAcceptEncoding
  if (acceptEncoding !== "") headers.push(["accept-encoding", acceptEncoding])
  if (options.headers !== undefined) {
    const problem = mergeHeaderInput(headers, options.headers)
    if (problem !== undefined) problems.push(`client option headers: ${problem}`)
  }
  const duration = (name: string, input: Duration.DurationInput | undefined, fallback: Duration.Duration) => {
    if (input === undefined) return fallback
    const decoded = Duration.decodeUnknown(input)
    if (Option.isNone(decoded)) {
      problems.push(
        `client option ${name} ${String(input)} is not a Duration (use e.g. "5 seconds" or a number of millis)`
      )
      return fallback
    }
    return decoded.value
  }
  const count = (name: string, input: number | undefined, fallback: number) => {
    if (input === undefined) return fallback
    if (!Number.isInteger(input) || input < 0) {
      problems.push(`client option ${name} must be a whole number >= 0, got ${describe(input)}`)
      return fallback
    }
    return input
  }
  const cookieProblem = options.cookies === undefined ? undefined : validateCookies(options.cookies)
  if (cookieProblem !== undefined) problems.push(`client option cookies: ${cookieProblem}`)
  return {
    origin,
    basePath,
    baseUrl: `${origin}${basePath}/`,
    headers,
    cookies: options.cookies ?? {},
    timeout: duration("timeout", options.timeout, Duration.seconds(30)),
    drainTimeout: duration("drainTimeout", options.drainTimeout, Duration.seconds(5)),
    serverErrors: options.serverErrors ?? "fail",
    remoteAddress: options.remoteAddress ?? "127.0.0.1",
    followRedirects: options.followRedirects ?? true,
    maxRedirects: count("maxRedirects", options.maxRedirects, 20),
    exchangeLimit: count("exchangeLimit", options.exchangeLimit, 100),
    report: options.report ?? "onFailure",
    problem: problems.length === 0 ? undefined : problems.join("; ")
  }
}

/**
 * Appends header lines from any accepted input; a name given here replaces earlier lines of
 * that name (the defaults) rather than adding to them, and a name given as `undefined`
 * removes them (`{ "user-agent": undefined }` sends no user-agent). Returns a problem, if any.
 *
 * @internal
 */
export const mergeHeaderInput = (lines: Array<readonly [string, string]>, input: HeadersInput): string | undefined => {
  const incoming: Array<readonly [string, string]> = []
  const removed: Array<string> = []
  const entries: Iterable<readonly [string, unknown]> =
    input instanceof globalThis.Headers ? input.entries() : Object.entries(input)
  for (const [name, value] of entries) {
    if (!tokenRe.test(name)) return `invalid header name ${describe(name)}: only token characters are allowed`
    if (value === undefined) {
      removed.push(name.toLowerCase())
      continue
    }
    const values: ReadonlyArray<unknown> = Array.isArray(value) ? value : [value]
    for (const v of values) {
      if (typeof v !== "string") return `header ${describe(name)} must be a string or an array of strings`
      if (invalidValueRe.test(v)) {
        return `invalid value for header ${describe(name)}: ${describe(v)} contains CR, LF, NUL or another control character`
      }
      incoming.push([name.toLowerCase(), v])
    }
  }
  const replaced = new Set([...removed, ...incoming.map(([name]) => name)])
  for (let i = lines.length - 1; i >= 0; i--) {
    if (replaced.has(lines[i][0])) lines.splice(i, 1)
  }
  lines.push(...incoming)
  return undefined
}

/** @internal */
export const validateCookies = (cookies: Readonly<Record<string, string>>): string | undefined => {
  for (const [name, value] of Object.entries(cookies)) {
    if (!tokenRe.test(name)) return `invalid cookie name ${describe(name)}: only token characters are allowed`
    if (typeof value !== "string") return `cookie ${describe(name)} must have a string value`
  }
  return undefined
}

const cookieValueRe = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/

/**
 * A cookie value as it travels: percent-encoded when it holds characters a Cookie header
 * cannot carry. Platform's `Cookies.parseHeader` decodes it, so the app reads back exactly
 * what the test gave.
 *
 * @internal
 */
export const encodeCookieValue = (value: string): string =>
  cookieValueRe.test(value) ? value : encodeURIComponent(value)
