/**
 * The platform `HttpClient`, sent in process: what `TestClient.layerTest` provides where
 * `NodeHttpServer.layerTest` provides a fetch client aimed at a real socket. Requests reach
 * the app through the same in-process server as `TestClient`'s; responses come back as
 * fetch returns them (the body decoded, the status and headers as sent, server errors as
 * the response production sends).
 *
 * @internal
 */
import { pipeline, Readable } from "node:stream"
import type { ReadableStream as NodeReadableStream } from "node:stream/web"
import {
  type Hop as CoreHop,
  codings,
  decodeBody,
  foldLines,
  invalidValueRe,
  isRedirect,
  nextHop,
  nodeRefusal,
  streamDecoder,
  tokenRe
} from "@effect-http-testkit/core"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { HttpClient, HttpClientError, HttpClientRequest, HttpClientResponse, type HttpMethod } from "effect/http"
import * as Stream from "effect/Stream"
import { notServing } from "./options.js"
import { concat, type InProcessServer } from "./server.js"

type Request = HttpClientRequest.HttpClientRequest

const transportError = (request: Request, description: string, cause?: unknown) =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.TransportError({ request, description, ...(cause === undefined ? {} : { cause }) })
  })

/** The request body as bytes and the headers that describe it. */
const bodyOf = (
  request: Request
): Effect.Effect<
  { readonly bytes: Uint8Array | undefined; readonly lines: ReadonlyArray<readonly [string, string]> },
  HttpClientError.HttpClientError
> => {
  const body = request.body
  const typed = (bytes: Uint8Array, contentType: string | undefined) => ({
    bytes,
    lines: contentType === undefined ? [] : ([["content-type", contentType]] as const)
  })
  switch (body._tag) {
    case "Empty":
      return Effect.succeed({ bytes: undefined, lines: [] })
    case "Uint8Array":
      return Effect.succeed(typed(body.body, body.contentType))
    case "Raw":
    case "FormData":
      return Effect.tryPromise({
        try: async () => {
          const web = new Response(body._tag === "FormData" ? body.formData : (body.body as BodyInit))
          // fetch types a body it encodes itself: a string as text/plain;charset=UTF-8, a
          // URLSearchParams as urlencoded, a Blob by its type, FormData with its boundary.
          const contentType =
            body._tag === "FormData"
              ? (web.headers.get("content-type") ?? undefined)
              : (body.contentType ?? web.headers.get("content-type") ?? undefined)
          return typed(new Uint8Array(await web.arrayBuffer()), contentType)
        },
        catch: (cause) => transportError(request, "the request body could not be read", cause)
      })
    case "Stream":
      return Stream.runCollect(body.stream).pipe(
        Effect.map((chunks) => typed(concat(Array.from(chunks)), body.contentType)),
        Effect.mapError((cause) => transportError(request, "the request body stream failed", cause))
      )
  }
}

/** A value as fetch sends it: leading and trailing HTTP whitespace (tab, space, CR, LF) removed. */
const trimmed = (value: string): string => value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "")

/**
 * Why fetch refuses to send a header, if it does: a name that is not a token, or a value (once
 * trimmed) with a CR, LF, NUL or other control character, or a character beyond Latin-1 (undici
 * throws before sending anything).
 */
const refusedHeader = (name: string, value: string): string | undefined => {
  if (!tokenRe.test(name)) {
    return `fetch cannot send the header name ${JSON.stringify(name)}: only token characters are allowed`
  }
  if (invalidValueRe.test(trimmed(value))) {
    return (
      `fetch cannot send the value of header ${JSON.stringify(name)}: it contains a CR, LF, NUL or other control ` +
      "character, or a character beyond Latin-1 (encode it, e.g. with encodeURIComponent)"
    )
  }
  return undefined
}

/** The methods undici frames with `content-length: 0` when they have no body. */
const expectsPayload = new Set(["POST", "PUT", "PATCH", "QUERY", "PROPFIND", "PROPPATCH"])

/** Methods fetch refuses to send. */
const webRefused = new Set(["CONNECT", "TRACE", "TRACK"])

/** The headers Node's fetch sends when a request does not set them. */
const fetchDefaults: ReadonlyArray<readonly [string, string]> = [
  ["accept", "*/*"],
  ["accept-language", "*"],
  ["sec-fetch-mode", "cors"],
  ["user-agent", "node"],
  ["accept-encoding", "gzip, deflate"]
]

/** One hop as the in-process server receives it (a Stream body is sent chunked, as fetch sends it). */
type Hop = CoreHop<
  { readonly _tag: "Empty" } | { readonly _tag: "Bytes"; readonly bytes: Uint8Array; readonly chunked: boolean }
