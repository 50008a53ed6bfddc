import * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type { HttpMethod } from "@effect/platform/HttpMethod"
import * as ServerError from "@effect/platform/HttpServerError"
import * as Respondable from "@effect/platform/HttpServerRespondable"
import * as ServerResponse from "@effect/platform/HttpServerResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { HeadersInput, Options, RequestOptions, Service, TestResponse } from "../Client.js"
import { ClientClosed, InvalidRequest, RequestTimeout, ServerError as TestServerError } from "./errors.js"
import { foldHeaderLines, type RequestBody, type RequestSource } from "./request.js"
import { BufferedSink, TestResponseImpl } from "./response.js"
import type { InProcessServer } from "./server.js"

/** @internal */
export class TestClient extends Context.Tag("effect-http-testkit/TestClient")<TestClient, Service>() {}

/** Client-wide settings with defaults applied. @internal */
export interface Config {
  /** `undefined` when `baseUrl` is not a valid absolute URL; requests then fail with `baseUrlProblem`. */
  readonly origin: string
  readonly basePath: string
  readonly baseUrlProblem: string | undefined
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly cookies: Readonly<Record<string, string>>
  readonly timeout: Duration.Duration
  readonly drainTimeout: Duration.Duration
  readonly serverErrors: "fail" | "respond"
  readonly remoteAddress: string
  readonly optionsProblem: string | undefined
}

/** @internal */
export const defaultBaseUrl = "http://testserver"

/** @internal */
export const makeConfig = (options: Options = {}): Config => {
  const problems: Array<string> = []
  let origin = defaultBaseUrl
  let basePath = ""
  let baseUrlProblem: string | undefined
  try {
    const url = new URL(options.baseUrl ?? defaultBaseUrl)
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`unsupported scheme ${url.protocol}`)
    origin = url.origin
    basePath = url.pathname.endsWith("/") ? url.pathname.slice(0, -1) : url.pathname
  } catch (cause) {
    baseUrlProblem = `the client option baseUrl ${JSON.stringify(options.baseUrl)} is not an absolute http(s) URL (${String(cause)}); use e.g. "http://testserver/api"`
  }
  const headers: Array<readonly [string, string]> = [
    ["user-agent", "effect-http-testkit"],
    ["accept", "*/*"]
  ]
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
  const cookieProblem = options.cookies === undefined ? undefined : validateCookies(options.cookies)
  if (cookieProblem !== undefined) problems.push(`client option cookies: ${cookieProblem}`)
  return {
    origin,
    basePath,
    baseUrlProblem,
    headers,
    cookies: options.cookies ?? {},
    timeout: duration("timeout", options.timeout, Duration.seconds(30)),
    drainTimeout: duration("drainTimeout", options.drainTimeout, Duration.seconds(5)),
    serverErrors: options.serverErrors ?? "fail",
    remoteAddress: options.remoteAddress ?? "127.0.0.1",
    optionsProblem: problems.length === 0 ? undefined : problems.join("; ")
  }
}

/** @internal */
export const make = (server: InProcessServer, config: Config): Service => {
  const request = (method: string, url: string, options: RequestOptions = {}) =>
    Effect.flatMap(prepare(config, method, url, options), (prepared) => exchange(server, config, prepared))
  const bind = (method: string) => (url: string, options?: RequestOptions) => request(method, url, options)
  return {
    request,
    get: bind("GET"),
    head: bind("HEAD"),
    post: bind("POST"),
    put: bind("PUT"),
    patch: bind("PATCH"),
    del: bind("DELETE"),
    options: bind("OPTIONS")
  }
}

// ---------------------------------------------------------------------------
// preparing a request
// ---------------------------------------------------------------------------

/** A request ready to send. @internal */
export interface Prepared {
  readonly method: string
  readonly url: URL
  readonly headerLines: ReadonlyArray<readonly [string, string]>
  readonly body: RequestBody
  readonly timeout: Duration.Duration
}

const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// RFC 9110 field values: visible ASCII, obs-text, space and tab; no CR, LF or NUL.
const invalidValueRe = /[^\t\x20-\x7e\x80-\xff]/

const describe = (value: string) => JSON.stringify(value)

