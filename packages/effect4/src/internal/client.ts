/**
 * The client: requests prepared as a Node client sends them (the core's rules for values,
 * cookies, header folding and Node's refusals), dispatched to the in-process server, and
 * responses read as a client reads them (the core's content decoding, cookie jar and
 * redirect rules).
 *
 * @internal
 */

import { isIP } from "node:net"
import {
  booleanProblem,
  cookieHeader,
  countProblem,
  declaredLength,
  decodeBody,
  defaultAcceptEncoding,
  describe,
  fitMillis,
  foldLines,
  type Hop,
  invalidValueRe,
  isOptionBag,
  type Jar,
  lengthMismatch,
  nextHop,
  nodeRefusal,
  requestShare,
  StreamLength,
  tokenRe,
  unknownKeys,
  validateCookies
} from "@effect-http-testkit/core"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { Headers } from "effect/http"
import * as Stream from "effect/Stream"
import type { Options, RequestOptions, TestResponse } from "../Client.js"
import { InvalidRequest, RequestTimeout, ResponseError, ServerError, TooManyRedirects, withSpanId } from "./errors.js"
import { appendParams, durationMillis as durationOf, entriesOf, mergeLines, notServing, resolveUrl } from "./options.js"
import { BufferedResponse } from "./response.js"
import {
  type BodySource,
  concat,
  type Dispatched,
  type InProcessServer,
  isUnhandled,
  type OutgoingRequest,
  type WireResponse,
  withoutResponseMarker
} from "./server.js"

const defaultBaseUrl = "http://testserver"

const optionNames = [
  "baseUrl",
  "headers",
  "cookies",
  "timeout",
  "serverErrors",
  "followRedirects",
  "maxRedirects",
  "acceptEncoding",
  "spanLimit",
  "exchangeLimit",
  "report",
  "remoteAddress",
  // Taken out before these checks (the background-work tracker's), listed for "did you mean".
  "drainTimeout",
  "backgroundWork",
  // ... and so are the transport's.
  "transport",
  "port"
]
const requestOptionNames = [
  "headers",
  "params",
  "cookies",
  "json",
  "body",
  "form",
  "multipart",
  "timeout",
  "followRedirects",
  "maxRedirects"
]

/** Client-wide settings with defaults applied, or what is wrong with the options. */
export interface Config {
  readonly base: URL
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly cookies: Readonly<Record<string, string>> | undefined
  /**
   * The bound on each request: the `timeout` option, or by default 30 s cut to a share of the
   * time the current test has left (read at each request), so the kit's RequestTimeout comes
   * before the runner's own timeout.
   */
  readonly timeoutMillis: number
  readonly serverErrors: "fail" | "respond"
  readonly followRedirects: boolean
  readonly maxRedirects: number
  readonly acceptEncoding: string
  /** How many exchanges `TestClient.exchanges` keeps (the newest). */
  readonly exchangeLimit: number
  readonly report: "onFailure" | "never"
  /** The client's address, as the app's `remoteAddress` sees it. */
  readonly remoteAddress: string
}

/** A duration option in millis (30 s when not given), or what is wrong with it. */
const durationMillis = (name: string, input: unknown): number | string =>
  input === undefined ? 30_000 : durationOf(name, input)

/** A header removed with `undefined`: it replaces, and so removes, a default of that name. */
const removed = "\u0000removed"

const headerLines = (input: unknown, what: string): ReadonlyArray<readonly [string, string]> | string => {
  if (input === undefined) return []
  const entries = entriesOf(input)
  if (entries === undefined) {
    return `${what} must be a record of header name to value (or a web Headers), got ${describe(input)}`
  }
  const lines: Array<readonly [string, string]> = []
  for (const [name, value] of entries) {
    if (!tokenRe.test(name)) return `invalid header name ${describe(name)}: only token characters are allowed`
    if (value === undefined) {
      lines.push([name.toLowerCase(), removed])
      continue
    }
    if (typeof value !== "string") return `header ${describe(name)} must have a string value, got ${describe(value)}`
    if (invalidValueRe.test(value))
      return `header ${describe(name)} has a character a header cannot carry: ${describe(value)}`
    lines.push([name.toLowerCase(), value])
  }
  return lines
}