>

/** The platform client, and how to end the exchanges whose body the test has not read to its end. */
export interface PlatformClient {
  readonly client: HttpClient.HttpClient
  /**
   * Disconnects every response whose body was not read to its end: its handler is interrupted
   * as a client abort, as a closed connection interrupts it, and a read after fails saying so.
   * Run when the client's scope closes, before the app stops serving.
   */
  readonly disconnect: () => void
}

/**
 * The platform client sending to `server`, relative URLs resolved against `base`. Like the
 * fetch client of `NodeHttpServer.layerTest`, it follows redirects (up to 20, changing the
 * method as fetch does) and decodes `content-encoding`. `answered` learns each handler whose
 * whole response the client has (a body delivered whole, or a streamed one read to its end).
 */
export const make = (
  server: InProcessServer,
  base: URL,
  timeoutMillis: () => number,
  answered: (handler: Fiber.Fiber<void> | undefined) => void,
  /** Each hop's exchange, as it arrives: the request as that hop sent it, and its response. */
  record: (
    request: HttpClientRequest.HttpClientRequest,
    response: HttpClientResponse.HttpClientResponse
  ) => void = () => {}
): PlatformClient => {
  const bodies = new OpenBodies()
  const client = HttpClient.make((request, url) =>
    Effect.flatMap(bodyOf(request), ({ bytes, lines }) => {
      const method = request.method.toUpperCase()
      if (webRefused.has(method)) return Effect.fail(transportError(request, `fetch cannot send a ${method} request`))
      if ((method === "GET" || method === "HEAD") && bytes !== undefined) {
        return Effect.fail(transportError(request, `fetch cannot send a ${method} request with a body`))
      }
      const headerLines: Array<readonly [string, string]> = []
      // fetch computes content-length from the body and sends it after its defaults.
      for (const [name, value] of Object.entries(request.headers)) {
        const refused = refusedHeader(name, value)
        if (refused !== undefined) return Effect.fail(transportError(request, refused))
        if (name !== "content-length" || bytes === undefined) headerLines.push([name, trimmed(value)])
      }
      for (const line of lines) if (request.headers[line[0]] === undefined) headerLines.push(line)
      // What the fetch client of NodeHttpServer.layerTest adds when the request has none.
      for (const line of fetchDefaults) if (request.headers[line[0]] === undefined) headerLines.push(line)
      const target = new URL(url.href)
      target.hash = ""
      // A Stream body goes chunked, as fetch sends one.
      const chunked = request.body._tag === "Stream"
      const first: Hop = {
        method: request.method,
        url: target,
        headerLines,
        body: bytes === undefined ? { _tag: "Empty" } : { _tag: "Bytes", bytes, chunked }
      }
      const loop = (
        hop: Hop,
        redirects: number
      ): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
        Effect.flatMap(sendHop(server, request, hop, timeoutMillis()), (outcome) => {
          // A body delivered whole: the client has the whole response.
          if (outcome.handler !== undefined && outcome.body instanceof Uint8Array) answered(outcome.handler())
          const location = outcome.headers.get("location") ?? undefined
          const next = nextHop(hop, outcome.status, location, "fetch")
          // fetch fails on a redirect it cannot follow: a Location that is no http(s) URL.
          if (next === undefined && isRedirect(outcome.status) && location !== undefined) {
            return Effect.fail(
              transportError(request, `fetch cannot follow the redirect to ${JSON.stringify(location)}`)
            )
          }
          // The request as this hop sent it (a followed redirect's is not the caller's).
          const sentBy =
            hop === first
              ? request
              : HttpClientRequest.make(hop.method as HttpMethod.HttpMethod)(hop.url, {
                  headers: Object.fromEntries(hop.headerLines)
                })
          if (next === undefined) {
            const handler = outcome.handler
            const body =
              outcome.body instanceof Uint8Array || handler === undefined
                ? outcome.body
                : bodies.track(outcome.body, () => answered(handler()))
            const response = toResponse(request, hop, { ...outcome, body })
            record(sentBy, response)
            return Effect.succeed(response)
          }
          // ... or one that must send a streamed body again.
          if (next !== undefined && !("problem" in next) && next.body._tag === "Bytes" && next.body.chunked) {
            return Effect.fail(transportError(request, "fetch cannot send a streamed request body again on a redirect"))
          }
          // The redirect's own body is not read: cancelling it ends its handler as a client abort.
          if (!(outcome.body instanceof Uint8Array)) void outcome.body.cancel().catch(() => undefined)
          if ("problem" in next) return Effect.fail(transportError(request, next.problem))
          if (redirects >= 20) return Effect.fail(transportError(request, "more than 20 redirects (fetch's limit)"))
          // The redirect is an exchange of its own in the log (its body not kept).
          record(sentBy, toResponse(sentBy, hop, { ...outcome, body: new Uint8Array(0) }))
          return loop(next, redirects + 1)
        })
      return loop(first, 0)
    })
  ).pipe(HttpClient.mapRequest((request) => withBase(base, request)))
  return { client, disconnect: () => bodies.disconnect() }
}

