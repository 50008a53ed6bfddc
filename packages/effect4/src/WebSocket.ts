/**
 * WebSockets in process: `TestClient.websocket(url)` connects to the app's
 * `HttpServerRequest.upgrade` handler with no socket. This module holds the test's end of a
 * connection and its errors.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type { Headers } from "effect/http"
import type * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"

/**
 * The test's end of a WebSocket connection. Every wait (`receive`, `messages`, `closed`) is
 * bounded by the connection's `timeout` on the wall clock, also under `TestClock`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TestWebSocket {
  /** The subprotocol the app accepted (the first one offered, as `ws` picks), or `""`. */
  readonly protocol: string
  /**
   * Sends a text (string) or binary (Uint8Array) message. Anything else fails with
   * `WebSocketMessageError`; on a closed connection, `WebSocketClosed`.
   */
  readonly send: (data: string | Uint8Array) => Effect.Effect<void, WebSocketClosed | WebSocketMessageError>
  /** Sends `JSON.stringify(value)` as a text message. */
  readonly sendJson: (value: unknown) => Effect.Effect<void, WebSocketClosed | WebSocketMessageError>
  /** The next message; fails with `WebSocketClosed` once the connection is closed, `WebSocketTimeout` after the `timeout`. */
  readonly receive: Effect.Effect<string | Uint8Array, WebSocketError>
  /** The next message, which must be text. */
  readonly receiveText: Effect.Effect<string, WebSocketError | WebSocketMessageError>
  /**
   * The next message parsed as JSON, and decoded with `schema` when one is given (something
   * that is not a Schema fails with `WebSocketMessageError`).
   */
  readonly receiveJson: {
    (): Effect.Effect<unknown, WebSocketError | WebSocketMessageError>
    <S extends Schema.Constraint>(
      schema: S
    ): Effect.Effect<S["Type"], WebSocketError | WebSocketMessageError | Schema.SchemaError, S["DecodingServices"]>
  }
  /** Every following message; ends when the connection closes. Each wait is bounded by the `timeout`. */
  readonly messages: Stream.Stream<string | Uint8Array, WebSocketTimeout>
  /**
   * Starts the closing handshake (default code 1000); the app's socket sees this code. The
   * code must be one a `ws` client may send — 1000, 3000–4999, or 1001–1003 / 1007–1014 (e.g.
   * 1001 "going away", as a browser sends when a page is left) — and the reason at most 123
   * UTF-8 bytes; otherwise it fails with `WebSocketMessageError` saying so, and nothing is
   * sent (1005, 1006 and 1015 only ever describe a close without a frame). Closing a closed
   * connection does nothing.
   */
  readonly close: (code?: number, reason?: string) => Effect.Effect<void, WebSocketMessageError>
  /**
   * Waits until the connection is closed, by either end: the code and reason of the close.
   * Fails with `WebSocketTimeout` if it is still open after the `timeout`.
   */
  readonly closed: Effect.Effect<{ readonly code: number; readonly reason: string }, WebSocketTimeout>
}

/**
 * Options of `TestClient.websocket`.
 *
 * @since 0.1.0
 * @category models
 */
export interface WebSocketOptions {
  /**
   * Subprotocols to offer (`sec-websocket-protocol`), in order of preference: an array (one
   * subprotocol is `["chat"]`), each a token, none twice (RFC 6455 §4.1).
   */
  readonly protocols?: ReadonlyArray<string> | undefined
  /** Headers of the handshake; they replace the client's of the same name, `undefined` removes one. */
  readonly headers?: Readonly<Record<string, string | undefined>> | undefined
  /** Query parameters appended to the URL's own. */
  readonly params?:
    | Readonly<Record<string, string | number | boolean | ReadonlyArray<string | number | boolean>>>
    | undefined
  /** Cookies for this handshake only, replacing the jar's of the same name. */
  readonly cookies?: Readonly<Record<string, string>> | undefined
  /** Bounds the handshake and each wait of the connection; default: the client's `timeout`. */
  readonly timeout?: string | number | undefined
}

/**
 * The app answered the handshake with a plain HTTP response instead of upgrading (or Node's
 * server or the WebSocket server refused it, as they do before the app sees it).
 *
 * @since 0.1.0
 * @category errors
 */
export class WebSocketRejected extends Data.TaggedError("WebSocketRejected")<{
  readonly url: string
  readonly status: number
  readonly headers: Headers.Headers
  readonly body: Uint8Array
}> {
  /** The body as text. */
  get text(): string {
    return new TextDecoder().decode(this.body)
  }
  override get message(): string {
    const body = this.text
    return `WebSocket ${this.url}: the app refused the upgrade with ${this.status}${body === "" ? "" : `: ${body.slice(0, 200)}`}`
  }
}

/**
 * The connection is closed (by either end); `code` and `reason` are those of the close.
 *
 * @since 0.1.0
 * @category errors
 */
export class WebSocketClosed extends Data.TaggedError("WebSocketClosed")<{
  readonly url: string
  readonly code: number
  readonly reason: string
}> {
  override get message(): string {
    return `WebSocket ${this.url} is closed (code ${this.code}${this.reason === "" ? "" : `, reason "${this.reason}"`})`
  }
}

/**
 * Nothing arrived within the connection's `timeout` (on the wall clock): no message for
 * `receive`, no close for `closed`.
 *
 * @since 0.1.0
 * @category errors
 */
export class WebSocketTimeout extends Data.TaggedError("WebSocketTimeout")<{
  readonly url: string
  readonly timeout: Duration.Duration
  /** What the test was waiting for. */
  readonly waitingFor: "message" | "close"
}> {
  override get message(): string {
    return this.waitingFor === "message"
      ? `WebSocket ${this.url}: no message within ${Duration.format(this.timeout)}; is the app waiting for the test?`
      : `WebSocket ${this.url}: still open after ${Duration.format(this.timeout)}; close it, or is the app waiting for the test?`
  }
}

/**
 * A message was not of the expected kind (text vs binary) or not valid JSON; or what the
 * test tried to send cannot be sent: a `send` of something that is not a string or a
 * `Uint8Array`, a `sendJson` value with no JSON form, a `close` with a code or reason a close
 * frame cannot carry.
 *
 * @since 0.1.0
 * @category errors
 */
export class WebSocketMessageError extends Data.TaggedError("WebSocketMessageError")<{
  readonly url: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `WebSocket ${this.url}: ${this.reason}`
  }
}

/**
 * What receiving can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type WebSocketError = WebSocketClosed | WebSocketTimeout