export const makeConfig = (input: unknown): Config | string => {
  if (input !== undefined && !isOptionBag(input)) {
    return `client options must be an object such as { timeout: "5 seconds" }, got ${describe(input)}`
  }
  const options = (input ?? {}) as Options
  // Every bad option is named, not just the first: a user fixes them in one go.
  const problems: Array<string> = []
  const problem = <A>(checked: A | string): A | undefined => {
    if (typeof checked !== "string") return checked
    problems.push(checked)
    return undefined
  }
  const unknown = unknownKeys(options as Readonly<Record<string, unknown>>, optionNames, "option")
  if (unknown !== undefined) problems.push(unknown)
  let base: URL = new URL(defaultBaseUrl)
  try {
    base = new URL(options.baseUrl ?? defaultBaseUrl)
    if (base.protocol !== "http:" && base.protocol !== "https:") {
      problems.push(`baseUrl must be an http(s) URL, got ${describe(options.baseUrl)}`)
    } else if (base.search !== "" || base.hash !== "" || base.username !== "" || base.password !== "") {
      problems.push(
        `baseUrl must be an origin (with an optional path), with no query, fragment or credentials: a query or fragment would be dropped, got ${describe(options.baseUrl)}`
      )
    }
  } catch {
    problems.push(`baseUrl ${describe(options.baseUrl)} is not an absolute URL such as "http://testserver"`)
  }
  const headers = problem(headerLines(options.headers, "headers")) ?? []
  if (options.cookies !== undefined) {
    const cookies = validateCookies(options.cookies)
    if (cookies !== undefined) problems.push(cookies)
  }
  const timeoutMillis = problem(durationMillis("timeout", options.timeout)) ?? 0
  if (options.serverErrors !== undefined && options.serverErrors !== "fail" && options.serverErrors !== "respond") {
    problems.push(`serverErrors must be "fail" or "respond", got ${describe(options.serverErrors)}`)
  }
  if (options.followRedirects !== undefined) {
    const follow = booleanProblem("followRedirects", options.followRedirects)
    if (follow !== undefined) problems.push(follow)
  }
  if (options.maxRedirects !== undefined) {
    const max = countProblem("maxRedirects", options.maxRedirects)
    if (max !== undefined) problems.push(max)
  }
  const acceptEncoding = options.acceptEncoding ?? defaultAcceptEncoding
  if (typeof acceptEncoding !== "string" || invalidValueRe.test(acceptEncoding)) {
    problems.push(
      `acceptEncoding must be a header value such as "gzip, br" ("" sends none), got ${describe(options.acceptEncoding)}`
    )
  }
  if (
    options.spanLimit !== undefined &&
    (typeof options.spanLimit !== "number" || !Number.isInteger(options.spanLimit) || options.spanLimit < 1)
  ) {
    problems.push(
      `spanLimit must be a whole number >= 1 (how many spans the tracer keeps), got ${describe(options.spanLimit)}`
    )
  }
  const exchangeLimit = options.exchangeLimit ?? 100
  if (typeof exchangeLimit !== "number" || !Number.isInteger(exchangeLimit) || exchangeLimit < 0) {
    problems.push(
      `exchangeLimit must be a whole number >= 0 (how many exchanges TestClient.exchanges keeps), got ${describe(options.exchangeLimit)}`
    )
  }
  if (options.report !== undefined && options.report !== "onFailure" && options.report !== "never") {
    problems.push(`report must be "onFailure" or "never", got ${describe(options.report)}`)
  }
  const remoteAddress = options.remoteAddress ?? "127.0.0.1"
  if (typeof remoteAddress !== "string" || isIP(remoteAddress) === 0) {
    problems.push(
      `remoteAddress must be an IPv4 or IPv6 address, as Node reports a socket's peer (e.g. "10.0.0.7" or "::1"), got ${describe(options.remoteAddress)}`
    )
  }
  if (problems.length > 0) return problems.join("; ")
  const given = options.timeout !== undefined
  return {
    base,
    headers,
    cookies: options.cookies,
    get timeoutMillis() {
      return given ? timeoutMillis : fitMillis(timeoutMillis, requestShare)
    },
    serverErrors: options.serverErrors ?? "fail",
    followRedirects: options.followRedirects ?? true,
    maxRedirects: options.maxRedirects ?? 20,
    acceptEncoding,
    exchangeLimit,
    report: options.report ?? "onFailure",
    remoteAddress
  }
}

