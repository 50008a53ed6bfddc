import type * as HttpClientError from "@effect/platform/HttpClientError"
import { socketUnavailableMessage } from "@effect-http-testkit/core"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import type { TestResponse } from "../Client.js"

/**
 * The request could not be sent as given (two bodies, a bad header, URL, cookie or body
 * value). The message says what to fix.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequest extends Data.TaggedError("InvalidRequest")<{
  readonly method: string
  readonly url: string
  readonly reason: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return `${this.method} ${this.url}: ${this.reason}`
  }
}

const clientClosedReasons = {
  ScopeClosed:
    "the TestClient's scope has closed, so its app is shut down. Make requests inside the Effect that the " +
    "TestClient layer is provided to.",
  NotServing:
    "no app is being served. The bootstrap layer given to TestClient.layerServer must call HttpServer.serve " +
    "(or HttpApiBuilder.serve) so there is an app to send requests to.",
  Disconnected:
    "the body was cut short because the test disconnected the exchange: the scope that opened the stream (or the " +
    "TestClient's) closed before the body was read. Read it inside that scope."
} as const

/**
 * The client cannot reach an app: its scope has closed, or the bootstrap layer never
 * called `HttpServer.serve`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ClientClosed extends Data.TaggedError("ClientClosed")<{
  readonly method: string
  readonly url: string
  readonly reason: "ScopeClosed" | "NotServing" | "Disconnected"
}> {
  override get message(): string {
    return `${this.method} ${this.url}: ${clientClosedReasons[this.reason]}`
  }
}

/**
 * The app failed or died while handling the request and nothing turned that into a
 * response (with `serverErrors: "fail"`). `cause` is the app's full `Cause`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Data.TaggedError("ServerError")<{
  readonly method: string
  readonly url: string
  readonly status: number
  readonly cause: Cause.Cause<unknown>
}> {
  override get message(): string {
    return (
      `${this.method} ${this.url}: the app failed while handling the request (it would answer ${this.status}). ` +
      `Pass serverErrors: "respond" to receive that response instead.\n${Cause.pretty(this.cause, { renderErrorCause: true })}`
    )
  }
}

/**
 * No complete response within the `timeout`; the handler was interrupted as a client abort.
 *
 * @since 0.1.0
 * @category errors
 */
export class RequestTimeout extends Data.TaggedError("RequestTimeout")<{
  readonly method: string
  readonly url: string
  readonly timeout: Duration.Duration
  readonly handlerStopped: boolean
  /** Where the handler was when time ran out: its open spans, a TestClock it waited on. */
  readonly waitingIn?: ReadonlyArray<string> | undefined
  /**
   * `false` when the request never reached the app (over a socket: no handler ran, the
   * connection was closed); absent otherwise.
   */
  readonly reachedApp?: false | undefined
}> {
  override get message(): string {
    const head = `${this.method} ${this.url}: no complete response within ${Duration.format(this.timeout)}; `
    if (this.reachedApp === false) {
      return `${head}the request never reached the app (no handler ran), and its connection was closed.`
    }
    const where =
      this.waitingIn === undefined || this.waitingIn.length === 0
        ? ""
        : `\nThe handler was waiting:\n${this.waitingIn.map((what) => `  - ${what}`).join("\n")}`
    return (
      head +
      (this.handlerStopped
        ? "the handler was interrupted as a client abort."
        : "the handler was interrupted as a client abort but has not stopped (it ignores interruption, or a " +
          "finalizer of its is still running).") +
      where
    )
  }
}

/**
 * The app's server closed the connection without answering, as platform-node does when a
 * request body exceeds `MaxBodySize`: a real client sees a socket reset there, not a response.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionReset extends Data.TaggedError("ConnectionReset")<{
  readonly method: string
  readonly url: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.method} ${this.url}: the server closed the connection without a response: ${this.reason}`
  }
}

/**
 * Something the client started did not stop within `drainTimeout`: a disconnected handler
 * that ignores interruption. `running` names each one.
 *
 * @since 0.1.0
 * @category errors
 */
