/**
 * A WebSocket connection between a test and an app, in memory: the app's end as the
 * WHATWG-like object platform libraries wrap (as they wrap a `ws` socket), the connection's
 * state machine (accept, ordered delivery both ways, the closing handshake, a drop), and the
 * rules for what a test may send. Effect-free: each edition adds its own waiting (an Effect
 * `Deferred`) through the hooks of {@link WebSocketLink}.
 */
import { describe, tokenRe } from "./values.js"

/** What the test's end receives. */
export type WebSocketIncoming =
  | { readonly _tag: "Message"; readonly data: string | Uint8Array }
  | { readonly _tag: "Close"; readonly code: number; readonly reason: string }

export interface CloseInfo {
  readonly code: number
  readonly reason: string
}

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

/**
 * The app's end of an in-memory WebSocket: what `Socket.fromWebSocket` wraps, so the app's
 * socket behaves as in production (close codes, close errors, writes waiting for the socket
 * to run). Binary messages arrive as Node Buffers, as `ws` delivers them.
 */
export class AppWebSocket extends EventTarget {
  readyState = CONNECTING
  binaryType = "nodebuffer"
  readonly extensions = ""
  readonly url: string

  constructor(
    private readonly link: WebSocketLink,
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
    this.link.toTest({ _tag: "Message", data: payload })
  }

  /** Starts the closing handshake from the app's side; `code` absent means "no status" (1005 for the peer). */
  close(code?: number, reason?: string): void {
    if (this.readyState >= CLOSING) return
    this.readyState = CLOSING
    this.link.closedBy(code ?? 1005, reason ?? "")
  }
}

/**
 * The app's end reached over a real socket (a client connected to the served app): what the
 * test sends and its close go there. `close` with 1006 drops the connection.
 */
export interface RemotePeer {
  send(data: string | Uint8Array): void
  close(code: number, reason: string): void
}

/**
 * One WebSocket connection between the test and the app: in memory, or over a socket once
 * accepted with a {@link RemotePeer}. Delivery is ordered both ways, and never synchronous
 * inside the sender (messages to the app travel as microtasks). An edition learns of the
 * accept and the close through `whenAccepted` and `whenClosed`.
 */
export class WebSocketLink {
  private app: AppWebSocket | undefined
  private peer: RemotePeer | undefined
  /** How the connection closed, once it has. */
  closeInfo: CloseInfo | undefined = undefined
  /** Called once, when the app accepts the upgrade. */
  onAccept: (() => void) | undefined = undefined

  /** `deliver` hands what the app sends (messages, then its close) to the test's end, in order. */
  constructor(
    readonly url: string,
    readonly protocol: string,
    private readonly deliver: (incoming: WebSocketIncoming) => void
  ) {}

  /** Called once, right after `onAccept`. */
  protected whenAccepted(): void {}

  /** Called once, when either end closes or the connection drops, before the app's end hears of it. */
  protected whenClosed(_info: CloseInfo): void {}

  /** The app's end, opened the first time the app asks for it (the app accepts the upgrade). */
  accept(): AppWebSocket {
    if (this.app !== undefined) return this.app
    const app = new AppWebSocket(this, this.url, this.protocol)
    this.app = app
    app.readyState = OPEN
    this.onAccept?.()
    this.whenAccepted()
    return app
  }

  /** The app accepted the upgrade over a socket: from now on `peer` is its end. */
  acceptRemote(peer: RemotePeer): void {
    if (this.app !== undefined || this.peer !== undefined) return
    this.peer = peer
    this.onAccept?.()
    this.whenAccepted()
  }

  /** A message or the close from the app, to the test. */
  toTest(message: WebSocketIncoming): void {
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
    this.whenClosed({ code, reason })
    const app = this.app
    if (app === undefined) return
    queueMicrotask(() => {
      app.readyState = CLOSED
      app.dispatchEvent(Object.assign(new Event("close"), { code, reason, wasClean: code !== 1006 }))
    })
  }
}

/** A random `sec-websocket-key`, as a client sends. */
export const websocketKey = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64")

/**
 * The subprotocols a test offers (RFC 6455 §4.1): an array of tokens, none offered twice; or
 * what is wrong with them.
 */
export const subprotocols = (
  given: unknown
): { readonly protocols: ReadonlyArray<string> } | { readonly problem: string } => {
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
  return { protocols }
}

/**
 * What is wrong with a close the test sends, if anything: the codes a client may put in a
 * close frame — 1000, 1001–1003, 1007–1014 (e.g. 1001 "going away", as a browser sends when
 * a page is left) and 3000–4999 for applications — and a reason of at most 123 UTF-8 bytes.
 * 1004–1006 and 1015 are reserved (no status, abnormal closure, TLS failure) and never sent;
 * others are unassigned.
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
