/**
 * `TestClient.stream`: a request answered as soon as the handler sends its headers, its body
 * an Effect Stream read as the handler writes it (content-decoded), tied to the caller's scope.
 *
 * The request is prepared, checked and sent by the buffered client's own `request` (its
 * option checks, headers, cookies and Node's refusals, nothing copied): it is handed a server
 * whose `dispatch` sends with the transport's `dispatchStreaming` and keeps the live response
 * for this module, answering `request` with a stand-in that only carries the Set-Cookie
 * lines (so the jar stores them, and no redirect is followed).
 *
 * @internal
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import { codings, decodeBody, streamDecoder, unsupportedCoding } from "@effect-http-testkit/core"
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import {
  Cookies,
  Headers,
  HttpClientError,
  HttpClientRequest,
  HttpClientResponse,
  HttpIncomingMessage,
  UrlParams
} from "effect/http"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import type * as Pull from "effect/Pull"
import type * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { RequestOptions, StreamResponse, TestClientError } from "../Client.js"
import * as TestStream from "../Stream.js"
import { type ClientState, request } from "./client.js"
import { ResponseError } from "./errors.js"
import type {
  Dispatched,
  DispatchedStreaming,
  InProcessServer,
  OutgoingRequest,
  StreamingResponse,
  WireResponse
} from "./server.js"

const empty = new Uint8Array(0)

/** The transport's live body, read by one reader at most, cancelled when the scope closes. */
class Wire {
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  /** Whether the scope `stream()` was opened in has closed (and so disconnected the handler). */
  scopeClosed = false

  constructor(private readonly body: ReadableStream<Uint8Array>) {}

  read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    this.reader ??= this.body.getReader()
    return this.reader.read()
  }

  /**
   * Ends the exchange: the transport's cancel interrupts the handler as a client abort (at
   * once, when the handler waits for the reader). A body already read to its end, or failed,
   * has nothing left to cancel.
   */
  cancel(): void {
    const done = this.reader === undefined ? this.body.cancel() : this.reader.cancel()
    done.catch(() => undefined)
  }
}

/** What the client got off the wire: the head, and the body (whole, or arriving). */
interface Opened {
  readonly url: string
  readonly method: string
  readonly status: number
  readonly headerLines: ReadonlyArray<readonly [string, string]>
  readonly body: Uint8Array | Wire
}

/** @internal */
export const open = (
  state: ClientState,
  method: string,
  url: string,
  options: RequestOptions | undefined
): Effect.Effect<StreamResponse, TestClientError, Scope.Scope> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    let opened: Opened | undefined

    /** Sends on the streaming transport and keeps what it answered; the handler is tied to `scope` at once. */
    const send = (outgoing: OutgoingRequest, timeoutMillis: number) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.tap(restore(state.server.dispatchStreaming(outgoing, timeoutMillis)), (outcome) => {
          if (outcome._tag !== "Response") return Effect.void
          const { body, headerLines, status } = outcome.response
          const url = new URL(outgoing.url.href)
          url.hash = ""
          if (body instanceof Uint8Array) {
            opened = { url: url.href, method: outgoing.method, status, headerLines, body }
            return Effect.void
          }
          const wire = new Wire(body)
          opened = { url: url.href, method: outgoing.method, status, headerLines, body: wire }
          return Scope.addFinalizer(
            scope,
            Effect.sync(() => {
              wire.scopeClosed = true
              wire.cancel()
            })
          )
        })
      )
    /** What `request` reads: the Set-Cookie lines only (for the jar), nothing to follow or decode. */
    const standIn = (response: StreamingResponse): WireResponse => ({
      status: 200,
      headerLines: response.headerLines.filter(([name]) => name.toLowerCase() === "set-cookie"),
      body: empty
    })
    const server: InProcessServer = {
      service: state.server.service,
      dispatch: (outgoing, timeoutMillis) =>
        Effect.map(send(outgoing, timeoutMillis), (outcome): Dispatched => {
          switch (outcome._tag) {
            case "Response":
              return { _tag: "Response", response: standIn(outcome.response), failure: undefined }
            case "Reset":
              // As `dispatch` answers a handler that ends without a response.
              return {
                _tag: "Response",
                response: { status: 500, headerLines: [], body: empty },
                failure: Cause.die(
                  new Error(
                    "the handler ended without sending a response (its body failed before its first chunk): " +
                      "the connection closed with none"
                  )
                )
              }
            default:
              return outcome
          }
        }),
      dispatchStreaming: (outgoing, timeoutMillis) =>
        Effect.map(
          send(outgoing, timeoutMillis),
          (outcome): DispatchedStreaming =>
            outcome._tag === "Response" ? { _tag: "Response", response: standIn(outcome.response) } : outcome
        )
    }

    const answered = yield* request({ ...state, server }, method, url, options)
    // Nothing reached the app (Node refused the request) or the app sent nothing: the client
    // reads the answer `request` made of it.
    const got: Opened = opened ?? {
      url: answered.url,
      method: answered.request.method,
      status: answered.status,
      headerLines: [
        // The body is already decoded.
        ...Object.entries(answered.headers).filter(([name]) => name !== "content-encoding"),
        ...answered.setCookie.map((line) => ["set-cookie", line] as const)
      ],
      body: answered.body
    }
    const response = new StreamResponseImpl(got)
    if (response.codingProblem !== undefined) {
      return yield* Effect.fail(new ResponseError({ url: got.url, reason: response.codingProblem }))
    }
    return response as StreamResponse
  })

