import * as Cookies from "@effect/platform/Cookies"
import type * as Headers from "@effect/platform/Headers"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as ClientResponse from "@effect/platform/HttpClientResponse"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { TestResponse } from "../Client.js"
import { bodyAllowed, type ResponseSink, toArrayBuffer } from "./request.js"

/**
 * Collects a response in memory, as a buffered client reads it off the socket.
 *
 * @internal
 */
export class BufferedSink implements ResponseSink {
  status = 0
  headers: Headers.Headers | undefined = undefined
  setCookie: ReadonlyArray<string> = []
  headersSent = false
  ended = false
  /** The app failed after the headers were sent: the body is incomplete. */
  truncated = false
  /** Why the connection was reset before a response, if it was. */
  resetReason: string | undefined = undefined
  private discard = false
  private chunks: Array<Uint8Array> = []
  private length = 0

  head(status: number, headers: Headers.Headers, setCookie: ReadonlyArray<string>): void {
    this.status = status
    this.headers = headers
    this.setCookie = setCookie
    this.headersSent = true
    this.discard = !bodyAllowed(status)
  }
  write(chunk: Uint8Array): undefined {
    if (this.discard) return undefined
    this.chunks.push(chunk)
    this.length += chunk.length
    return undefined
  }
  end(): void {
    this.ended = true
  }
  abort(): void {
    this.ended = true
    this.truncated = true
  }
  reset(reason: string): void {
    this.ended = true
    this.resetReason ??= reason
  }
  body(): Uint8Array {
    if (this.chunks.length === 0) return new Uint8Array(0)
    if (this.chunks.length === 1) return this.chunks[0]
    const out = new Uint8Array(this.length)
    let offset = 0
    for (const chunk of this.chunks) {
      out.set(chunk, offset)
      offset += chunk.length
    }
    return out
  }
}

/**
 * A buffered response. It is an `HttpClientResponse`, so platform's combinators
 * (`schemaBodyJson`, `matchStatus`, `filterStatusOk`) work on it.
 *
 * @internal
 */
export class TestResponseImpl extends Inspectable.Class implements TestResponse {
  readonly [IncomingMessage.TypeId]: IncomingMessage.TypeId = IncomingMessage.TypeId
  readonly [ClientResponse.TypeId]: ClientResponse.TypeId = ClientResponse.TypeId

  constructor(
    private readonly makeRequest: () => HttpClientRequest.HttpClientRequest,
    readonly status: number,
    readonly headers: Headers.Headers,
    readonly setCookie: ReadonlyArray<string>,
    readonly body: Uint8Array,
    readonly url: string,
    readonly history: ReadonlyArray<TestResponse>
  ) {
    super()
  }

  private cachedRequest: HttpClientRequest.HttpClientRequest | undefined
  get request(): HttpClientRequest.HttpClientRequest {
    this.cachedRequest ??= this.makeRequest()
    return this.cachedRequest
  }

  private cachedCookies: Cookies.Cookies | undefined
  get cookies(): Cookies.Cookies {
    this.cachedCookies ??= Cookies.fromSetCookie(this.setCookie)
    return this.cachedCookies
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  private decodeError(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return this.body.length === 0 ? Stream.empty : Stream.succeed(this.body)
  }

  private cachedText: string | undefined
  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.sync(() => {
      this.cachedText ??= utf8.decode(this.body)
      return this.cachedText
    })
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.tryMap(this.text, {
      try: (text) => (text === "" ? null : (JSON.parse(text) as unknown)),
      catch: (cause) => this.decodeError(cause)
    })
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => UrlParams.fromInput(new URLSearchParams(text)),
        catch: (cause) => this.decodeError(cause)
      })
    )
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.sync(() => toArrayBuffer(this.body))
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.tryPromise({
      try: () => {
        const contentType = this.headers["content-type"]
        return new Response(
          this.body as Uint8Array<ArrayBuffer>,
          contentType === undefined ? {} : { headers: { "content-type": contentType } }
        ).formData()
      },
      catch: (cause) => this.decodeError(cause)
    })
  }

  override toString(): string {
    return `TestResponse(${this.status} ${this.url})`
  }

  toJSON(): unknown {
    return IncomingMessage.inspect(this, {
      _id: "effect-http-testkit/TestResponse",
      url: this.url,
      status: this.status
    })
  }
}

const utf8 = new TextDecoder()
