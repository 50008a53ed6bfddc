import { isIP } from "node:net"
import {
  booleanProblem,
  countProblem,
  defaultAcceptEncoding,
  describe,
  invalidValueRe,
  isOptionBag,
  tokenRe,
  trimOws,
  unknownKeys,
  validateCookies
} from "@effect-http-testkit/core"
import * as Duration from "effect/Duration"
import type { HeadersInput, Options } from "../Client.js"
import { drainShare, fitToRunner, requestShare } from "./runner.js"

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
  readonly spanLimit: number
  readonly report: "onFailure" | "never"
  readonly backgroundWork: "drain" | "interrupt"
  /** How requests reach the app: in memory, or over a real socket to it served on 127.0.0.1. */
  readonly transport: Transport
  /** The port the socket transport listens on (0: a free one). */
  readonly port: number
  readonly problem: string | undefined
}

/** @internal */
export type Transport = "in-process" | "socket"

/**
 * The environment variable that picks the transport of every client given no `transport`
 * option: `socket` runs a whole suite over real sockets.
 *
 * @internal
 */
export const transportVariable = "EFFECT_HTTP_TESTKIT_TRANSPORT"

/** @internal */
export const defaultBaseUrl = "http://testserver"

const durationRe = /^(-?\d+(?:\.\d+)?)\s+(nanos?|micros?|millis?|seconds?|minutes?|hours?|days?|weeks?)$/

/**
 * A `DurationInput`, strictly: `Duration.decode` turns NaN, negative numbers and
 * `"-5 seconds"` into 0 and throws on anything else. Here those are problems. Infinite is
 * allowed (no bound); 0 only with `allowZero`. Returns the duration or what is wrong with it.
 *
 * @internal
 */
export const decodeDuration = (
  input: unknown,
  allowZero: boolean
): { readonly duration: Duration.Duration } | { readonly problem: string } => {
  const negative = { problem: "is negative" }
  let duration: Duration.Duration
  if (Duration.isDuration(input)) {
    duration = input
  } else if (typeof input === "number") {
    if (Number.isNaN(input)) return { problem: "is NaN" }
    if (input < 0) return negative
    duration = Duration.millis(input)
  } else if (typeof input === "bigint") {
    if (input < 0n) return negative
    duration = Duration.nanos(input)
  } else if (Array.isArray(input)) {
    if (input.length !== 2 || !input.every((n) => typeof n === "number")) {
      return { problem: "is not a [seconds, nanos] pair of numbers" }
    }
    if (input.some((n) => Number.isNaN(n))) return { problem: "holds NaN" }
    if (input.some((n) => n < 0)) return negative
    duration = Duration.decode(input as unknown as readonly [number, number])
  } else if (typeof input === "string") {
    const match = durationRe.exec(input)
    if (match === null) return { problem: "is not a Duration" }
    if (Number(match[1]) < 0) return negative
    duration = Duration.decode(input as Duration.DurationInput)
  } else {
    return { problem: "is not a Duration" }
  }
  if (!allowZero && Duration.isZero(duration)) return { problem: "is 0" }
  return { duration }
}

/**
 * A bound of the client (`timeout`, `drainTimeout`): positive, or infinite for no bound. A
 * 0 bound would fail every exchange (or report every disconnected handler as stuck) before
 * the app could answer, so it is refused rather than obeyed.
 *
 * @internal
 */
export const decodeBound = (name: string, input: unknown): Duration.Duration | string => {
  const decoded = decodeDuration(input, false)
  if ("duration" in decoded) return decoded.duration
  return (
    `${name} ${describe(input)} ${decoded.problem}: it must be a positive Duration, e.g. "5 seconds", ` +
    "a number of millis, or Duration.infinity for no bound"
  )
}

const optionNames = [
  "baseUrl",
  "headers",
  "cookies",
  "timeout",
  "serverErrors",
  "drainTimeout",
  "remoteAddress",
  "followRedirects",
  "maxRedirects",
  "acceptEncoding",
  "exchangeLimit",
  "spanLimit",
  "report",
  "backgroundWork",
  "transport",
  "port"
]

/**
 * The client's settings. Every option is checked for its type and range: a bad one (NaN,
 * negative, wrong type, a value Node would refuse) is a problem, never coerced.
 *
 * @internal
 */