const utf8 = new TextDecoder()

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(chunks.reduce((size, chunk) => size + chunk.length, 0))
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

/** The streamed response: the head as sent, the body read once, as it arrives. */
class StreamResponseImpl extends Inspectable.Class implements StreamResponse {
  readonly [HttpIncomingMessage.TypeId]: typeof HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: typeof HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly url: string
  readonly status: number
  readonly headers: Headers.Headers
  readonly setCookie: ReadonlyArray<string>
  /** Set when the body has a content coding the client cannot decode. */
  readonly codingProblem: string | undefined
  private readonly codings: ReadonlyArray<string>
  private readonly method: string
  private readonly wire: Uint8Array | Wire

  constructor(opened: Opened) {
    super()
    this.url = opened.url
    this.status = opened.status
    this.method = opened.method
    this.wire = opened.body
    const headers: Record<string, string> = {}
    const setCookie: Array<string> = []
    for (const [name, value] of opened.headerLines) {
      const lower = name.toLowerCase()
      if (lower === "set-cookie") setCookie.push(value)
      else headers[lower] = headers[lower] === undefined ? value : `${headers[lower]}, ${value}`
    }
    this.headers = Headers.fromRecordUnsafe(headers)
    this.setCookie = setCookie
    // HEAD, 204, 205 and 304 carry no body whatever their content-encoding says: nothing to decode.
    const bodyless = this.method === "HEAD" || [204, 205, 304].includes(this.status)
    this.codings = bodyless ? [] : codings(headers["content-encoding"])
    const unknown = this.codings.find((coding) => streamDecoder(coding) === undefined)
    this.codingProblem = unknown === undefined ? undefined : unsupportedCoding(unknown)
  }