type Body =
  | { readonly _tag: "Empty" }
  /** `chunked`: sent with `transfer-encoding: chunked` (a Stream body), else with its content-length. */
  | { readonly _tag: "Bytes"; readonly bytes: Uint8Array; readonly chunked?: boolean }
  /** A Stream body: sent chunked as it is produced, read by the app as it runs (see `openBody`). */
  | { readonly _tag: "Stream"; readonly stream: Stream.Stream<Uint8Array, unknown> }
  /** A multipart body, read into bytes before the first hop (see `loadBody`). */
  | {
      readonly _tag: "Load"
      readonly load: Effect.Effect<
        { readonly bytes: Uint8Array; readonly chunked: boolean; readonly contentType: string | undefined },
        string
      >
    }

const encoder = new TextEncoder()
const headersProto: object = Object.getPrototypeOf(Headers.empty)

/** The `multipart` option as FormData: FormData itself, or a record of field to value(s). */
const formDataOf = (input: unknown): FormData | string => {
  if (input instanceof FormData) return input
  const problem = `multipart must be FormData or a record of field name to string or Blob (or arrays of them), got ${describe(input)}`
  if (!isOptionBag(input)) return problem
  const form = new FormData()
  for (const [name, value] of Object.entries(input)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (typeof one === "string") form.append(name, one)
      else if (one instanceof Blob) form.append(name, one)
      else return problem
    }
  }
  return form
}

/** The request body and the headers that describe it, from the request options. */
const bodyOf = (
  options: RequestOptions
): { readonly body: Body; readonly lines: ReadonlyArray<readonly [string, string]> } | string => {
  const given = (["json", "body", "form", "multipart"] as const).filter((name) => options[name] !== undefined)
  if (given.length > 1) {
    return `give at most one body, but ${given.join(" and ")} were given: choose one of json, body, form and multipart`
  }
  if (options.multipart !== undefined) {
    const form = formDataOf(options.multipart)
    if (typeof form === "string") return form
    return {
      body: {
        _tag: "Load",
        // Encoded as fetch and undici encode FormData (its boundary in the content-type).
        load: Effect.tryPromise({
          try: async () => {
            const web = new Response(form)
            return {
              bytes: new Uint8Array(await web.arrayBuffer()),
              chunked: false,
              contentType: web.headers.get("content-type") ?? undefined
            }
          },
          catch: (cause) => `the multipart body could not be encoded: ${String(cause)}`
        })
      },
      lines: []
    }
  }
  if (Stream.isStream(options.body)) {
    return { body: { _tag: "Stream", stream: options.body as Stream.Stream<Uint8Array, unknown> }, lines: [] }
  }
  if (options.json !== undefined) {
    let text: string | undefined
    try {
      text = JSON.stringify(options.json)
    } catch (cause) {
      return `json cannot be serialised: ${String(cause)}`
    }
    if (text === undefined) return `json ${describe(options.json)} serialises to nothing`
    return { body: { _tag: "Bytes", bytes: encoder.encode(text) }, lines: [["content-type", "application/json"]] }
  }
  if (options.form !== undefined) {
    const entries = entriesOf(options.form)
    if (entries === undefined) {
      return `form must be a record of field name to string value (or URLSearchParams), e.g. { user: "ada" }, got ${describe(options.form)}`
    }
    const params = new URLSearchParams()
    for (const [name, value] of entries) {
      if (typeof value !== "string") {
        return `form field ${JSON.stringify(name)} must have a string value, got ${describe(value)}`
      }
      params.append(name, value)
    }
    return {
      body: { _tag: "Bytes", bytes: encoder.encode(params.toString()) },
      lines: [["content-type", "application/x-www-form-urlencoded"]]
    }
  }
  if (typeof options.body === "string") {
    return {
      body: { _tag: "Bytes", bytes: encoder.encode(options.body) },
      lines: [["content-type", "text/plain;charset=UTF-8"]]
    }
  }
  if (options.body instanceof Uint8Array) return { body: { _tag: "Bytes", bytes: options.body }, lines: [] }
  if (options.body !== undefined) {
    return `body must be a string, a Uint8Array or a Stream of Uint8Array, got ${describe(options.body)}`
  }
  return { body: { _tag: "Empty" }, lines: [] }
}

