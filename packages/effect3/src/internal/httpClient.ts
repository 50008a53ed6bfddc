import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as ServerError from "@effect/platform/HttpServerError"
import { invalidValueRe, tokenRe } from "@effect-http-testkit/core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import * as Stream from "effect/Stream"
import type { Config } from "./config.js"
import { awaitHead, type Exchanges, judge, start, streamBuffer, timedOut, timedOutError } from "./exchange.js"
import type { Reporter } from "./report.js"
import type { RequestBody } from "./request.js"
import { StreamingSink, StreamResponseImpl } from "./response.js"
import type { InProcessServer } from "./server.js"

/**
 * The platform `HttpClient` every TestClient layer provides, with the semantics of
 * platform-node's client over a socket, so code written against `HttpClient` (a typed
 * `HttpApiClient`, an `RpcClient`, a suite written for `NodeHttpServer.layerTest`) runs in
 * process unchanged:
 * - it returns at the response headers, with the body streaming from the handler;
 * - it follows no redirect, keeps no cookie jar, decodes no `content-encoding` and sends no
 *   default `user-agent`, `accept` or `accept-encoding`: only `host` (the caller's own wins)
 *   and the framing headers Node's client adds (`content-length`, `transfer-encoding`);
 * - every status is a response (a 500 too: the app's cause goes to the failure report and
 *   `TestClient.ServerError` stays the kit's own client's business);
 * - interrupting the request, or ending the body stream early, disconnects the handler as a
 *   client abort; the platform's own client span propagates to the server span.
 *
 * Relative URLs resolve against the client's `baseUrl` once the caller's own request
 * mapping is done, so a `prependUrl` of the caller's composes as in production. Waiting for the headers is bounded by the
 * client's `timeout` on the wall clock (a `RequestError` whose cause is `RequestTimeout`).
 *
 * @internal
 */
export const make = (
  server: InProcessServer,
  config: Config,
  exchanges: Exchanges,
  reporter: Reporter
): HttpClient.HttpClient => {
  const transport = HttpClient.make((request, url, signal) =>
    Effect.tapError(send(server, config, exchanges, reporter, request, url, signal), (error) =>
      Effect.sync(() => reporter.failure(request.method, url.href, "", error))
    )
  )
  // Relative URLs are resolved last, after whatever the caller maps the request with
  // (`prependUrl("/v1")`, an absolute `baseUrl` of `HttpApiClient.make`), as a socket client
  // would see the final URL.
  return HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>(
    (request) =>
      Effect.flatMap(request, (request) =>
        transport.execute(absoluteUrlRe.test(request.url) ? request : withBaseUrl(config, request))
      ),
    Effect.succeed
  )
}

const absoluteUrlRe = /^[a-zA-Z][a-zA-Z\d+\-.]*:/

// Joined as `NodeHttpServer.layerTest` joins its address (`prependUrl`), so `""` names the
// base itself and `appendUrl("/rpc")` after it still works.
const withBaseUrl = (config: Config, request: HttpClientRequest.HttpClientRequest) => {
  const base = `${config.origin}${config.basePath}`
  const url = request.url
  return HttpClientRequest.setUrl(
    request,
    url === "" || url.startsWith("/") || url.startsWith("?") ? `${base}${url}` : `${base}/${url}`
  )
}

/** Methods for which Node's client frames an empty body with `content-length: 0`. */
const bodilessMethods = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT"])

const encoder = new TextEncoder()