/** Appends header lines from any accepted input; returns a problem description, if any. */
const mergeHeaderInput = (lines: Array<readonly [string, string]>, input: HeadersInput): string | undefined => {
  const incoming: Array<readonly [string, string]> = []
  const entries: Iterable<readonly [string, unknown]> =
    input instanceof globalThis.Headers ? input.entries() : Object.entries(input)
  for (const [name, value] of entries) {
    if (value === undefined) continue
    if (!tokenRe.test(name)) return `invalid header name ${describe(name)}: only token characters are allowed`
    const values: ReadonlyArray<unknown> = Array.isArray(value) ? value : [value]
    for (const v of values) {
      if (typeof v !== "string") return `header ${describe(name)} must be a string or an array of strings`
      if (invalidValueRe.test(v)) {
        return `invalid value for header ${describe(name)}: ${describe(v)} contains CR, LF, NUL or another control character`
      }
      incoming.push([name.toLowerCase(), v])
    }
  }
  // A name given here replaces earlier lines of that name (the defaults), rather than adding to them.
  const replaced = new Set(incoming.map(([name]) => name))
  for (let i = lines.length - 1; i >= 0; i--) {
    if (replaced.has(lines[i][0])) lines.splice(i, 1)
  }
  lines.push(...incoming)
  return undefined
}

const cookieValueRe = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/

const validateCookies = (cookies: Readonly<Record<string, string>>): string | undefined => {
  for (const [name, value] of Object.entries(cookies)) {
    if (!tokenRe.test(name)) return `invalid cookie name ${describe(name)}: only token characters are allowed`
    if (typeof value !== "string") return `cookie ${describe(name)} must have a string value`
  }
  return undefined
}

// Values travel percent-encoded when they hold characters a Cookie header cannot carry;
// platform's `Cookies.parseHeader` decodes them, so the app reads back exactly what was given.
const cookieHeader = (cookies: Readonly<Record<string, string>>): string =>
  Object.entries(cookies)
    .map(([name, value]) => `${name}=${cookieValueRe.test(value) ? value : encodeURIComponent(value)}`)
    .join("; ")

const absoluteUrlRe = /^[a-zA-Z][a-zA-Z\d+\-.]*:/

/** @internal */
export const resolveUrl = (config: Config, url: string): URL => {
  if (absoluteUrlRe.test(url)) return new URL(url)
  // Joined as text, not resolved: the base path is a prefix, and `//x` stays a path.
  const path = url === "" || url.startsWith("?") ? `/${url}` : url.startsWith("/") ? url : `/${url}`
  return new URL(`${config.origin}${config.basePath}${path}`)
}

const encoder = new TextEncoder()