/** What the client needs from its layer. */
export interface ClientState {
  readonly config: Config
  readonly server: InProcessServer
  readonly jar: Jar
  /** Told of every response a hop gets (redirects included), for the exchange log. */
  readonly record?: ((response: TestResponse, method: string) => void) | undefined
}

/** A request checked and ready for its first hop. */
export interface Prepared {
  readonly first: Hop<Body>
  readonly callCookies: Readonly<Record<string, string>> | undefined
  readonly timeoutMillis: number
  readonly follow: boolean
  readonly maxRedirects: number
}

/** The headers every request starts from (the last ones built, kept: a client's accept-encoding does not change). */
let defaults: { readonly acceptEncoding: string; readonly lines: ReadonlyArray<readonly [string, string]> } | undefined
const defaultLines = (acceptEncoding: string): ReadonlyArray<readonly [string, string]> => {
  if (defaults === undefined || defaults.acceptEncoding !== acceptEncoding) {
    defaults = {
      acceptEncoding,
      lines: [
        ["user-agent", "effect-http-testkit"],
        ["accept", "*/*"],
        ...(acceptEncoding === "" ? [] : ([["accept-encoding", acceptEncoding]] as const))
      ]
    }
  }
  return defaults.lines
}

/** Checks a request's method, URL and options, and builds its first hop as a Node client frames it. */
export const prepare = (
  config: Config,
  method: string,
  url: string,
  input: RequestOptions | undefined
): Prepared | InvalidRequest => {
  const refuse = (reason: string) => new InvalidRequest({ method, url, reason })
  if (typeof method !== "string" || !tokenRe.test(method))
    return refuse(`the method ${describe(method)} is not a token`)
  if (input !== undefined && !isOptionBag(input))
    return refuse(`request options must be an object, got ${describe(input)}`)
  const options: RequestOptions = input ?? {}
  const unknown = unknownKeys(options as Readonly<Record<string, unknown>>, requestOptionNames, "option")
  if (unknown !== undefined) return refuse(unknown)
  if (typeof url !== "string") return refuse(`the URL must be a string such as "/users/1", got ${describe(url)}`)
  let target: URL
  try {
    target = resolveUrl(config.base, url)
  } catch {
    return refuse(`the URL ${describe(url)} does not resolve against the base URL ${config.base.href}`)
  }
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    return refuse(`only http(s) URLs can be requested, got ${describe(target.href)}`)
  }
  if (target.username !== "" || target.password !== "") {
    return refuse(
      "a URL with credentials (user:password@) cannot be requested here: send an authorization header instead"
    )
  }
  const paramsProblem = appendParams(target, options.params)
  if (paramsProblem !== undefined) return refuse(paramsProblem)
  const own = headerLines(options.headers, "headers")
  if (typeof own === "string") return refuse(own)
  const cookieProblem = options.cookies === undefined ? undefined : validateCookies(options.cookies)
  if (cookieProblem !== undefined) return refuse(cookieProblem)
  const body = bodyOf(options)
  if (typeof body === "string") return refuse(body)
  const upper = method.toUpperCase()
  if (upper === "CONNECT") {
    return refuse("Node's HTTP server never routes CONNECT to the app (the connection is reset)")
  }
  const timeoutMillis =
    options.timeout === undefined ? config.timeoutMillis : durationMillis("timeout", options.timeout)
  if (typeof timeoutMillis === "string") return refuse(timeoutMillis)
  const follow = options.followRedirects ?? config.followRedirects
  const followProblem = booleanProblem("followRedirects", follow)
  if (followProblem !== undefined) return refuse(followProblem)
  const maxRedirects = options.maxRedirects ?? config.maxRedirects
  const maxProblem = countProblem("maxRedirects", maxRedirects)
  if (maxProblem !== undefined) return refuse(maxProblem)

  const first: Hop<Body> = {
    method: upper === method ? method : upper,
    url: target,
    headerLines: mergeLines(defaultLines(config.acceptEncoding), config.headers, body.lines, own).filter(
      ([, value]) => value !== removed
    ),
    body: body.body
  }
  // A content-length the test gave must match a body known whole (a Stream body is checked as
  // it is produced, a multipart one once encoded).
  const sent = first.body
  if (sent._tag === "Empty" || (sent._tag === "Bytes" && sent.chunked !== true)) {
    const mismatch = lengthMismatch(first.headerLines, sent._tag === "Bytes" ? sent.bytes.length : 0)
    if (mismatch !== undefined) return refuse(mismatch)
  }
  // The client option's cookies are in the jar (seeded at the start); a call's replace them.
  const callCookies = options.cookies
  return { first, callCookies, timeoutMillis, follow, maxRedirects }
}

