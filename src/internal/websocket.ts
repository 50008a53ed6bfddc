import * as Socket from "@effect/platform/Socket"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import {
  type TestWebSocket,
  WebSocketClosed,
  type WebSocketError,
  WebSocketMessageError,
  WebSocketTimeout
} from "../WebSocket.js"
import { wallClockSleep } from "./clock.js"

/** What the test's end receives. @internal */
export type Incoming =
  | { readonly _tag: "Message"; readonly data: string | Uint8Array }
  | { readonly _tag: "Close"; readonly code: number; readonly reason: string }

/** @internal */
export interface CloseInfo {
  readonly code: number
  readonly reason: string
}

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

/**
 * The app's end of an in-memory WebSocket: the WHATWG-like object platform's
 * `Socket.fromWebSocket` wraps (as platform-node wraps a `ws` socket), so the app's socket
 * behaves exactly as in production — close codes, `SocketCloseError`, writes waiting for
 * `run`. Binary messages arrive as Node Buffers, as `ws` delivers them.
 *
 * @internal
 */
export class AppWebSocket extends EventTarget {
  readyState = CONNECTING
  binaryType = "nodebuffer"
  readonly extensions = ""
  readonly url: string

  constructor(
    private readonly connection: Connection,
    url: string,
    readonly protocol: string
  ) {
    super()
    this.url = url
  }

  send(data: string | ArrayBufferLike | ArrayBufferView): void {
    if (this.readyState !== OPEN) return
    const payload =
      typeof data === "string"
        ? data
        : ArrayBuffer.isView(data)
          ? new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
          : new Uint8Array((data as ArrayBuffer).slice(0))
    this.connection.toTest({ _tag: "Message", data: payload })
  }

  /** Starts the closing handshake from the app's side; `code` absent means "no status" (1005 for the peer). */
  close(code?: number, reason?: string): void {
    if (this.readyState >= CLOSING) return
    this.readyState = CLOSING
    this.connection.closedBy(code ?? 1005, reason ?? "")
  }
}

/**
 * One in-memory WebSocket connection between the test and the app. Delivery is ordered
 * both ways (messages travel as microtasks, never synchronously inside the sender).
 *
 * @internal
 */
export class Connection {
  private app: AppWebSocket | undefined
  closeInfo: CloseInfo | undefined = undefined
  /** Called once, when the app accepts the upgrade. */
  onAccept: (() => void) | undefined = undefined
  readonly accepted = Deferred.unsafeMake<void>(FiberId.none)
  readonly closed = Deferred.unsafeMake<CloseInfo>(FiberId.none)

  /** `deliver` hands what the app sends (messages, then its close) to the test's end, in order. */
  constructor(
    readonly url: string,
    readonly protocol: string,
    private readonly deliver: (incoming: Incoming) => void
  ) {}

  /** A connection whose test end reads from a queue (the kit's `TestWebSocket`). */
  static make(
    url: string,
    protocol: string
  ): Effect.Effect<{ connection: Connection; incoming: Queue.Queue<Incoming> }> {
    return Effect.map(Queue.unbounded<Incoming>(), (incoming) => ({
      connection: new Connection(url, protocol, (message) => Queue.unsafeOffer(incoming, message)),
      incoming
    }))
  }

  /**
   * The app's `request.upgrade`: one socket per connection, opened when the app first runs
   * it, closed (with no status, as platform-node's release does) when its scope ends.
   */
  get upgrade(): Effect.Effect<Socket.Socket> {
    return Socket.fromWebSocket(
      Effect.acquireRelease(
        Effect.sync(() => this.accept() as unknown as globalThis.WebSocket),
        (ws) => Effect.sync(() => ws.close())
      )
    )
  }

  get isOpen(): boolean {
    return this.closeInfo === undefined && this.app !== undefined
  }

  private accept(): AppWebSocket {
    if (this.app !== undefined) return this.app
    const app = new AppWebSocket(this, this.url, this.protocol)
    this.app = app
    app.readyState = OPEN
    this.onAccept?.()
    Deferred.unsafeDone(this.accepted, Effect.void)
    return app
  }

  toTest(message: Incoming): void {
    this.deliver(message)
  }

