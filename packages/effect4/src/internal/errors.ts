import { socketUnavailableMessage } from "@effect-http-testkit/core"
import type * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"

/**
 * A request the kit refuses to send, or an option it refuses: the message says what to fix.
 *
 * @internal
 */
export class InvalidRequest extends Data.TaggedError("InvalidRequest")<{
  readonly method: string
  readonly url: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.method} ${this.url}: ${this.reason}`
  }
}

/** @internal */
export class ServerError extends Data.TaggedError("ServerError")<{
  readonly method: string
  readonly url: string
  /** The status production would have sent (usually 500). */
  readonly status: number
  readonly cause: Cause.Cause<unknown>
  /**
   * The app failed after its response's headers went out (its body failed midway): production
   * cuts the connection, so there is no response to give, whatever `serverErrors` says.
   */
  readonly afterHeaders?: boolean | undefined
}> {
  override get message(): string {
    if (this.afterHeaders === true) {
      return (
        `${this.method} ${this.url}: the app answered ${this.status}, then its body failed midway; production ` +
        "cuts the connection there, so the client gets no whole response. `cause` holds the handler's Cause"
      )
    }
    return (
      `${this.method} ${this.url}: the app failed and production would answer ${this.status}. ` +
      '`cause` holds the handler\'s Cause; pass serverErrors: "respond" to get the response instead'
    )
  }
}

/** @internal */
export class RequestTimeout extends Data.TaggedError("RequestTimeout")<{
  readonly method: string
  readonly url: string
  readonly timeout: Duration.Duration
  /**
   * The status the app had already answered with when the timeout fired, its handler still
   * running (a serve middleware or a scope finalizer working after the response was written).
   */
  readonly answered?: number | undefined
  /** Where the handler was when the timeout fired: its open span, the clock it slept on. */
  readonly where?: string | undefined
}> {
  override get message(): string {
    const where = this.where === undefined || this.where === "" ? "" : ` It was ${this.where}.`
    if (this.answered !== undefined) {
      return (
        `${this.method} ${this.url}: the app answered ${this.answered}, but its handler was still running when the ` +
        "timeout fired (wall clock, also under TestClock): a serve middleware or a finalizer of the request's scope " +
        "kept working after the response was written. TestClient.request returns once the handler has ended, so " +
        "that the request's spans, logs and middleware work are complete when the test reads it; read the response " +
        "with TestClient.stream to have it as soon as it is written. The handler was interrupted as a client abort." +
        where
      )
    }
    return (
      `${this.method} ${this.url}: no response within the timeout of ${Duration.format(this.timeout)} (wall clock, also under TestClock). ` +
      "The handler was interrupted as a client abort; raise `timeout` if the app is just slow." +
      where
    )
  }
}

/** @internal */
export class TooManyRedirects extends Data.TaggedError("TooManyRedirects")<{
  readonly method: string
  readonly url: string
  readonly maxRedirects: number
}> {
  override get message(): string {
    return `${this.method} ${this.url}: more than ${this.maxRedirects} redirects; raise maxRedirects or pass followRedirects: false`
  }
}

/** @internal */
export class ResponseError extends Data.TaggedError("ResponseError")<{
  readonly url: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `${this.url}: ${this.reason}`
  }
}

/** The server span of the request an error is about, for the failure report (not a field of the error). */
const spanIds = new WeakMap<object, string>()

/** Notes the server span of the request `error` is about; returns `error`. */
export const withSpanId = <E extends object>(error: E, spanId: string | undefined): E => {
  if (spanId !== undefined && spanId !== "") spanIds.set(error, spanId)
  return error
}

/** The server span noted for `error` (`""` when none). */
export const spanIdOf = (error: object): string => spanIds.get(error) ?? ""

/**
 * The socket transport has no socket to offer: its server could not listen (`"Listen"`: a
 * port in use), the client is in process (`"InProcess"`), or its options are invalid
 * (`"InvalidOptions"`), so no socket was opened.
 *
 * @internal
 */
export class SocketUnavailable extends Data.TaggedError("SocketUnavailable")<{
  readonly reason: "Listen" | "InProcess" | "InvalidOptions"
  /** What was tried: `127.0.0.1:8080`, or the call that needed the socket. */
  readonly target: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return socketUnavailableMessage(this.reason, this.target, this.cause)
  }
}