  private cachedRequest: HttpClientRequest.HttpClientRequest | undefined
  get request(): HttpClientRequest.HttpClientRequest {
    this.cachedRequest ??= HttpClientRequest.make(this.method as "GET")(this.url)
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

  private decodeError(description: string, cause?: unknown): HttpClientError.HttpClientError {
    return new HttpClientError.HttpClientError({
      reason: new HttpClientError.DecodeError({
        request: this.request,
        response: this,
        description,
        ...(cause === undefined ? {} : { cause })
      })
    })
  }

  /** The body as the handler writes it, content-decoded. */
  private body(): Stream.Stream<Uint8Array, HttpClientError.HttpClientError> {
    const wire = this.wire
    if (wire instanceof Uint8Array) {
      if (wire.length === 0) return Stream.empty
      return Stream.suspend(() => {
        const decoded = decodeBody(this.codings.length === 0 ? undefined : this.codings.join(", "), wire)
        return "problem" in decoded ? Stream.fail(this.decodeError(decoded.problem)) : Stream.succeed(decoded.bytes)
      })
    }
    const closed = () =>
      this.decodeError(
        "the scope TestClient.stream was opened in has closed, which disconnected the handler: read the body " +
          "inside that scope"
      )
    const pull: Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>, HttpClientError.HttpClientError> = Effect.suspend(
      () =>
        wire.scopeClosed
          ? Effect.fail(closed())
          : Effect.flatMap(
              Effect.tryPromise({
                try: () => wire.read(),
                catch: (cause) =>
                  this.decodeError(
                    "the handler failed after sending the headers: the body is incomplete " +
                      `(${cause instanceof Error ? cause.message : String(cause)})`,
                    cause
                  )
              }),
              (result): Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>, HttpClientError.HttpClientError> =>
                result.done ? (wire.scopeClosed ? Effect.fail(closed()) : Cause.done()) : Effect.succeed([result.value])
            )
    )
    const raw = Stream.fromPull(Effect.succeed(pull))
    let decoded: Stream.Stream<Uint8Array, HttpClientError.HttpClientError> = raw
    // Codings are undone in the reverse of the order they were applied in.
    for (const coding of [...this.codings].reverse()) {
      const make = streamDecoder(coding)!
      decoded = NodeStream.pipeThroughDuplex(decoded, {
        evaluate: make,
        onError: (cause) =>
          this.decodeError(`corrupt ${coding} body: ${cause instanceof Error ? cause.message : String(cause)}`, cause)
      })
    }
    // Reading stops (the body ended, failed, or the reader stopped early): the exchange ends,
    // and with it the handler, if it is still writing.
    return Stream.ensuring(
      decoded,
      Effect.sync(() => wire.cancel())
    )
  }

  /** Who read the body first: it can be read once, as off a socket. */
  private readBy: string | undefined

  private claim(reader: string): Stream.Stream<Uint8Array, HttpClientError.HttpClientError> {
    return Stream.suspend(() => {
      if (this.readBy !== undefined) {
        return Stream.fail(
          this.decodeError(
            `the body was already read (by ${this.readBy}): a streamed body can be read once. Keep what the ` +
              "first read gave, or read it with text, json or arrayBuffer, which share one read."
          )
        )
      }
      this.readBy = reader
      return this.body()
    })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.HttpClientError> {
    return this.claim("stream")
  }

  get events(): Stream.Stream<TestStream.SseEvent, HttpClientError.HttpClientError> {
    return TestStream.sse(this.claim("events"))
  }

  private cachedBytes: Effect.Effect<Uint8Array, HttpClientError.HttpClientError> | undefined
  private get bytes(): Effect.Effect<Uint8Array, HttpClientError.HttpClientError> {
    this.cachedBytes ??= Effect.runSync(
      Effect.cached(Effect.map(Stream.runCollect(this.claim("text, json or arrayBuffer")), concat))
    )
    return this.cachedBytes
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.HttpClientError> {
    return Effect.map(this.bytes, (bytes) => bytes.slice().buffer as ArrayBuffer)
  }

  get text(): Effect.Effect<string, HttpClientError.HttpClientError> {
    return Effect.map(this.bytes, (bytes) => utf8.decode(bytes))
  }

  get json(): Effect.Effect<Schema.Json, HttpClientError.HttpClientError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => (text === "" ? null : (JSON.parse(text) as Schema.Json)),
        catch: (cause) => this.decodeError(`the body is not JSON: ${String(cause)}`, cause)
      })
    )
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.HttpClientError> {
    return Effect.map(this.text, (text) => UrlParams.fromInput(new URLSearchParams(text)))
  }

  get formData(): Effect.Effect<FormData, HttpClientError.HttpClientError> {
    return Effect.flatMap(this.bytes, (bytes) =>
      Effect.tryPromise({
        try: () =>
          new Response(bytes as Uint8Array<ArrayBuffer>, {
            headers: { "content-type": this.headers["content-type"] ?? "" }
          }).formData(),
        catch: (cause) => this.decodeError(`the body is not form data: ${String(cause)}`, cause)
      })
    )
  }

  get upgrade(): Effect.Effect<never, HttpClientError.HttpClientError> {
    return Effect.fail(
      new HttpClientError.HttpClientError({
        reason: new HttpClientError.StatusCodeError({
          request: this.request,
          response: this,
          description: "TestClient.stream does not hand over the connection of an HTTP upgrade"
        })
      })
    )
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "StreamResponse",
      request: this.request.toJSON(),
      url: this.url,
      status: this.status
    })
  }

  pipe() {
    // biome-ignore lint/complexity/noArguments: the Pipeable protocol
    return pipeArguments(this, arguments)
  }
}