const prepare = (
  config: Config,
  rawMethod: string,
  rawUrl: string,
  options: RequestOptions
): Effect.Effect<Prepared, InvalidRequest> => {
  const method = rawMethod.toUpperCase()
  const invalid = (reason: string, cause?: unknown) =>
    Effect.fail(new InvalidRequest({ method, url: rawUrl, reason, ...(cause === undefined ? {} : { cause }) }))

  if (config.baseUrlProblem !== undefined) return invalid(config.baseUrlProblem)
  if (config.optionsProblem !== undefined) return invalid(config.optionsProblem)
  if (!tokenRe.test(rawMethod)) return invalid(`invalid method ${describe(rawMethod)}: use a token such as "GET"`)
  if (typeof rawUrl !== "string") return invalid("the URL must be a string")

  let url: URL
  try {
    url = resolveUrl(config, rawUrl)
  } catch (cause) {
    return invalid(`invalid URL ${describe(rawUrl)}: give a path such as "/users?page=2" or an absolute URL`, cause)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return invalid(`unsupported URL scheme ${url.protocol} in ${describe(rawUrl)}: use http or https`)
  }
  if (options.params !== undefined) {
    try {
      const extra = UrlParams.toString(UrlParams.fromInput(options.params))
      if (extra !== "") url.search = url.search === "" ? extra : `${url.search.slice(1)}&${extra}`
    } catch (cause) {
      return invalid(
        "params must be a record of strings, numbers, booleans or arrays of them, or URLSearchParams",
        cause
      )
    }
  }

  const given = (["json", "form", "multipart", "body"] as const).filter((key) => options[key] !== undefined)
  if (given.length > 1) {
    return invalid(
      `give at most one body, but ${given.join(" and ")} were given: choose one of json, form, multipart, body`
    )
  }

  const headerLines: Array<readonly [string, string]> = [["host", url.host], ...config.headers]
  if (options.headers !== undefined) {
    const problem = mergeHeaderInput(headerLines, options.headers)
    if (problem !== undefined) return invalid(problem)
  }
  if (options.cookies !== undefined) {
    const problem = validateCookies(options.cookies)
    if (problem !== undefined) return invalid(`cookies: ${problem}`)
  }
  const cookies = options.cookies === undefined ? config.cookies : { ...config.cookies, ...options.cookies }
  for (const _ in cookies) {
    headerLines.push(["cookie", cookieHeader(cookies)])
    break
  }

  let timeout = config.timeout
  if (options.timeout !== undefined) {
    const decoded = Duration.decodeUnknown(options.timeout)
    if (Option.isNone(decoded))
      return invalid(`timeout ${String(options.timeout)} is not a Duration (use e.g. "5 seconds")`)
    timeout = decoded.value
  }

  const finish = (body: RequestBody, contentType: string | undefined): Prepared => {
    const has = (name: string) => headerLines.some(([n]) => n === name)
    if (contentType !== undefined && !has("content-type")) headerLines.push(["content-type", contentType])
    if (body._tag === "Bytes" && !has("content-length")) headerLines.push(["content-length", String(body.bytes.length)])
    if (body._tag === "Stream" && !has("content-length") && !has("transfer-encoding")) {
      headerLines.push(["transfer-encoding", "chunked"])
    }
    return { method, url, headerLines, body, timeout }
  }
  const bytes = (data: Uint8Array): RequestBody => (data.length === 0 ? emptyBody : { _tag: "Bytes", bytes: data })

  switch (given[0]) {
    case undefined:
      return Effect.succeed(finish(emptyBody, undefined))
    case "json": {
      let text: string | undefined
      try {
        text = JSON.stringify(options.json)
      } catch (cause) {
        return invalid(`the json body cannot be serialised: ${String(cause)}`, cause)
      }
      if (text === undefined) return invalid("the json body serialises to nothing (a function or symbol?)")
      return Effect.succeed(finish(bytes(encoder.encode(text)), "application/json"))
    }
    case "form": {
      try {
        const text = UrlParams.toString(UrlParams.fromInput(options.form!))
        return Effect.succeed(finish(bytes(encoder.encode(text)), "application/x-www-form-urlencoded"))
      } catch (cause) {
        return invalid(
          "form must be a record of strings, numbers, booleans or arrays of them, or URLSearchParams",
          cause
        )
      }
    }
    case "multipart": {
      let form: FormData
      try {
        form = toFormData(options.multipart!)
      } catch (cause) {
        return invalid(`multipart: ${cause instanceof Error ? cause.message : String(cause)}`, cause)
      }
      // The platform's own encoder picks the boundary, as fetch would.
      const encoded = new Response(form)
      return Effect.map(
        Effect.promise(() => encoded.arrayBuffer()),
        (buffer) => finish(bytes(new Uint8Array(buffer)), encoded.headers.get("content-type")!)
      )
    }
    case "body": {
      const body = options.body
      if (typeof body === "string")
        return Effect.succeed(finish(bytes(encoder.encode(body)), "text/plain;charset=UTF-8"))
      if (body instanceof Uint8Array) return Effect.succeed(finish(bytes(body), undefined))
      if (typeof body === "object" && body !== null && Stream.StreamTypeId in body) {
        return Effect.succeed(finish({ _tag: "Stream", stream: body as Stream.Stream<Uint8Array, unknown> }, undefined))
      }
      return invalid("body must be a string, a Uint8Array or a Stream<Uint8Array>")
    }
  }
}

const emptyBody: RequestBody = { _tag: "Empty" }

const toFormData = (input: NonNullable<RequestOptions["multipart"]>): FormData => {
  if (input instanceof FormData) return input
  const form = new FormData()
  for (const [name, value] of Object.entries(input)) {
    const values: ReadonlyArray<unknown> = Array.isArray(value) ? value : [value]
    for (const v of values) {
      if (typeof v === "string") form.append(name, v)
      else if (v instanceof Blob) form.append(name, v, v instanceof File ? v.name : "blob")
      else throw new Error(`field ${describe(name)} must be a string, Blob or File`)
    }
  }
  return form
}

// ---------------------------------------------------------------------------
// the exchange
// ---------------------------------------------------------------------------

const timedOut = Symbol("timedOut")

/** Waits for the handler fiber, bounded on the wall clock so TestClock cannot stall it. */
const awaitFiber = <A>(
  fiber: Fiber.RuntimeFiber<A, unknown>,
  timeout: Duration.Duration
): Effect.Effect<Exit.Exit<A, unknown> | typeof timedOut> =>
  Effect.async((resume) => {
    const millis = Duration.toMillis(timeout)
    const timer = Number.isFinite(millis) ? setTimeout(() => resume(Effect.succeed(timedOut)), millis) : undefined
    const observer = (exit: Exit.Exit<A, unknown>) => {
      if (timer !== undefined) clearTimeout(timer)
      resume(Effect.succeed(exit))
    }
    fiber.addObserver(observer)
    return Effect.sync(() => {
      if (timer !== undefined) clearTimeout(timer)
      fiber.removeObserver(observer)
    })
  })

