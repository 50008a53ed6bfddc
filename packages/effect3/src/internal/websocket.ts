import * as Socket from "@effect/platform/Socket"
import { describe, isOptionBag, tokenRe, unknownKeys } from "@effect-http-testkit/core"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { RequestOptions } from "../Client.js"
import {
  type TestWebSocket,
  WebSocketClosed,
  type WebSocketError,
  WebSocketMessageError,
  WebSocketTimeout
} from "../WebSocket.js"
import { wallClockSleep } from "./clock.js"
import { mergeHeaderInput } from "./config.js"

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
 * The app's end reached over a real socket (a `ws` client connected to the served app):
 * what the test sends and its close go there. `close` with 1006 drops the connection.
 *
 * @internal
 */
export interface RemotePeer {
  send(data: string | Uint8Array): void
  close(code: number, reason: string): void
}

/**
 * One WebSocket connection between the test and the app: in memory, or over a socket when
 * the transport accepted it with a {@link RemotePeer}. Delivery is ordered
 * both ways (messages travel as microtasks, never synchronously inside the sender).
 *
 * @internal
 */
export class Connection {
  private app: AppWebSocket | undefined
  private peer: RemotePeer | undefined
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

  private accept(): AppWebSocket {
    if (this.app !== undefined) return this.app
    const app = new AppWebSocket(this, this.url, this.protocol)
    this.app = app
    app.readyState = OPEN
    this.onAccept?.()
    Deferred.unsafeDone(this.accepted, Effect.void)
    return app
  }

  /** The app accepted the upgrade over a socket: from now on `peer` is its end. */
  acceptRemote(peer: RemotePeer): void {
    if (this.app !== undefined || this.peer !== undefined) return
    this.peer = peer
    this.onAccept?.()
    Deferred.unsafeDone(this.accepted, Effect.void)
  }

  toTest(message: Incoming): void {
    this.deliver(message)
  }

