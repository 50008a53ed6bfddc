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
}> {
  override get message(): string {
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
}> {
  override get message(): string {
    return (
      `${this.method} ${this.url}: no response within the timeout of ${Duration.format(this.timeout)} (wall clock, also under TestClock). ` +
      "The handler was interrupted as a client abort; raise `timeout` if the app is just slow"
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
