import * as UrlParams from "@effect/platform/UrlParams"
import {
  booleanProblem,
  countProblem,
  declaredLength,
  describe,
  isOptionBag,
  lengthMismatch,
  StreamLength,
  tokenRe,
  unknownKeys,
  validateCookies
} from "@effect-http-testkit/core"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { RequestOptions } from "../Client.js"
import { type Config, decodeBound, mergeHeaderInput } from "./config.js"
import { InvalidRequest } from "./errors.js"
import type { RequestBody } from "./request.js"

/**
 * One request on the wire, before the `host` and `cookie` headers, which are computed for
 * each hop of a redirect chain.
 *
 * @internal
 */
export interface Hop {
  readonly method: string
  readonly url: URL
  readonly headerLines: ReadonlyArray<readonly [string, string]>
  readonly body: RequestBody
}

/** A validated request: its first hop and the settings of the whole call. @internal */
export interface Prepared extends Hop {
  readonly timeout: Duration.Duration
  readonly cookies: Readonly<Record<string, string>> | undefined
  readonly followRedirects: boolean
  readonly maxRedirects: number
}

const absoluteUrlRe = /^[a-zA-Z][a-zA-Z\d+\-.]*:/

/** @internal */
export const resolveUrl = (config: Config, url: string): URL => {
  if (absoluteUrlRe.test(url)) return new URL(url)
  // Joined as text, not resolved: the base path is a prefix, and `//x` stays a path.
  const path = url === "" || url.startsWith("?") ? `/${url}` : url.startsWith("/") ? url : `/${url}`
  return new URL(`${config.origin}${config.basePath}${path}`)
}

const encoder = new TextEncoder()
const emptyBody: RequestBody = { _tag: "Empty" }
const bodyKeys = ["json", "form", "multipart", "body"] as const
const optionNames = [
  "params",
  "headers",
  "cookies",
  "json",
  "form",
  "multipart",
  "body",
  "timeout",
  "followRedirects",
  "maxRedirects"
]

/**
 * Validates a request and encodes its body. Every problem becomes an `InvalidRequest` whose
 * message says what to fix.
 *
 * @internal
 */
export const prepare = (
  config: Config,
  rawMethod: string,
  rawUrl: string,
  options: RequestOptions
): Effect.Effect<Prepared, InvalidRequest> => {
  const prepared = prepareNow(config, rawMethod, rawUrl, options)
  return Effect.isEffect(prepared) ? prepared : Effect.succeed(prepared)
}

/**
 * A `Content-Length` the test gave, checked against the body it sends (the core's
 * `contentLength`): a whole body at once, a Stream body as it is produced, failing it (and so
 * the request, with `InvalidRequest`) once it has gone past or ended short of its header.
 */
const checkLength = (lines: ReadonlyArray<readonly [string, string]>, body: RequestBody): RequestBody | string => {
  if (body._tag !== "Stream") return lengthMismatch(lines, body._tag === "Bytes" ? body.bytes.length : 0) ?? body
  const declared = declaredLength(lines)
  if (declared === undefined) return body
  return {
    _tag: "Stream",
    stream: Stream.suspend(() => {
      const length = new StreamLength(declared)
      const check = (problem: string | undefined) =>
        problem === undefined ? Effect.void : Effect.fail(new Error(problem))
      return body.stream.pipe(
        Stream.tap((chunk) => check(chunk instanceof Uint8Array ? length.add(chunk.length) : undefined)),
        Stream.concat(Stream.execute(Effect.suspend(() => check(length.end()))))
      )
    })
  }
}

/**
 * {@link prepare} without an effect where none is needed: the request itself when it is
 * ready at once (every body but multipart), else an effect that fails with the problem or
 * encodes the body. Requests are on every test's path: no step is spent on them.
 *
 * @internal
 */