/** A Stream body opened for one hop: produced in the caller's context as the app reads it. */
export interface OpenedBody {
  readonly source: BodySource
  /** What went wrong with the body, once it failed (the request then fails with InvalidRequest). */
  readonly problem: () => string | undefined
  /**
   * Sends what the body has ready after the app is done with the request, as a socket client
   * keeps writing it: reads on while each chunk comes within a turn of the event loop, so a
   * body that fails (or gives a chunk that is no bytes) is found, and one still being produced
   * is left, as a client leaves it once it has the response.
   */
  readonly flush: Effect.Effect<void>
  /** Stops producing it: the hop is over. */
  readonly close: () => void
}

/**
 * Opens a Stream body for one hop (see `OpenedBody`), sent under `lines`: a content-length
 * among them is checked as the body is produced (it fails once past it, or ended short of it).
 */
export const openBody = (
  stream: Stream.Stream<Uint8Array, unknown>,
  lines: ReadonlyArray<readonly [string, string]>
): Effect.Effect<OpenedBody> =>
  Effect.withFiber((fiber) => {
    const reader = Stream.toReadableStreamWith(stream, fiber.context as Context.Context<never>).getReader()
    const declared = declaredLength(lines)
    const length = declared === undefined ? undefined : new StreamLength(declared)
    let problem: string | undefined
    let ended = false
    const fail = (reason: string): never => {
      problem ??= reason
      throw new Error(reason)
    }
    const read = () =>
      reader.read().then(
        (result) => {
          if (result.done) {
            const short = length?.end()
            if (short !== undefined) return fail(short)
            ended = true
            return undefined
          }
          if (!(result.value instanceof Uint8Array)) {
            reader.cancel().catch(() => {})
            return fail("a Stream body must emit Uint8Array chunks")
          }
          const over = length?.add(result.value.length)
          if (over !== undefined) {
            reader.cancel().catch(() => {})
            return fail(over)
          }
          return result.value
        },
        (cause: unknown) => fail(`the request body stream failed: ${String(cause)}`)
      )
    const flush = Effect.callback<void>((resume) => {
      let stopped = false
      let timer: ReturnType<typeof setImmediate> | undefined
      const stop = () => {
        if (stopped) return
        stopped = true
        if (timer !== undefined) clearImmediate(timer)
        resume(Effect.void)
      }
      const next = (): void => {
        if (stopped) return
        if (ended || problem !== undefined) {
          stop()
          return
        }
        if (timer !== undefined) clearImmediate(timer)
        // A chunk not ready within a turn of the event loop: the body is still being produced.
        timer = setImmediate(stop)
        read().then(next, stop)
      }
      next()
      return Effect.sync(stop)
    })
    return Effect.succeed({
      source: { read },
      flush,
      problem: () => problem,
      close: () => {
        reader.cancel().catch(() => {})
      }
    })
  })