/**
 * The streamed response bodies the test has not read to their end. Each is read through a
 * stream of the kit's own (pulled only as the test reads, so the handler's backpressure is
 * kept), so it can be disconnected whether or not the test has started reading it.
 */
class OpenBodies {
  private readonly open = new Set<() => void>()

  /** `body` as the test reads it; `complete` runs once it has been read to its end. */
  track(body: ReadableStream<Uint8Array>, complete: () => void): ReadableStream<Uint8Array> {
    const reader = body.getReader()
    let controller!: ReadableStreamDefaultController<Uint8Array>
    let settled = false
    const settle = (): boolean => {
      if (settled) return false
      settled = true
      this.open.delete(disconnect)
      return true
    }
    const disconnect = () => {
      if (!settle()) return
      // The in-process body's cancel interrupts its handler as a client abort.
      reader.cancel().catch(() => undefined)
      controller.error(
        new Error("the client's scope closed, which disconnected the handler: read the body inside that scope")
      )
    }
    this.open.add(disconnect)
    return new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          controller = c
        },
        pull: () =>
          reader.read().then(
            (result) => {
              if (settled) return
              if (!result.done) return controller.enqueue(result.value)
              settle()
              complete()
              controller.close()
            },
            (error: unknown) => {
              if (settle()) controller.error(error)
            }
          ),
        cancel: (reason) => {
          settle()
          return reader.cancel(reason)
        }
      },
      { highWaterMark: 0 }
    )
  }

  disconnect(): void {
    for (const disconnect of Array.from(this.open)) disconnect()
  }
}

const absoluteUrlRe = /^[a-zA-Z][a-zA-Z\d+\-.]*:/

/**
 * A relative URL joined to the base URL, its path prefix kept (`/x` against
 * `http://api.test/seen` is `http://api.test/seen/x`), as `prependUrl` joins: `""` names the
 * base itself, `?q=1` its query. An absolute URL is kept as given (the Effect 3 edition's rule;
 * `NodeHttpServer.layerTest`, whose base is only its origin, prepends it to an absolute URL too).
 */
const withBase = (base: URL, request: Request): Request => {
  if (absoluteUrlRe.test(request.url)) return request
  const prefix = `${base.origin}${base.pathname.endsWith("/") ? base.pathname.slice(0, -1) : base.pathname}`
  const url = request.url
  return HttpClientRequest.setUrl(
    request,
    url === "" || url.startsWith("/") || url.startsWith("?") ? `${prefix}${url}` : `${prefix}/${url}`
  )
}

interface Outcome {
  readonly status: number
  readonly headers: globalThis.Headers
  readonly body: Uint8Array | ReadableStream<Uint8Array>
  /** The handler that answered (none for a response Node's parser gives before any handler). */
  readonly handler?: (() => Fiber.Fiber<void> | undefined) | undefined
}