export const prepareNow = (
  config: Config,
  rawMethod: string,
  rawUrl: string,
  options: RequestOptions
): Prepared | Effect.Effect<Prepared, InvalidRequest> => {
  const method = typeof rawMethod === "string" ? rawMethod.toUpperCase() : String(rawMethod)
  const invalid = (reason: string, cause?: unknown) =>
    Effect.fail(new InvalidRequest({ method, url: String(rawUrl), reason, ...(cause === undefined ? {} : { cause }) }))

  if (config.problem !== undefined) return invalid(config.problem)
  const bag: unknown = options
  if (!isOptionBag(bag)) {
    return invalid(`the request options must be an object such as { headers: { ... } }, got ${describe(options)}`)
  }
  const unknown = unknownKeys(bag, optionNames, "option")
  if (unknown !== undefined) return invalid(unknown)
  if (typeof rawMethod !== "string" || !tokenRe.test(rawMethod)) {
    return invalid(`invalid method ${describe(rawMethod)}: use a token such as "GET"`)
  }
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
    const problem = urlParamsProblem(options.params, "params")
    if (problem !== undefined) return invalid(problem)
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

  const given = bodyKeys.filter((key) => options[key] !== undefined)
  if (given.length > 1) {
    return invalid(
      `give at most one body, but ${given.join(" and ")} were given: choose one of json, form, multipart, body`
    )
  }

  const headerLines: Array<readonly [string, string]> = [...config.headers]
  if (options.headers !== undefined) {
    const problem = mergeHeaderInput(headerLines, options.headers)
    if (problem !== undefined) return invalid(problem)
  }
  if (options.cookies !== undefined) {
    const problem = validateCookies(options.cookies)
    if (problem !== undefined) return invalid(`cookies: ${problem}`)
  }

  let timeout = config.timeout
  if (options.timeout !== undefined) {
    const decoded = decodeBound("timeout", options.timeout)
    if (typeof decoded === "string") return invalid(decoded)
    timeout = decoded
  }
  let maxRedirects = config.maxRedirects
  if (options.maxRedirects !== undefined) {
    const problem = countProblem("maxRedirects", options.maxRedirects)
    if (problem !== undefined) return invalid(problem)
    maxRedirects = options.maxRedirects
  }
  if (options.followRedirects !== undefined) {
    const problem = booleanProblem("followRedirects", options.followRedirects)
    if (problem !== undefined) return invalid(problem)
  }

  // Called once per run of the request's effect (the client prepares when run): a retried
  // effect sends a fresh request.
  const finish = (
    raw: RequestBody,
    contentType: string | undefined
  ): Prepared | Effect.Effect<Prepared, InvalidRequest> => {
    // `headerLines` is this call's own copy: a bodyless request (most) sends it as it is.
    const lines = headerLines
    const has = (name: string) => lines.some(([n]) => n === name)
    const body = checkLength(lines, raw)
    if (typeof body === "string") return invalid(body)
    if (contentType !== undefined && !has("content-type")) lines.push(["content-type", contentType])
    if (body._tag === "Bytes" && !has("content-length")) lines.push(["content-length", String(body.bytes.length)])
    if (body._tag === "Stream" && !has("content-length") && !has("transfer-encoding")) {
      lines.push(["transfer-encoding", "chunked"])
    }
    return {
      method,
      url,
      headerLines: lines,
      body,
      timeout,
      cookies: options.cookies,
      followRedirects: options.followRedirects ?? config.followRedirects,
      maxRedirects
    }
  }
  const bytes = (data: Uint8Array): RequestBody => (data.length === 0 ? emptyBody : { _tag: "Bytes", bytes: data })

  switch (given[0]) {
    case undefined:
      return finish(emptyBody, undefined)
    case "json": {
      let text: string | undefined
      try {
        text = JSON.stringify(options.json)
      } catch (cause) {
        return invalid(`the json body cannot be serialised: ${String(cause)}`, cause)
      }
      if (text === undefined) return invalid("the json body serialises to nothing (a function or symbol?)")
      return finish(bytes(encoder.encode(text)), "application/json")
    }
    case "form": {
      const problem = urlParamsProblem(options.form, "form")
      if (problem !== undefined) return invalid(problem)
      try {
        const text = UrlParams.toString(UrlParams.fromInput(options.form!))
        return finish(bytes(encoder.encode(text)), "application/x-www-form-urlencoded")
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
      // The platform's own encoder picks the boundary, as fetch would; a body is read once,
      // so each run encodes afresh.
      return Effect.flatMap(
        Effect.promise(async () => {
          const encoded = new Response(form)
          return { buffer: await encoded.arrayBuffer(), contentType: encoded.headers.get("content-type")! }
        }),
        ({ buffer, contentType }) => {
          const ready = finish(bytes(new Uint8Array(buffer)), contentType)
          return Effect.isEffect(ready) ? ready : Effect.succeed(ready)
        }
      )
    }
    case "body": {
      const body = options.body
      if (typeof body === "string") return finish(bytes(encoder.encode(body)), "text/plain;charset=UTF-8")
      if (body instanceof Uint8Array) return finish(bytes(body), undefined)
      if (typeof body === "object" && body !== null && Stream.StreamTypeId in body) {
        return finish({ _tag: "Stream", stream: bytesOnly(body as Stream.Stream<unknown, unknown>) }, undefined)
      }
      return invalid("body must be a string, a Uint8Array or a Stream<Uint8Array>")
    }
  }
}

const toFormData = (input: NonNullable<RequestOptions["multipart"]>): FormData => {
  if (input instanceof FormData) return input
  if (!isPlainObject(input)) {
    throw new Error(
      `multipart must be a FormData or a record of strings, Blobs or Files (or arrays of them), got ${describe(input)}`
    )
  }
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

const isPlainObject = (value: unknown): value is Readonly<Record<string, unknown>> => {
  if (typeof value !== "object" || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** A query or form value the platform would send as written; anything else it would `String()`. */
const leafProblem = (value: unknown): string | undefined => {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "bigint":
    case "undefined":
      return undefined
    case "number":
      return Number.isFinite(value) ? undefined : `is ${describe(value)}`
    default:
      return `is ${describe(value)}`
  }
}

/**
 * What is wrong with `params` or `form` input, if anything. `UrlParams.fromInput` sends
 * `String(value)` for whatever it is given — `"NaN"`, `"null"`, `"[object Object]"`, a
 * function's source — and drops a Date or Map nested in a record: each is refused here.
 *
 * @internal
 */
export const urlParamsProblem = (input: unknown, what: string): string | undefined => {
  const fix = (name: string, problem: string) =>
    `${what} must be strings, finite numbers, booleans or arrays of them (nested records give a[b]=...), but ${describe(name)} ${problem}`
  if (input instanceof URLSearchParams) return undefined
  if (typeof input !== "object" || input === null) {
    return `${what} must be a record of strings, numbers, booleans or arrays of them, or URLSearchParams, got ${describe(input)}`
  }
  if (Symbol.iterator in input) {
    for (const entry of input as Iterable<unknown>) {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string") {
        return `${what} given as an iterable must hold [name, value] pairs, got ${describe(entry)}`
      }
      const problem = leafProblem(entry[1])
      if (problem !== undefined) return fix(entry[0], problem)
    }
    return undefined
  }
  const walk = (record: object, path: ReadonlyArray<string>): string | undefined => {
    for (const [key, value] of Object.entries(record)) {
      const keys = [...path, key]
      const name = keys.length === 1 ? key : `${keys[0]}[${keys.slice(1).join("][")}]`
      if (Array.isArray(value)) {
        for (const element of value) {
          const problem = leafProblem(element)
          if (problem !== undefined) return fix(name, `holds a value that ${problem}`)
        }
      } else if (typeof value === "object" && value !== null) {
        // A nested record becomes `a[b]=...`; any other object would be dropped or mangled.
        if (!isPlainObject(value)) return fix(name, `is ${describe(value)}`)
        const problem = walk(value, keys)
        if (problem !== undefined) return problem
      } else {
        const problem = leafProblem(value)
        if (problem !== undefined) return fix(name, problem)
      }
    }
    return undefined
  }
  return walk(input, [])
}

/**
 * A body Stream as sent: one that emits something other than `Uint8Array` fails (and so
 * fails the request with `InvalidRequest`) instead of handing the app what no socket carries.
 */
const bytesOnly = (stream: Stream.Stream<unknown, unknown>): Stream.Stream<Uint8Array, unknown> =>
  Stream.mapChunksEffect(stream, (chunk) => {
    for (const item of chunk) {
      if (!(item instanceof Uint8Array)) {
        return Effect.fail(
          new Error(
            `the body Stream emitted ${describe(item)}: a body Stream must emit Uint8Array chunks (encode text with TextEncoder)`
          )
        )
      }
    }
    return Effect.succeed(chunk as typeof chunk & Iterable<Uint8Array>)
  }) as Stream.Stream<Uint8Array, unknown>