export const makeConfig = (input: Options | undefined = {}): Config => {
  const problems: Array<string> = []
  let options: Readonly<Record<string, unknown>> = {}
  if (!isOptionBag(input)) {
    problems.push(`client options must be an object such as { timeout: "5 seconds" }, got ${describe(input)}`)
  } else {
    options = input
    const unknown = unknownKeys(options, optionNames, "client option")
    if (unknown !== undefined) problems.push(unknown)
  }
  let origin = defaultBaseUrl
  let basePath = ""
  const baseUrl = options.baseUrl ?? defaultBaseUrl
  try {
    if (typeof baseUrl !== "string") throw new Error("not a string")
    const url = new URL(baseUrl)
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`unsupported scheme ${url.protocol}`)
    if (url.search !== "" || url.hash !== "") throw new Error("a query or fragment would be dropped")
    if (url.username !== "" || url.password !== "") throw new Error("credentials would be dropped")
    origin = url.origin
    basePath = url.pathname.endsWith("/") ? url.pathname.slice(0, -1) : url.pathname
  } catch (cause) {
    problems.push(
      `the client option baseUrl ${describe(baseUrl)} is not an absolute http(s) URL with no query (${cause instanceof Error ? cause.message : String(cause)}); use e.g. "http://testserver/api"`
    )
  }
  const headers: Array<readonly [string, string]> = [
    ["user-agent", "effect-http-testkit"],
    ["accept", "*/*"]
  ]
  const acceptEncoding = options.acceptEncoding ?? defaultAcceptEncoding
  if (typeof acceptEncoding !== "string" || invalidValueRe.test(acceptEncoding)) {
    problems.push(
      `client option acceptEncoding must be a header value (a string with no CR, LF or other control character), got ${describe(acceptEncoding)}; "" sends none`
    )
  } else if (acceptEncoding !== "") {
    headers.push(["accept-encoding", trimOws(acceptEncoding)])
  }
  if (options.headers !== undefined) {
    const problem = mergeHeaderInput(headers, options.headers as HeadersInput)
    if (problem !== undefined) problems.push(`client option headers: ${problem}`)
  }
  const bound = (name: string, fallback: Duration.Duration): Duration.Duration => {
    if (options[name] === undefined) return fallback
    const decoded = decodeBound(`client option ${name}`, options[name])
    if (typeof decoded !== "string") return decoded
    problems.push(decoded)
    return fallback
  }
  const count = (name: string, fallback: number): number => {
    const value = options[name]
    if (value === undefined) return fallback
    const problem = countProblem(`client option ${name}`, value)
    if (problem === undefined) return value as number
    problems.push(problem)
    return fallback
  }
  const oneOf = <A extends string>(name: string, choices: ReadonlyArray<A>, fallback: A): A => {
    const value = options[name]
    if (value === undefined) return fallback
    if (choices.includes(value as A)) return value as A
    problems.push(
      `client option ${name} must be ${choices.map((c) => describe(c)).join(" or ")}, got ${describe(value)}`
    )
    return fallback
  }
  let followRedirects = true
  if (options.followRedirects !== undefined) {
    const problem = booleanProblem("client option followRedirects", options.followRedirects)
    if (problem === undefined) followRedirects = options.followRedirects as boolean
    else problems.push(problem)
  }
  let remoteAddress = "127.0.0.1"
  if (options.remoteAddress !== undefined) {
    if (typeof options.remoteAddress === "string" && isIP(options.remoteAddress) !== 0) {
      remoteAddress = options.remoteAddress
    } else {
      problems.push(
        `client option remoteAddress must be an IPv4 or IPv6 address, as Node reports a socket's peer (e.g. "10.0.0.7" or "::1"), got ${describe(options.remoteAddress)}`
      )
    }
  }
  let transport: Transport = "in-process"
  const givenTransport = options.transport ?? process.env[transportVariable]
  if (givenTransport !== undefined && givenTransport !== "") {
    if (givenTransport === "in-process" || givenTransport === "socket") transport = givenTransport
    else {
      problems.push(
        options.transport === undefined
          ? `the environment variable ${transportVariable} must be "in-process" or "socket", got ${describe(givenTransport)}`
          : `client option transport must be "in-process" or "socket", got ${describe(givenTransport)}`
      )
    }
  }
  let port = 0
  if (options.port !== undefined) {
    if (transport !== "socket") {
      problems.push(
        `client option port applies to transport "socket" only (the in-process transport opens no socket); give transport: "socket" or drop port`
      )
    } else if (
      typeof options.port === "number" &&
      Number.isInteger(options.port) &&
      options.port >= 0 &&
      options.port <= 65535
    ) {
      port = options.port
    } else {
      problems.push(
        `client option port must be a whole number from 0 (a free port) to 65535, got ${describe(options.port)}`
      )
    }
  }
  // Over a socket the app sees the socket's real peer: the kit cannot set it.
  if (transport === "socket" && options.remoteAddress !== undefined && remoteAddress !== "127.0.0.1") {
    problems.push(
      `client option remoteAddress cannot be set with transport "socket": the app sees the socket's real peer, 127.0.0.1; drop remoteAddress or use the in-process transport`
    )
  }
  let cookies: Readonly<Record<string, string>> = {}
  if (options.cookies !== undefined) {
    const problem = validateCookies(options.cookies)
    if (problem === undefined) cookies = options.cookies as Readonly<Record<string, string>>
    else problems.push(`client option cookies: ${problem}`)
  }
  // A `timeout` or `drainTimeout` the user did not give is read afresh at each wait, cut to a
  // share of the time the current test has left under its runner (see `runner.ts`): the kit's
  // own error, with its report, comes before the runner's "Test timed out". One given
  // explicitly is used as it is.
  const timeout = bound("timeout", defaultTimeout)
  const drainTimeout = bound("drainTimeout", defaultDrainTimeout)
  const fitTimeout = options.timeout === undefined
  const fitDrainTimeout = options.drainTimeout === undefined
  return {
    origin,
    basePath,
    baseUrl: `${origin}${basePath}/`,
    headers,
    cookies,
    get timeout() {
      return fitTimeout ? fitToRunner(timeout, requestShare) : timeout
    },
    get drainTimeout() {
      return fitDrainTimeout ? fitToRunner(drainTimeout, drainShare) : drainTimeout
    },
    serverErrors: oneOf("serverErrors", ["fail", "respond"], "fail"),
    remoteAddress,
    followRedirects,
    maxRedirects: count("maxRedirects", 20),
    exchangeLimit: count("exchangeLimit", 100),
    spanLimit: count("spanLimit", 10_000),
    report: oneOf("report", ["onFailure", "never"], "onFailure"),
    backgroundWork: oneOf("backgroundWork", ["drain", "interrupt"], "drain"),
    transport,
    port,
    problem: problems.length === 0 ? undefined : problems.join("; ")
  }
}