  /** A message from the test to the app. */
  fromTest(data: string | Uint8Array): void {
    const app = this.app
    if (app === undefined || app.readyState !== OPEN) return
    const payload = typeof data === "string" ? data : Buffer.from(data)
    queueMicrotask(() => {
      if (app.readyState === OPEN) app.dispatchEvent(new MessageEvent("message", { data: payload }))
    })
  }

  /**
   * Either end closes (the other answers the close frame, so both ends end up closed with
   * this code), or, with 1006, the connection drops without a close frame.
   */
  closedBy(code: number, reason: string): void {
    if (this.closeInfo !== undefined) return
    this.closeInfo = { code, reason }
    this.toTest({ _tag: "Close", code, reason })
    this.finish(code, reason)
  }

  private finish(code: number, reason: string): void {
    Deferred.unsafeDone(this.closed, Effect.succeed({ code, reason }))
    const app = this.app
    if (app === undefined) return
    queueMicrotask(() => {
      app.readyState = CLOSED
      app.dispatchEvent(Object.assign(new Event("close"), { code, reason, wasClean: code !== 1006 }))
    })
  }
}

/** A random `sec-websocket-key`, as a client sends. @internal */
export const websocketKey = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64")

// ---------------------------------------------------------------------------
// the test's end
// ---------------------------------------------------------------------------

/** @internal */
export const makeTestWebSocket = (
  connection: Connection,
  incoming: Queue.Queue<Incoming>,
  timeout: Duration.Duration
): TestWebSocket => {
  const url = connection.url
  let closeSeen: CloseInfo | undefined
  const closedError = (info: CloseInfo) => new WebSocketClosed({ url, code: info.code, reason: info.reason })

  const receive: Effect.Effect<string | Uint8Array, WebSocketError> = Effect.suspend(() => {
    if (closeSeen !== undefined) return Effect.fail(closedError(closeSeen))
    return Queue.take(incoming).pipe(
      Effect.raceFirst(
        Effect.zipRight(
          wallClockSleep(timeout),
          Effect.failSync(() => new WebSocketTimeout({ url, timeout }))
        )
      ),
      Effect.flatMap((incoming) => {
        if (incoming._tag === "Message") return Effect.succeed(incoming.data)
        closeSeen = incoming
        return Effect.fail(closedError(incoming))
      })
    )
  })

  const receiveText = Effect.flatMap(receive, (data) =>
    typeof data === "string"
      ? Effect.succeed(data)
      : Effect.fail(
          new WebSocketMessageError({ url, reason: `expected a text message, received ${data.length} bytes of binary` })
        )
  )

  const parsed = Effect.flatMap(receiveText, (text) =>
    Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (cause) =>
        new WebSocketMessageError({
          url,
          reason: `the message is not valid JSON: ${JSON.stringify(text.slice(0, 200))}`,
          cause
        })
    })
  )

  const receiveJson = (<A, I, R>(schema?: Schema.Schema<A, I, R>) =>
    schema === undefined
      ? parsed
      : Effect.flatMap(parsed, Schema.decodeUnknown(schema))) as TestWebSocket["receiveJson"]

  const send = (data: string | Uint8Array) =>
    Effect.suspend(() => {
      if (connection.closeInfo !== undefined) return Effect.fail(closedError(connection.closeInfo))
      connection.fromTest(data)
      return Effect.void
    })

  return {
    protocol: connection.protocol,
    send,
    sendJson: (value) =>
      Effect.suspend((): Effect.Effect<void, WebSocketClosed | WebSocketMessageError> => {
        let text: string | undefined
        try {
          text = JSON.stringify(value)
        } catch (cause) {
          return Effect.fail(
            new WebSocketMessageError({ url, reason: `cannot serialise the value: ${String(cause)}`, cause })
          )
        }
        if (text === undefined)
          return Effect.fail(new WebSocketMessageError({ url, reason: "the value serialises to nothing" }))
        return send(text)
      }),
    receive,
    receiveText,
    receiveJson,
    messages: Stream.repeatEffectOption(
      Effect.catchTag(receive, "WebSocketClosed", () => Effect.fail(Option.none())).pipe(
        Effect.mapError((error) => (Option.isOption(error) ? error : Option.some(error)))
      )
    ),
    close: (code = 1000, reason = "") => Effect.sync(() => connection.closedBy(code, reason)),
    closed: Deferred.await(connection.closed)
  }
}