const send = (
  server: InProcessServer,
  config: Config,
  exchanges: Exchanges,
  reporter: Reporter,
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  signal: AbortSignal
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  Effect.suspend(() => {
    const transportError = (reason: "Transport" | "Encode", cause: unknown, description?: string) =>
      new HttpClientError.RequestError({
        request,
        reason,
        cause,
        ...(description === undefined ? {} : { description })
      })
    if (config.problem !== undefined) return Effect.fail(transportError("Transport", undefined, config.problem))
    const encoded = encodeBody(request)
    if (typeof encoded === "string") return Effect.fail(transportError("Encode", undefined, encoded))
    const lines = headerLines(request, url, encoded)
    if (typeof lines === "string") return Effect.fail(transportError("Encode", undefined, lines))
    const hop = { method: request.method, url, body: encoded.body }

    return Effect.flatMap(Mailbox.make<Uint8Array>(streamBuffer), (mailbox) => {
      const sink = new StreamingSink(mailbox)
      const fiber = start(server, config, hop, lines, sink)
      if (!("await" in fiber)) return Effect.fail(transportError("Transport", fiber, fiber.message))
      // Aborted (interrupted, body stream ended early, scope closed) before the response was
      // complete: the connection closes under the handler, as on a socket.
      signal.addEventListener(
        "abort",
        () => {
          if (fiber.unsafePoll() === null && !sink.ended) fiber.unsafeInterruptAsFork(ServerError.clientAbortFiberId)
        },
        { once: true }
      )
      let failure: ReturnType<typeof judge>
      fiber.addObserver((exit) => {
        failure = judge(respond, hop, sink, exit)
        mailbox.unsafeDone(Exit.void)
      })

      return Effect.flatMap(
        awaitHead(sink, fiber, config.timeout, true),
        (ready): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> => {
          if (ready === timedOut) {
            return Effect.flatMap(
              timedOutError(server, fiber, config, hop.method, url.href, config.timeout),
              (timeout) => Effect.fail(transportError("Transport", timeout, timeout.message))
            )
          }
          if (ready !== "head" || sink.requestFailure !== undefined) {
            const error = judge(respond, hop, sink, ready === "head" ? Exit.void : ready)
            if (error !== undefined) {
              return Effect.fail(
                transportError(error._tag === "InvalidRequest" ? "Encode" : "Transport", error, error.message)
              )
            }
          }
          const body: Stream.Stream<Uint8Array, HttpClientError.ResponseError> = Stream.concat(
            Mailbox.toStream(mailbox),
            Stream.suspend(() =>
              failure === undefined
                ? Stream.empty
                : Stream.fail(
                    new HttpClientError.ResponseError({
                      request,
                      response,
                      reason: "Decode",
                      cause: failure,
                      description: failure.message
                    })
                  )
            )
          )
          const response = new StreamResponseImpl(
            () => request,
            sink.status,
            sink.headers!,
            sink.setCookie,
            url.href,
            sink.spanId,
            body
          )
          // The request as sent: with the `host` Node's client adds. Built only if looked at.
          exchanges.push({
            get request() {
              return request.headers.host === undefined
                ? HttpClientRequest.setHeader(request, "host", url.host)
                : request
            },
            response
          })
          reporter.response(request.method, url.href, response.status, response.headers, response.spanId, "streamed")
          return Effect.succeed(response)
        }
      )
    })
  })

/** Every status is a response: a 500 is what the platform client reads off a socket. */
const respond = { serverErrors: "respond" } as const

interface Encoded {
  readonly body: RequestBody
  /** Framing headers Node's client adds when the request names none. */
  readonly framing: ReadonlyArray<readonly [string, string]>
}

/** The request body as it goes over the wire, or what is wrong with it. */
const encodeBody = (request: HttpClientRequest.HttpClientRequest): Encoded | string => {
  const body = request.body
  const hasLength = request.headers["content-length"] !== undefined
  const bytes = (data: Uint8Array): Encoded => ({
    body: data.length === 0 ? { _tag: "Empty" } : { _tag: "Bytes", bytes: data },
    framing:
      hasLength || (data.length === 0 && bodilessMethods.has(request.method))
        ? []
        : [["content-length", String(data.length)]]
  })
  const chunked = (stream: Stream.Stream<Uint8Array, unknown>, extra: ReadonlyArray<readonly [string, string]>) => ({
    body: { _tag: "Stream", stream } as const,
    framing:
      hasLength || request.headers["transfer-encoding"] !== undefined
        ? extra
        : [...extra, ["transfer-encoding", "chunked"] as const]
  })
  switch (body._tag) {
    case "Empty":
      return bytes(new Uint8Array(0))
    case "Uint8Array":
      return bytes(body.body)
    case "Raw": {
      const raw = body.body
      if (typeof raw === "string") return bytes(encoder.encode(raw))
      if (raw instanceof Uint8Array) return bytes(raw)
      return `a Raw request body must be a string or a Uint8Array (as Node's client.end() takes), got ${Object.prototype.toString.call(raw)}`
    }
    case "FormData": {
      // As platform-node does: the platform's Response encodes it and picks the boundary.
      const encoded = new Response(body.formData)
      return chunked(
        Stream.fromReadableStream(
          () => encoded.body!,
          (cause) => cause
        ),
        [["content-type", encoded.headers.get("content-type")!]]
      )
    }
    case "Stream":
      return chunked(body.stream, [])
  }
}

/** The header lines Node's client would send, or the problem its `setHeader` would throw. */
const headerLines = (
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  encoded: Encoded
): ReadonlyArray<readonly [string, string]> | string => {
  const lines: Array<readonly [string, string]> = []
  if (request.headers.host === undefined) lines.push(["host", url.host])
  for (const name in request.headers) {
    const value = request.headers[name]
    if (!tokenRe.test(name)) return `invalid header name ${JSON.stringify(name)}: only token characters are allowed`
    if (invalidValueRe.test(value))
      return `invalid value for header ${JSON.stringify(name)}: it contains CR, LF, NUL, a control character or a character beyond Latin-1`
    lines.push([name, value])
  }
  for (const line of encoded.framing) if (request.headers[line[0]] === undefined) lines.push(line)
  return lines
}
