import * as Cookies from "@effect/platform/Cookies"
import type * as Headers from "@effect/platform/Headers"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as ClientResponse from "@effect/platform/HttpClientResponse"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import type * as UrlParams from "@effect/platform/UrlParams"
import type * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Inspectable from "effect/Inspectable"
import type * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { StreamResponse, TestResponse } from "../Client.js"
import * as TestStream from "../Stream.js"
import {
  bodyAllowed,
  concatChunks,
  parseJsonText,
  type ResponseSink,
  textToJson,
  textToUrlParams,
  toArrayBuffer
} from "./request.js"

// ---------------------------------------------------------------------------
// sinks: where the in-process server writes
// ---------------------------------------------------------------------------

/** What every sink records of the response head. @internal */
abstract class SinkBase implements ResponseSink {
  spanId = ""
  status = 0
  headers: Headers.Headers | undefined = undefined
  setCookie: ReadonlyArray<string> = []
  headersSent = false
  /** Whether the body was still to come when the headers were sent. */
  streaming = false
  ended = false
  /** The app failed after the headers were sent: the body is incomplete. */
  truncated = false
  /** Why the connection was reset before a response, if it was. */
  resetReason: string | undefined = undefined
  failure: Cause.Cause<unknown> | undefined = undefined
  /** The request's Stream body failed while the app read it: the client aborted the exchange. */
  requestFailure: Cause.Cause<unknown> | undefined = undefined
  protected discard = false

  head(status: number, headers: Headers.Headers, setCookie: ReadonlyArray<string>, streaming: boolean): void {
    this.status = status
    this.headers = headers
    this.setCookie = setCookie
    this.headersSent = true
    this.discard = !bodyAllowed(status)
    this.streaming = streaming && !this.discard
  }
  abstract write(chunk: Uint8Array): Effect.Effect<void> | undefined
  onEnd: (() => void) | undefined = undefined
  end(): void {
    this.ended = true
    this.onEnd?.()
  }
  /** The app upgraded the connection (a WebSocket): any HTTP response it sends later goes nowhere. */
  upgraded(): void {
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
}

/**
 * Collects a response in memory, as a buffered client reads it off the socket.
 *
 * @internal
 */
export class BufferedSink extends SinkBase {
  private chunks: Array<Uint8Array> = []
  private length = 0

  write(chunk: Uint8Array): undefined {
    if (this.discard) return undefined
    this.chunks.push(chunk)
    this.length += chunk.length
    return undefined
  }
  body(): Uint8Array {
    return concatChunks(Chunk.unsafeFromArray(this.chunks), this.length)
  }
}

/**
 * Hands the body to the test through a bounded mailbox: a writer that gets ahead of the
 * reader waits for room, as a socket's writer waits for `drain`.
 *
 * @internal
 */
export class StreamingSink extends SinkBase {
  /** Called once, when the headers are sent. */
  onHead: (() => void) | undefined = undefined

  constructor(readonly mailbox: Mailbox.Mailbox<Uint8Array>) {
    super()
  }

  override head(status: number, headers: Headers.Headers, setCookie: ReadonlyArray<string>, streaming: boolean): void {
    super.head(status, headers, setCookie, streaming)
    this.onHead?.()
  }
  write(chunk: Uint8Array): Effect.Effect<void> | undefined {
    if (this.discard || this.mailbox.unsafeOffer(chunk)) return undefined
    return Effect.asVoid(this.mailbox.offer(chunk))
  }
  override end(): void {
    super.end()
    this.mailbox.unsafeDone(Exit.void)
  }
}

// ---------------------------------------------------------------------------
// responses: what the test reads
// ---------------------------------------------------------------------------

/** Head, cookies and the body readers every response shares. */
abstract class ResponseBase extends Inspectable.Class {
  readonly [IncomingMessage.TypeId]: IncomingMessage.TypeId = IncomingMessage.TypeId
  readonly [ClientResponse.TypeId]: ClientResponse.TypeId = ClientResponse.TypeId

  constructor(
    private readonly makeRequest: () => HttpClientRequest.HttpClientRequest,
    readonly status: number,
    readonly headers: Headers.Headers,
    readonly setCookie: ReadonlyArray<string>,
    readonly url: string,
    readonly spanId: string
  ) {
    super()
  }

  abstract get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError>
  abstract get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError>
  abstract get text(): Effect.Effect<string, HttpClientError.ResponseError>

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