/**
 * A prepared request whose Stream body is read whole first (for `TestRequest`, which hands the
 * handler a request with no client producing its body alongside); sent chunked all the same.
 */
export const loadStreamWhole = (
  prepared: Prepared,
  method: string,
  url: string
): Effect.Effect<Prepared, InvalidRequest> => {
  const body = prepared.first.body
  if (body._tag !== "Stream") return Effect.succeed(prepared)
  return Stream.runCollect(body.stream).pipe(
    Effect.mapError(
      (cause) => new InvalidRequest({ method, url, reason: `the request body stream failed: ${String(cause)}` })
    ),
    Effect.flatMap((chunks) => {
      const list = Array.from(chunks) as ReadonlyArray<unknown>
      if (list.some((chunk) => !(chunk instanceof Uint8Array))) {
        return Effect.fail(new InvalidRequest({ method, url, reason: "a Stream body must emit Uint8Array chunks" }))
      }
      const bytes = concat(list as ReadonlyArray<Uint8Array>)
      const mismatch = lengthMismatch(prepared.first.headerLines, bytes.length)
      if (mismatch !== undefined) return Effect.fail(new InvalidRequest({ method, url, reason: mismatch }))
      return Effect.succeed({
        ...prepared,
        first: { ...prepared.first, body: { _tag: "Bytes", bytes, chunked: true } }
      })
    })
  )
}

/** Reads a multipart body into bytes (with its content-type and framing), before the first hop. */
export const loadBody = (prepared: Prepared, method: string, url: string): Effect.Effect<Prepared, InvalidRequest> => {
  const body = prepared.first.body
  if (body._tag !== "Load") return Effect.succeed(prepared)
  return Effect.match(body.load, {
    onFailure: (reason) => new InvalidRequest({ method, url, reason }) as InvalidRequest | Prepared,
    onSuccess: ({ bytes, chunked, contentType }): InvalidRequest | Prepared => {
      const lines = prepared.first.headerLines
      const mismatch = chunked ? undefined : lengthMismatch(lines, bytes.length)
      if (mismatch !== undefined) return new InvalidRequest({ method, url, reason: mismatch })
      const given = lines.some(([name]) => name === "content-type")
      return {
        ...prepared,
        first: {
          ...prepared.first,
          headerLines: contentType === undefined || given ? lines : mergeLines(lines, [["content-type", contentType]]),
          body: { _tag: "Bytes", bytes, chunked }
        }
      }
    }
  }).pipe(Effect.flatMap((loaded) => (loaded instanceof InvalidRequest ? Effect.fail(loaded) : Effect.succeed(loaded))))
}

/** Sends a request, following redirects, and reads the response whole. */
export const request = (
  state: ClientState,
  method: string,
  url: string,
  input: RequestOptions | undefined
): Effect.Effect<TestResponse, InvalidRequest | ServerError | RequestTimeout | TooManyRedirects | ResponseError> =>
  Effect.suspend(() => {
    const config = state.config
    const checked = prepare(config, method, url, input)
    if (checked instanceof InvalidRequest) return Effect.fail(checked)
    // Sent at once (this runs when the request does) unless a body is to be read first.
    return checked.first.body._tag === "Load"
      ? Effect.flatMap(loadBody(checked, method, url), (prepared) => send(state, prepared))
      : send(state, checked)
  })