  /** A message from the test to the app. */
  fromTest(data: string | Uint8Array): void {
    if (this.peer !== undefined) {
      if (this.closeInfo === undefined) this.peer.send(data)
      return
    }
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
    this.peer?.close(code, reason)
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

const optionNames = ["protocols", "headers", "params", "cookies", "timeout"]

/**
 * The handshake request of `TestClient.websocket` from its options, or what is wrong with
 * them. Subprotocols follow RFC 6455 §4.1: each a token, none offered twice. The options'
 * headers replace the handshake's own of the same name (any case), and `undefined` removes
 * one; `params`, `cookies` and `timeout` are checked by `prepare`.
 *
 * @internal
 */
export const handshake = (
  options: unknown
):
  | { readonly requestOptions: RequestOptions; readonly protocols: ReadonlyArray<string> }
  | { readonly problem: string } => {
  if (options === undefined) options = {}
  if (!isOptionBag(options)) {
    return {
      problem: `the websocket options must be an object such as { protocols: ["chat"] }, got ${describe(options)}`
    }
  }
  const unknown = unknownKeys(options, optionNames, "option")
  if (unknown !== undefined) return { problem: unknown }
  const given = options.protocols ?? []
  if (!Array.isArray(given)) {
    return {
      problem: `protocols must be an array of subprotocol names, e.g. ["chat.v1"], got ${describe(given)}: pass a single one as [name]`
    }
  }
  const protocols: Array<string> = []
  for (const protocol of given as ReadonlyArray<unknown>) {
    if (typeof protocol !== "string" || !tokenRe.test(protocol)) {
      return {
        problem: `subprotocol ${describe(protocol)} is not a token (RFC 6455: letters, digits and !#$%&'*+-.^_\`|~)`
      }
    }
    if (protocols.includes(protocol)) {
      return { problem: `subprotocol ${describe(protocol)} is offered more than once: RFC 6455 requires unique names` }
    }
    protocols.push(protocol)
  }
  const lines: Array<readonly [string, string]> = [
    ["connection", "Upgrade"],
    ["upgrade", "websocket"],
    ["sec-websocket-version", "13"],
    ["sec-websocket-key", websocketKey()]
  ]
  if (protocols.length > 0) lines.push(["sec-websocket-protocol", protocols.join(", ")])
  const removed: Array<string> = []
  if (options.headers !== undefined) {
    const problem = mergeHeaderInput(lines, options.headers as Readonly<Record<string, string>>)
    if (problem !== undefined) return { problem }
    if (!(options.headers instanceof globalThis.Headers)) {
      for (const [name, value] of Object.entries(options.headers as object)) {
        if (value === undefined) removed.push(name.toLowerCase())
      }
    }
  }
  const headers: Record<string, string | Array<string> | undefined> = {}
  for (const [name, value] of lines) {
    const current = headers[name]
    headers[name] = current === undefined ? value : [...(Array.isArray(current) ? current : [current]), value]
  }
  // Removes the client's default of that name too (`{ "user-agent": undefined }`).
  for (const name of removed) headers[name] = undefined
  return {
    protocols,
    requestOptions: {
      headers,
      ...(options.params === undefined ? {} : { params: options.params as RequestOptions["params"] }),
      ...(options.cookies === undefined ? {} : { cookies: options.cookies as RequestOptions["cookies"] }),
      ...(options.timeout === undefined ? {} : { timeout: options.timeout as RequestOptions["timeout"] })
    }
  }
}

/**
 * What is wrong with a close the test sends, if anything: the codes a `ws` client may put in
 * a close frame — 1000, 1001–1003, 1007–1014 (e.g. 1001 "going away", as a browser sends
 * when a page is left) and 3000–4999 for applications — and a reason of at most 123 UTF-8
 * bytes. 1004–1006 and 1015 are reserved (no status, abnormal closure, TLS failure) and never
 * sent; others are unassigned.
 *
 * @internal
 */
export const closeProblem = (code: unknown, reason: unknown): string | undefined => {
  const valid =
    typeof code === "number" &&
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
      (code >= 3000 && code <= 4999))
  if (!valid) {
    return (
      `close code ${describe(code)} cannot be sent: use 1000 (normal), 3000–4999 (application codes), or one of ` +
      "1001–1003, 1007–1014; 1005, 1006 and 1015 are reserved for a close without a frame"
    )
  }
  if (typeof reason !== "string") return `the close reason must be a string, got ${describe(reason)}`
  const bytes = Buffer.byteLength(reason, "utf8")
  if (bytes > 123) {
    return `the close reason is ${bytes} bytes of UTF-8: a close frame holds at most 123 (125 minus the code)`
  }
  return undefined
}

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
      : Schema.isSchema(schema)
        ? Effect.flatMap(parsed, Schema.decodeUnknown(schema))
        : Effect.fail(
            new WebSocketMessageError({
              url,
              reason: `receiveJson takes a Schema (or nothing), got ${describe(schema)}`
            })
          )) as TestWebSocket["receiveJson"]

  const send = (data: string | Uint8Array): Effect.Effect<void, WebSocketClosed | WebSocketMessageError> =>
    Effect.suspend((): Effect.Effect<void, WebSocketClosed | WebSocketMessageError> => {
      if (typeof data !== "string" && !(data instanceof Uint8Array)) {
        return Effect.fail(
          new WebSocketMessageError({
            url,
            reason: `send takes a string (a text message) or a Uint8Array (binary), got ${describe(data)}; use sendJson for a value`
          })
        )
      }
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
    close: (code = 1000, reason = "") =>
      Effect.suspend(() => {
        const problem = closeProblem(code, reason)
        if (problem !== undefined) return Effect.fail(new WebSocketMessageError({ url, reason: problem }))
        connection.closedBy(code, reason)
        return Effect.void
      }),
    closed: Deferred.await(connection.closed)
  }
}