  protected decodeError(cause: unknown, description?: string): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({
      request: this.request,
      response: this as unknown as ClientResponse.HttpClientResponse,
      reason: "Decode",
      cause,
      ...(description === undefined ? {} : { description })
    })
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return textToJson(this.text, (cause) => this.decodeError(cause))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return textToUrlParams(this.text, (cause) => this.decodeError(cause))
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.flatMap(this.arrayBuffer, (buffer) =>
      Effect.tryPromise({
        try: () => {
          const contentType = this.headers["content-type"]
          return new Response(
            buffer,
            contentType === undefined ? {} : { headers: { "content-type": contentType } }
          ).formData()
        },
        catch: (cause) => this.decodeError(cause)
      })
    )
  }

  override toString(): string {
    return `${this.constructor.name}(${this.status} ${this.url})`
  }

  toJSON(): unknown {
    return IncomingMessage.inspect(this as unknown as ClientResponse.HttpClientResponse, {
      _id: "effect-http-testkit/Response",
      url: this.url,
      status: this.status
    })
  }
}

/**
 * A buffered response. It is an `HttpClientResponse`, so platform's combinators
 * (`schemaBodyJson`, `matchStatus`, `filterStatusOk`) work on it.
 *
 * @internal
 */
export class TestResponseImpl extends ResponseBase implements TestResponse {
  constructor(
    makeRequest: () => HttpClientRequest.HttpClientRequest,
    status: number,
    headers: Headers.Headers,
    setCookie: ReadonlyArray<string>,
    readonly body: Uint8Array,
    url: string,
    spanId: string,
    readonly history: ReadonlyArray<TestResponse>
  ) {
    super(makeRequest, status, headers, setCookie, url, spanId)
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

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.sync(() => toArrayBuffer(this.body))
  }

  // One step, not text's and then a parse's: most tests read a body as JSON.
  override get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.try({
      try: () => {
        this.cachedText ??= utf8.decode(this.body)
        return parseJsonText(this.cachedText)
      },
      catch: (cause) => this.decodeError(cause)
    })
  }
}

/**
 * A streamed response: `stream` delivers the body as the handler produces it (decoded), and
 * can be read once, like a real response body: a second read fails with a `ResponseError`
 * saying it was already read. `text`, `json` and `arrayBuffer` read it to the end, once, and
 * share that read.
 *
 * @internal
 */
export class StreamResponseImpl extends ResponseBase implements StreamResponse {
  constructor(
    makeRequest: () => HttpClientRequest.HttpClientRequest,
    status: number,
    headers: Headers.Headers,
    setCookie: ReadonlyArray<string>,
    url: string,
    spanId: string,
    private readonly bodyStream: Stream.Stream<Uint8Array, HttpClientError.ResponseError>
  ) {
    super(makeRequest, status, headers, setCookie, url, spanId)
  }

  /** Who read the body first (`"stream"`, `"events"`, `"text"`): it can be read once. */
  private readBy: string | undefined

  /**
   * The body, claimed when the returned stream is first run. A body has one reader, as on a
   * socket: a second run would find it drained and end at once, silently empty, so it fails
   * instead, saying who read it.
   */
  private claim(reader: string): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return Stream.suspend(() => {
      if (this.readBy !== undefined) {
        return Stream.fail(
          this.decodeError(
            undefined,
            `the body was already read (by ${this.readBy}): a streamed body can be read once. Keep what the first ` +
              "read gave, or read it with text, json or arrayBuffer, which share one read."
          )
        )
      }
      this.readBy = reader
      return this.bodyStream
    })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return this.claim("stream")
  }

  get events(): Stream.Stream<TestStream.SseEvent, HttpClientError.ResponseError> {
    return TestStream.sse(this.claim("events"))
  }

  private cachedBytes: Effect.Effect<Uint8Array, HttpClientError.ResponseError> | undefined
  private get bytes(): Effect.Effect<Uint8Array, HttpClientError.ResponseError> {
    this.cachedBytes ??= Effect.runSync(
      Effect.cached(Effect.map(Stream.runCollect(this.claim("text, json or arrayBuffer")), (c) => concatChunks(c)))
    )
    return this.cachedBytes
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.map(this.bytes, (bytes) => utf8.decode(bytes))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.map(this.bytes, toArrayBuffer)
  }
}

const utf8 = new TextDecoder()