const defaultTimeout = Duration.seconds(30)
const defaultDrainTimeout = Duration.seconds(5)

/**
 * Appends header lines from any accepted input; a name given here replaces earlier lines of
 * that name (the defaults) rather than adding to them, and a name given as `undefined`
 * removes them (`{ "user-agent": undefined }` sends no user-agent). Returns a problem, if any.
 *
 * @internal
 */
export const mergeHeaderInput = (lines: Array<readonly [string, string]>, input: HeadersInput): string | undefined => {
  if (!isOptionBag(input)) {
    return `headers must be a record of strings (or arrays of strings), platform Headers or a WHATWG Headers, got ${describe(input)}`
  }
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
      if (typeof v !== "string") {
        return `header ${describe(name)} must be a string or an array of strings, got ${describe(v)}`
      }
      if (invalidValueRe.test(v)) {
        return `invalid value for header ${describe(name)}: ${describe(v)} contains CR, LF, NUL, another control character or a character beyond Latin-1`
      }
      // What the app sees: Node's parser drops the whitespace around a value.
      incoming.push([name.toLowerCase(), trimOws(v)])
    }
  }
  const replaced = new Set([...removed, ...incoming.map(([name]) => name)])
  for (let i = lines.length - 1; i >= 0; i--) {
    if (replaced.has(lines[i][0])) lines.splice(i, 1)
  }
  lines.push(...incoming)
  return undefined
}
