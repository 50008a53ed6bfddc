/**
 * A buffered response, as the platform's `HttpClientResponse.fromWeb` would give it for the
 * same head and body (the same readers, errors and empty-body rules), without building a web
 * `Response` and `Headers` per request: its body is already read and decoded.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import {
  Cookies,
  type Headers,
  HttpClientError,
  HttpClientRequest,
  HttpClientResponse,
  HttpIncomingMessage,
  UrlParams
} from "effect/http"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import { pipeArguments } from "effect/Pipeable"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { TestResponse } from "../Client.js"

const utf8 = new TextDecoder("utf-8", { ignoreBOM: false })

/** @internal */
export class BufferedResponse extends Inspectable.Class implements TestResponse {
  readonly [HttpIncomingMessage.TypeId]: typeof HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: typeof HttpClientResponse.TypeId = HttpClientResponse.TypeId

  constructor(
    private readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly headers: Headers.Headers,
    /** The decoded body; empty when the response has none (HEAD, 204, 205, 304). */
    readonly body: Uint8Array,
    /** Whether there is a body to read as a stream (a web Response would have none). */
    private readonly hasBody: boolean,
    readonly setCookie: ReadonlyArray<string>,
    readonly history: ReadonlyArray<TestResponse>,
    readonly spanId: string,
    /** The headers the request was sent with. */
    private readonly sent: Readonly<Record<string, string>>
  ) {
    super()
  }

  private cachedRequest: HttpClientRequest.HttpClientRequest | undefined
  /** The request as sent (built when asked for: not on the hot path). */
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

  private decodeError(cause: unknown): HttpClientError.HttpClientError {
    return new HttpClientError.HttpClientError({
      reason: new HttpClientError.DecodeError({ request: this.request, response: this, cause })
    })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.HttpClientError> {
    return this.hasBody
      ? Stream.succeed(this.body)
      : Stream.fail(
          new HttpClientError.HttpClientError({
            reason: new HttpClientError.EmptyBodyError({
              request: this.request,
              response: this,
              description: "can not create stream from empty body"
            })
          })
        )
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.HttpClientError> {
    // A copy of exactly the body's bytes: the body may be a view on a larger buffer (a Node Buffer's).
    return Effect.sync(() => new Uint8Array(this.body).buffer as ArrayBuffer)
  }

  get text(): Effect.Effect<string, HttpClientError.HttpClientError> {
    return Effect.sync(() => utf8.decode(this.body))
  }

  get json(): Effect.Effect<Schema.Json, HttpClientError.HttpClientError> {
    // One step: decoding (which cannot throw) and parsing.
    return Effect.try({
      try: () => {
        const text = utf8.decode(this.body)
        return text === "" ? null : (JSON.parse(text) as Schema.Json)
      },
      catch: (cause) => this.decodeError(cause)
    })
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.HttpClientError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        // A leading "?" is form data, as the platform reads it (URLSearchParams would drop it).
        try: () => UrlParams.fromInput(new URLSearchParams(text.replace(/^\?/, "%3F"))),
        catch: (cause) => this.decodeError(cause)
      })
    )
  }

  get formData(): Effect.Effect<FormData, HttpClientError.HttpClientError> {
    return Effect.tryPromise({
      try: () =>
        new Response(this.hasBody ? (this.body as Uint8Array<ArrayBuffer>) : null, {
          headers: { "content-type": this.headers["content-type"] ?? "" }
        }).formData(),
      catch: (cause) => this.decodeError(cause)
    })
  }

  get upgrade(): Effect.Effect<never, HttpClientError.HttpClientError> {
    return Effect.fail(
      new HttpClientError.HttpClientError({
        reason: new HttpClientError.StatusCodeError({
          request: this.request,
          response: this,
          description: "the kit's buffered client does not hand over the connection of an HTTP upgrade"
        })
      })
    )
  }

  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }

  pipe() {
    // biome-ignore lint/complexity/noArguments: the Pipeable protocol
    return pipeArguments(this, arguments)
  }
}