/** The hops of a prepared request: each sent, redirects followed. */
const send = (
  state: ClientState,
  prepared: Prepared
): Effect.Effect<TestResponse, InvalidRequest | ServerError | RequestTimeout | TooManyRedirects | ResponseError> => {
  const config = state.config
  const { first, timeoutMillis, follow, maxRedirects } = prepared
  let callCookies = prepared.callCookies
  const history: Array<TestResponse> = []
  const loop = (
    hop: Hop<Body>
  ): Effect.Effect<TestResponse, InvalidRequest | ServerError | RequestTimeout | TooManyRedirects | ResponseError> =>
    Effect.flatMap(sendHop(state, hop, callCookies, timeoutMillis), ([wire, sent, bodyProblem]) => {
      const hopUrl = hop.url.href
      // The request's own body failed: what the app answered to a cut-off request is beside the point.
      if (bodyProblem !== undefined) {
        return Effect.fail(new InvalidRequest({ method: hop.method, url: hopUrl, reason: bodyProblem }))
      }
      if (wire._tag === "Timeout") {
        return Effect.fail(
          new RequestTimeout({
            method: hop.method,
            url: hopUrl,
            timeout: Duration.millis(timeoutMillis),
            answered: wire.answered,
            where: wire.where
          })
        )
      }
      if (wire._tag === "NotServing") {
        return Effect.fail(
          new InvalidRequest({
            method: hop.method,
            url: hopUrl,
            reason: notServing(wire.stopped)
          })
        )
      }
      // A body that failed midway leaves no response to give, even with serverErrors: "respond".
      const cutOff = wire.cutOff
      if (
        wire.failure !== undefined &&
        (config.serverErrors === "fail" || cutOff !== undefined) &&
        isUnhandled(wire.failure)
      ) {
        return Effect.fail(
          withSpanId(
            new ServerError({
              method: hop.method,
              url: hopUrl,
              status: cutOff ?? wire.response.status,
              cause: withoutResponseMarker(wire.failure),
              ...(cutOff === undefined ? {} : { afterHeaders: true })
            }),
            wire.response.spanId
          )
        )
      }
      const response = toTestResponse(hop, wire.response, [...history], sent)
      if ("problem" in response) return Effect.fail(new ResponseError({ url: hopUrl, reason: response.problem }))
      state.jar.store(response.setCookie, hopUrl)
      state.record?.(response, hop.method)
      if (!follow) return Effect.succeed(response)
      const next = nextHop(hop, response.status, response.headers.location)
      if (next === undefined) return Effect.succeed(response)
      if ("problem" in next)
        return Effect.fail(new InvalidRequest({ method: hop.method, url: hopUrl, reason: next.problem }))
      if (history.length >= maxRedirects) {
        return Effect.fail(new TooManyRedirects({ method: first.method, url: first.url.href, maxRedirects }))
      }
      history.push(response)
      // Leaving the first hop's origin: the call's own cookies stay behind (the jar's follow
      // their own rules), and so does a Host header the test set for that origin.
      if (next.url.origin !== first.url.origin) {
        callCookies = undefined
        return loop({ ...next, headerLines: next.headerLines.filter(([name]) => name !== "host") })
      }
      return loop(next)
    })
  return loop(first)
}

/** One hop as a Node client frames it: what it sends, or Node's answer when its server refuses it. */
export const frame = (
  jar: Jar,
  hop: Hop<Body>,
  callCookies: Readonly<Record<string, string>> | undefined,
  remoteAddress?: string,
  /** A Stream body's source, opened for this hop. */
  streamed?: BodySource
):
  | { readonly _tag: "Refused"; readonly response: WireResponse }
  | { readonly _tag: "Send"; readonly outgoing: OutgoingRequest } => {
  const jarCookies = jar.header(hop.url.href)
  // The jar's and the call's cookies go in a line of their own after any cookie header the
  // test gave: Node's server folds them into one with "; ".
  const cookie = cookieHeader(jarCookies, callCookies)
  const bytes = hop.body._tag === "Bytes" ? hop.body.bytes : undefined
  const framing: Array<readonly [string, string]> =
    hop.body._tag === "Stream" || (hop.body._tag === "Bytes" && hop.body.chunked === true)
      ? [["transfer-encoding", "chunked"]]
      : bytes === undefined
        ? hop.method === "POST" || hop.method === "PUT" || hop.method === "PATCH"
          ? [["content-length", "0"]]
          : []
        : [["content-length", String(bytes.length)]]
  const lines = mergeLines([["host", hop.url.host]], hop.headerLines)
  if (cookie !== "") lines.push(["cookie", cookie])
  if (!hop.headerLines.some(([name]) => name === "content-length" || name === "transfer-encoding")) {
    lines.push(...framing)
  }
  const refusal = nodeRefusal(hop.method, `${hop.url.pathname}${hop.url.search}`, lines)
  if (refusal !== undefined && refusal._tag === "Respond") {
    return {
      _tag: "Refused",
      response: { status: refusal.status, headerLines: [["connection", "close"]], body: new Uint8Array(0) }
    }
  }
  // The URL as sent has no fragment (hop URLs are never changed once built: shared when it has none).
  let url = hop.url
  if (url.hash !== "") {
    url = new URL(hop.url.href)
    url.hash = ""
  }
  return {
    _tag: "Send",
    outgoing: { method: hop.method, url, headers: foldLines(lines), body: bytes ?? streamed, remoteAddress }
  }
}

