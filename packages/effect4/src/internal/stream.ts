/**
 * `TestClient.stream`: a request answered as soon as the handler sends its headers, its body
 * an Effect Stream read as the handler writes it (content-decoded), tied to the caller's scope.
 * The request is checked and framed by the buffered client's own steps (`prepare`, `frame`),
 * sent with the transport's `dispatchStreaming`; no redirect is followed.
 *
 * @internal
 */
import * as NodeStream from "@effect/platform-node/NodeStream"
import { codings, decodeBody, streamDecoder, unsupportedCoding } from "@effect-http-testkit/core"
import type * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
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
import { type ClientState, frame, loadBody, openBody, prepare } from "./client.js"
import { InvalidRequest, RequestTimeout, ResponseError, ServerError, withSpanId } from "./errors.js"
import { notServing } from "./options.js"
import { BodyDisconnected, concat, isUnhandled, withoutResponseMarker } from "./server.js"

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
  readonly spanId: string
  /** The headers the request was sent with. */
  readonly sent: Readonly<Record<string, string>>
  /** For a body still arriving: waits for the handler to end, with its failure. */
  readonly ended: Effect.Effect<Cause.Cause<unknown> | undefined> | undefined
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
    const checked = prepare(state.config, method, url, options)
    if (checked instanceof InvalidRequest) return yield* Effect.fail(checked)
    const prepared = yield* loadBody(checked, method, url)
    const hop = prepared.first
    const hopUrl = hop.url.href
    // A Stream body is produced as the app reads it, for as long as the exchange lasts.
    const opened = hop.body._tag === "Stream" ? yield* openBody(hop.body.stream, hop.headerLines) : undefined
    if (opened !== undefined)
      yield* Scope.addFinalizer(
        scope,
        Effect.sync(() => opened.close())
      )
    const framed = frame(state.jar, hop, prepared.callCookies, state.config.remoteAddress, opened?.source)
    const sent = framed._tag === "Send" ? framed.outgoing.headers : {}
    const serverError = (status: number, failure: Cause.Cause<unknown>) =>
      new ServerError({ method: hop.method, url: hopUrl, status, cause: withoutResponseMarker(failure) })
    const unhandled = (failure: Cause.Cause<unknown> | undefined): failure is Cause.Cause<unknown> =>
      failure !== undefined && state.config.serverErrors === "fail" && isUnhandled(failure)

    let got: Opened
    if (framed._tag === "Refused") {
      const { status, headerLines, body } = framed.response
      got = { url: hopUrl, method: hop.method, status, headerLines, body, spanId: "", sent, ended: undefined }
    } else {
      // The handler is tied to `scope` as soon as it answers: closing the scope disconnects it.
      let wire: Wire | undefined
      const outcome = yield* Effect.uninterruptibleMask((restore) =>
        Effect.tap(restore(state.server.dispatchStreaming(framed.outgoing, prepared.timeoutMillis)), (outcome) => {
          if (outcome._tag !== "Response" || outcome.response.body instanceof Uint8Array) return Effect.void
          const live = new Wire(outcome.response.body)
          wire = live
          return Scope.addFinalizer(
            scope,
            Effect.sync(() => {
              live.scopeClosed = true
              live.cancel()
            })
          )
        })
      )
      // The request's own body failed: that is the request's failure.
      const bodyProblem = opened?.problem()
      if (bodyProblem !== undefined) {
        return yield* Effect.fail(new InvalidRequest({ method: hop.method, url: hopUrl, reason: bodyProblem }))
      }
      switch (outcome._tag) {
        case "Timeout":
          return yield* Effect.fail(
            new RequestTimeout({
              method: hop.method,
              url: hopUrl,
              timeout: Duration.millis(prepared.timeoutMillis),
              where: outcome.where
            })
          )
        case "NotServing":
          return yield* Effect.fail(
            new InvalidRequest({
              method: hop.method,
              url: hopUrl,
              reason: notServing(outcome.stopped)
            })
          )
        case "Reset": {
          // The handler ended without a response (its body failed before its first chunk):
          // the connection closed with none.
          const failure =
            outcome.failure ??
            Cause.die(new Error("the handler ended without sending a response: the connection closed with none"))
          if (unhandled(failure)) return yield* Effect.fail(serverError(500, failure))
          got = {
            url: hopUrl,
            method: hop.method,
            status: 500,
            headerLines: [],
            body: empty,
            spanId: "",
            sent,
            ended: undefined
          }
          break
        }
        case "Response": {
          const { status, headerLines, body } = outcome.response
          const spanId = outcome.response.spanId ?? ""
          if (body instanceof Uint8Array) {
            // A whole body: the handler is ending. Its failure, if unhandled, is a ServerError
            // as for a buffered request.
            const failure = yield* outcome.ended
            if (unhandled(failure)) return yield* Effect.fail(withSpanId(serverError(status, failure), spanId))
            got = { url: hopUrl, method: hop.method, status, headerLines, body, spanId, sent, ended: undefined }
          } else {
            got = {
              url: hopUrl,
              method: hop.method,
              status,
              headerLines,
              body: wire!,
              spanId,
              sent,
              ended: outcome.ended
            }
          }
        }
      }
    }
    state.jar.store(
      got.headerLines.filter(([name]) => name.toLowerCase() === "set-cookie").map(([, value]) => value),
      hopUrl
    )
    const response = new StreamResponseImpl(got)
    if (response.codingProblem !== undefined) {
      return yield* Effect.fail(new ResponseError({ url: got.url, reason: response.codingProblem }))
    }
    return response as StreamResponse
  })

const utf8 = new TextDecoder()

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

  private readonly ended: Opened["ended"]
  readonly spanId: string
  private readonly sent: Readonly<Record<string, string>>

  constructor(opened: Opened) {
    super()
    this.ended = opened.ended
    this.spanId = opened.spanId
    this.sent = opened.sent
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
    this.cachedRequest ??= HttpClientRequest.make(this.method as "GET")(this.url, { headers: this.sent })
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

  /**
   * The handler failed after sending the headers: the body is incomplete. The failure names the
   * app's own Cause (waited for: the handler is ending), as a ServerError.
   */
  private failedAfterHeaders(cause: unknown): Effect.Effect<never, HttpClientError.HttpClientError> {
    const described = (failure: Cause.Cause<unknown> | undefined) => {
      const own = failure === undefined ? undefined : withoutResponseMarker(failure)
      return this.decodeError(
        "the handler failed after sending the headers: the body is incomplete" +
          (own === undefined || own.reasons.length === 0 ? "" : `: ${Cause.pretty(own)}`),
        own === undefined
          ? cause
          : new ServerError({ method: this.method, url: this.url, status: this.status, cause: own })
      )
    }
    return Effect.flatMap(this.ended ?? Effect.succeed(undefined), (failure) => Effect.fail(described(failure)))
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
    const stopped = () =>
      this.decodeError(
        "the app stopped serving (the TestClient's scope closed), which disconnected the handler before the body " +
          "was complete: read the body before that scope closes"
      )
    const pull: Pull.Pull<Arr.NonEmptyReadonlyArray<Uint8Array>, HttpClientError.HttpClientError> = Effect.suspend(
      () =>
        wire.scopeClosed
          ? Effect.fail(closed())
          : Effect.flatMap(
              Effect.catch(Effect.tryPromise({ try: () => wire.read(), catch: (cause) => cause }), (cause) =>
                cause instanceof BodyDisconnected
                  ? Effect.fail(wire.scopeClosed ? closed() : stopped())
                  : this.failedAfterHeaders(cause)
              ),
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