export class DrainTimeout extends Data.TaggedError("DrainTimeout")<{
  readonly timeout: Duration.Duration
  /** What is still running, one description each. */
  readonly running: ReadonlyArray<string>
  /** When it was waited for: a `drainTasks` call, or the client's scope closing. */
  readonly during?: "drainTasks" | "scope close" | undefined
  /** What the kit did about it, or a hint (e.g. fibers waiting on the TestClock). */
  readonly notes?: ReadonlyArray<string> | undefined
}> {
  override get message(): string {
    const when =
      this.during === "drainTasks"
        ? `drainTasks waited ${Duration.format(this.timeout)} for the app's background work`
        : `still running ${Duration.format(this.timeout)} after the scope began to close`
    const notes = this.notes === undefined || this.notes.length === 0 ? "" : `\n${this.notes.join("\n")}`
    return (
      `${when} (raise drainTimeout, or make them stop on interruption):\n` +
      `${this.running.map((what) => `  - ${what}`).join("\n")}${notes}`
    )
  }
}

/**
 * `drainTasks` was called from inside the app's own tracked work, where it would wait for
 * itself.
 *
 * @since 0.1.0
 * @category errors
 */
export class DrainDeadlock extends Data.TaggedError("DrainDeadlock")<{
  /** The request whose work called `drainTasks`. */
  readonly request: string
}> {
  override get message(): string {
    return (
      `drainTasks was called from inside the app's own tracked work (started by ${this.request}): it would wait ` +
      "for itself forever. Call it from the test, after the request, instead."
    )
  }
}

/**
 * No finished span matches: the message lists the finished spans and the ones still open.
 *
 * @since 0.1.0
 * @category errors
 */
export class SpanNotFound extends Data.TaggedError("SpanNotFound")<{
  readonly query: string
  /** Names of the finished spans that were searched, to help spot a typo. */
  readonly known: ReadonlyArray<string>
  readonly open: ReadonlyArray<string>
}> {
  override get message(): string {
    const known = this.known.length === 0 ? "none" : Array.from(new Set(this.known)).slice(0, 20).join(", ")
    const open =
      this.open.length === 0
        ? ""
        : ` Still open (a span is visible only once it has ended; drainTasks waits for them): ${this.open.join(", ")}.`
    return `no finished span ${this.query}. Finished spans: ${known}.${open}`
  }
}

/**
 * A request followed more than `maxRedirects` redirects. `history` holds every response,
 * oldest first.
 *
 * @since 0.1.0
 * @category errors
 */
export class TooManyRedirects extends Data.TaggedError("TooManyRedirects")<{
  readonly method: string
  readonly url: string
  readonly maxRedirects: number
  /** Every response received, oldest first; the last one is the redirect that was not followed. */
  readonly history: ReadonlyArray<TestResponse>
}> {
  override get message(): string {
    const hops = this.history.map((r) => `  ${r.status} ${r.url} -> ${r.headers.location ?? "(no location)"}`)
    return (
      `${this.method} ${this.url}: more than ${this.maxRedirects} redirects (raise maxRedirects, or pass ` +
      `followRedirects: false to inspect them one by one):\n${hops.join("\n")}`
    )
  }
}

/**
 * The socket transport has no socket to offer: its server could not listen (`"Listen"`:
 * the port is taken, or not allowed), the client's options are invalid so none was opened
 * (`"InvalidOptions"`), or the client is in process and has no address (`"InProcess"`, from
 * `TestClient.address`). The message says what to change.
 *
 * @since 0.2.0
 * @category errors
 */
export class SocketUnavailable extends Data.TaggedError("SocketUnavailable")<{
  readonly reason: "Listen" | "InProcess" | "InvalidOptions"
  /** What was tried: `127.0.0.1:8080`, or the request that needed the socket. */
  readonly target: string
  readonly cause?: unknown
}> {
  override get message(): string {
    return socketUnavailableMessage(this.reason, this.target, this.cause)
  }
}

/** @internal */
export type TestClientError =
  | InvalidRequest
  | ClientClosed
  | SocketUnavailable
  | ServerError
  | RequestTimeout
  | TooManyRedirects
  | ConnectionReset
  | HttpClientError.ResponseError