/** One hop on the wire, refused as Node refuses it; with what went wrong with a Stream body, if it failed. */
const sendHop = (
  state: ClientState,
  hop: Hop<Body>,
  callCookies: Readonly<Record<string, string>> | undefined,
  timeoutMillis: number
): Effect.Effect<readonly [Dispatched, Readonly<Record<string, string>>, string | undefined]> => {
  // Framed when the hop is sent (the jar's cookies as they are then): `sendHop` runs when the
  // previous step does, and an opened body is framed once opened.
  const send = (opened: OpenedBody | undefined) => {
    const framed = frame(state.jar, hop, callCookies, state.config.remoteAddress, opened?.source)
    if (framed._tag === "Refused") {
      return Effect.succeed([
        { _tag: "Response", response: framed.response, failure: undefined },
        {},
        undefined
      ] as const)
    }
    // The headers as sent go with the response's request (the exchange log shows them).
    const dispatched = state.server.dispatch(framed.outgoing, timeoutMillis)
    if (opened === undefined)
      return Effect.map(dispatched, (wire) => [wire, framed.outgoing.headers, undefined] as const)
    return Effect.flatMap(dispatched, (wire) =>
      Effect.map(
        wire._tag !== "Response" ? Effect.void : opened.flush,
        () => [wire, framed.outgoing.headers, opened.problem()] as const
      )
    )
  }
  if (hop.body._tag !== "Stream") return send(undefined)
  return Effect.flatMap(openBody(hop.body.stream, hop.headerLines), (opened) =>
    Effect.ensuring(
      Effect.suspend(() => send(opened)),
      Effect.sync(() => opened.close())
    )
  )
}

/** The response as a client reads it: headers folded, Set-Cookie lines kept apart, the body decoded. */
const toTestResponse = (
  hop: Hop<Body>,
  wire: WireResponse,
  history: ReadonlyArray<TestResponse>,
  sent: Readonly<Record<string, string>>
): TestResponse | { readonly problem: string } => {
  // Built as the platform's Headers from the start (setting a record's prototype afterwards costs more).
  const headers: Record<string, string> = Object.create(headersProto)
  const setCookie: Array<string> = []
  for (const [name, value] of wire.headerLines) {
    const lower = name.toLowerCase()
    if (lower === "set-cookie") setCookie.push(value)
    else headers[lower] = headers[lower] === undefined ? value : `${headers[lower]}, ${value}`
  }
  const decoded = decodeBody(headers["content-encoding"], wire.body)
  if ("problem" in decoded) return decoded
  const bodyless = wire.status === 204 || wire.status === 205 || wire.status === 304 || hop.method === "HEAD"
  return new BufferedResponse(
    hop.method,
    hop.url.href,
    wire.status,
    headers as Headers.Headers,
    decoded.bytes,
    !bodyless && decoded.bytes.length > 0,
    setCookie,
    history,
    wire.spanId ?? "",
    sent
  )
}