/**
 * Disconnects a handler the way a closed socket does in platform-node (interruption by
 * `clientAbortFiberId`) and waits for it to stop, at most `drainTimeout`.
 *
 * @internal
 */
export const disconnect = (fiber: Fiber.RuntimeFiber<unknown, unknown>, config: Config): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    fiber.unsafeInterruptAsFork(ServerError.clientAbortFiberId)
    return Effect.map(awaitFiber(fiber, config.drainTimeout), (result) => result !== timedOut)
  })

const exchange = (
  server: InProcessServer,
  config: Config,
  prepared: Prepared
): Effect.Effect<TestResponse, RequestTimeout | TestServerError | ClientClosed> =>
  Effect.suspend((): Effect.Effect<TestResponse, RequestTimeout | TestServerError | ClientClosed> => {
    const url = prepared.url.href
    if (server.closed) return Effect.fail(new ClientClosed({ method: prepared.method, url, reason: "ScopeClosed" }))
    const sink = new BufferedSink()
    const source: RequestSource = {
      method: prepared.method,
      url: prepared.url.pathname + prepared.url.search,
      headers: foldHeaderLines(prepared.headerLines),
      body: prepared.body,
      remoteAddress: config.remoteAddress,
      sink
    }
    const fiber = server.dispatch(source)
    if (fiber === undefined)
      return Effect.fail(new ClientClosed({ method: prepared.method, url, reason: "NotServing" }))
    return awaitFiber(fiber, prepared.timeout).pipe(
      Effect.onInterrupt(() => disconnect(fiber, config)),
      Effect.flatMap((exit): Effect.Effect<TestResponse, RequestTimeout | TestServerError> => {
        if (exit === timedOut) {
          return Effect.flatMap(disconnect(fiber, config), (handlerStopped) =>
            Effect.fail(new RequestTimeout({ method: prepared.method, url, timeout: prepared.timeout, handlerStopped }))
          )
        }
        const cause = exit._tag === "Failure" ? exit.cause : undefined
        if (
          cause !== undefined &&
          (sink.truncated || !sink.headersSent || (config.serverErrors === "fail" && isUnhandled(cause)))
        ) {
          return Effect.fail(
            new TestServerError({
              method: prepared.method,
              url,
              status: sink.headersSent ? sink.status : 500,
              cause: withoutResponseMarker(cause)
            })
          )
        }
        return Effect.succeed(
          new TestResponseImpl(
            () => toClientRequest(prepared),
            sink.status,
            sink.headers!,
            sink.setCookie,
            prepared.method === "HEAD" ? new Uint8Array(0) : sink.body(),
            url,
            []
          )
        )
      })
    )
  })

/**
 * Whether a handler's failure is one the app did not turn into a response itself:
 * anything but Respondable errors (404 RouteNotFound, HttpApi errors, responses used as
 * errors) and the client's own disconnect.
 *
 * @internal
 */
export const isUnhandled = (cause: Cause.Cause<unknown>): boolean =>
  Cause.reduce(cause, false, (found, part) => {
    if (found) return Option.some(true)
    switch (part._tag) {
      case "Fail":
        return Respondable.isRespondable(part.error) ? Option.none() : Option.some(true)
      case "Die":
        return Respondable.isRespondable(part.defect) ? Option.none() : Option.some(true)
      case "Interrupt":
        return part.fiberId === ServerError.clientAbortFiberId ? Option.none() : Option.some(true)
      default:
        return Option.none()
    }
  })

// `toHandled` appends the error response it sent as a defect; the user wants their own cause.
const withoutResponseMarker = (cause: Cause.Cause<unknown>): Cause.Cause<unknown> =>
  Option.getOrElse(
    Cause.stripSomeDefects(cause, (defect) =>
      ServerResponse.isServerResponse(defect) ? Option.some(Cause.empty) : Option.none()
    ),
    () => cause
  )

const toClientRequest = (prepared: Prepared): HttpClientRequest.HttpClientRequest => {
  const lines = prepared.headerLines.filter(([name]) => name !== "content-type" && name !== "content-length")
  const contentType = prepared.headerLines.find(([name]) => name === "content-type")?.[1]
  const body = prepared.body
  return HttpClientRequest.make(prepared.method as HttpMethod)(prepared.url, {
    headers: Headers.fromInput(lines as Array<[string, string]>),
    body:
      body._tag === "Empty"
        ? HttpBody.empty
        : body._tag === "Bytes"
          ? HttpBody.uint8Array(body.bytes, contentType)
          : HttpBody.stream(body.stream, contentType)
  })
}