const sendHop = (
  server: InProcessServer,
  request: Request,
  hop: Hop,
  timeoutMillis: number
): Effect.Effect<Outcome, HttpClientError.HttpClientError> => {
  const lines: Array<readonly [string, string]> = [["host", hop.url.host], ...hop.headerLines]
  const bytes = hop.body._tag === "Bytes" ? hop.body.bytes : undefined
  const hasLength = hop.headerLines.some(([name]) => name === "content-length")
  if (hop.body._tag === "Bytes" && !hasLength) {
    lines.push(hop.body.chunked ? ["transfer-encoding", "chunked"] : ["content-length", String(hop.body.bytes.length)])
  }
  // fetch (undici) sends `content-length: 0` when a method that expects a payload has no body.
  if (hop.body._tag === "Empty" && !hasLength && expectsPayload.has(hop.method)) {
    lines.push(["content-length", "0"])
  }
  const refusal = nodeRefusal(hop.method, `${hop.url.pathname}${hop.url.search}`, lines)
  if (refusal?._tag === "Reset") return Effect.fail(transportError(request, refusal.reason))
  if (refusal?._tag === "Respond") {
    return Effect.succeed({
      status: refusal.status,
      headers: new globalThis.Headers({ connection: "close" }),
      body: new Uint8Array(0)
    })
  }
  return Effect.flatMap(
    server.dispatchStreaming(
      { method: hop.method, url: hop.url, headers: foldLines(lines), body: bytes },
      timeoutMillis
    ),
    (outcome) => {
      if (outcome._tag === "Timeout") {
        return Effect.fail(
          transportError(request, `no response within ${timeoutMillis} ms (the handler was interrupted)`)
        )
      }
      if (outcome._tag === "NotServing") return Effect.fail(transportError(request, notServing(outcome.stopped)))
      if (outcome._tag === "Reset") {
        return Effect.fail(transportError(request, "the server closed the connection without a response"))
      }
      const headers = new globalThis.Headers()
      for (const [name, value] of outcome.response.headerLines) headers.append(name, value)
      return Effect.succeed({
        status: outcome.response.status,
        headers,
        body: outcome.response.body,
        handler: outcome.handler
      })
    }
  )
}

/** The response as fetch hands it over: the body decoded (as it arrives), the URL the last hop's. */
const toResponse = (request: Request, hop: Hop, outcome: Outcome): HttpClientResponse.HttpClientResponse => {
  const bodyless = outcome.status === 204 || outcome.status === 205 || outcome.status === 304 || hop.method === "HEAD"
  const body = bodyless ? null : decoded(outcome.headers.get("content-encoding") ?? undefined, outcome.body)
  const source = new Response(body, { status: outcome.status, headers: outcome.headers })
  Object.defineProperty(source, "url", { value: hop.url.href })
  const response = HttpClientResponse.fromWeb(request, source)
  return body === null ? response : readOnce(response)
}

/**
 * The response with its body readable once, as `TestClient.stream`'s: a second read fails
 * saying who read it first (fetch's own gives an empty body to a second `stream`). `text`,
 * `json` and `urlParamsBody` go through `arrayBuffer`, whose read is shared; `toWeb` still
 * hands over the web Response, as for the fetch client's wrappers.
 */
const readOnce = (original: HttpClientResponse.HttpClientResponse): HttpClientResponse.HttpClientResponse => {
  let readBy: string | undefined
  const alreadyRead = () =>
    new HttpClientError.HttpClientError({
      reason: new HttpClientError.DecodeError({
        request: original.request,
        response: self,
        description:
          `the body was already read (by ${readBy}): a streamed body can be read once. Keep what the first ` +
          "read gave, or read it with text, json or arrayBuffer, which share one read."
      })
    })
  const claim = <A>(reader: string, read: () => Effect.Effect<A, HttpClientError.HttpClientError>) =>
    Effect.suspend(() => {
      if (readBy !== undefined && readBy !== reader) return Effect.fail(alreadyRead())
      readBy = reader
      return read()
    })
  const self: HttpClientResponse.HttpClientResponse = Object.create(original, {
    stream: {
      get: () =>
        Stream.suspend(() => {
          if (readBy !== undefined) return Stream.fail(alreadyRead())
          readBy = "stream"
          return original.stream
        })
    },
    arrayBuffer: { get: () => claim("text, json or arrayBuffer", () => original.arrayBuffer) },
    formData: { get: () => claim("formData", () => original.formData) }
  })
  return self
}

/** The body with its content codings undone; a coding the kit does not know stays as it is, as fetch leaves it. */
const decoded = (
  contentEncoding: string | undefined,
  body: Uint8Array | ReadableStream<Uint8Array>
): Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array> => {
  if (body instanceof Uint8Array) {
    const result = decodeBody(contentEncoding, body)
    return ("problem" in result ? body : result.bytes) as Uint8Array<ArrayBuffer>
  }
  const steps = codings(contentEncoding).map(streamDecoder)
  if (steps.length === 0 || steps.some((step) => step === undefined)) return body
  // `pipeline` passes errors along and, when the test stops reading, destroys every stage back
  // to the response body (whose cancel ends the handler as a client abort); `pipe` does neither.
  const stages: Array<NodeJS.ReadableStream | NodeJS.ReadWriteStream> = [
    Readable.fromWeb(body as NodeReadableStream<Uint8Array>),
    ...steps.reverse().map((step) => step!())
  ]
  const last = (pipeline as unknown as (...args: Array<unknown>) => Readable)(...stages, () => undefined)
  return Readable.toWeb(last) as ReadableStream<Uint8Array>
}
