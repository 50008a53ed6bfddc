/**
 * The in-process `Socket.WebSocketConstructor`: what a `ws` client gives, connected to the
 * app's upgrade handler instead of a socket, so `Socket.makeWebSocket` (and what runs on it)
 * runs unchanged.
 *
 * @internal
 */
import { closeProblem, describe, subprotocols, websocketKey } from "@effect-http-testkit/core"
import type * as Socket from "effect/socket/Socket"
import type { Config } from "./client.js"
import { type Handshake, runHandshake } from "./connect.js"
import { InvalidRequest } from "./errors.js"
import { mergeLines } from "./options.js"
import type { InProcessServer } from "./server.js"
import { Connection, type HandshakeRequest, handshakeUrl, headerInput, type Incoming } from "./websocket.js"

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

/** What the constructor connects to: a client's server and settings, or why it cannot. */
export type Target = { readonly config: Config; readonly server: InProcessServer } | { readonly problem: string }

/** The target of each client a TestClient layer built, for its `Socket.WebSocketConstructor`. */
export const targets = new WeakMap<object, Target>()

/**
 * The `Socket.WebSocketConstructor` of an in-process app. Any `ws:`, `wss:`, `http:` or
 * `https:` URL reaches the app (its host and port are not looked at); a relative one resolves
 * against the client's `baseUrl`.
 */
export const makeConstructor =
  (target: Target) =>
  (url: string, options?: Socket.WebSocketConstructorOptions): Socket.WebSocketLike =>
    new ClientWebSocket(target, url, options)

/**
 * The client's end: a WHATWG-like WebSocket (as `ws` implements it: events, `readyState`,
 * `binaryType`) whose handshake goes through the app: the one `ws` writes (`host`, the given
 * headers, `sec-websocket-version`, `sec-websocket-key`, `connection`, `upgrade`, the offered
 * subprotocols), with no cookies. A refused or failed handshake fires `error` (its `error`
 * property holds the kit's tagged error: `WebSocketRejected`, `InvalidRequest`,
 * `ServerError`, `RequestTimeout`) and then `close` with 1006.
 */
export class ClientWebSocket extends EventTarget implements Socket.WebSocketLike {
  readyState = CONNECTING
  binaryType = "nodebuffer"
  protocol = ""
  readonly extensions = ""
  readonly url: string
  private connection: Connection | undefined
  private handshake: Handshake | undefined

  constructor(target: Target, url: string, options: Socket.WebSocketConstructorOptions | undefined) {
    super()
    this.url = url
    // The handshake starts once the caller has attached its listeners, as a socket's would.
    queueMicrotask(() => this.connect(target, options))
  }

  private connect(target: Target, options: Socket.WebSocketConstructorOptions | undefined): void {
    if (this.readyState !== CONNECTING) return
    const handshake = clientHandshake(target, this.url, options)
    if (typeof handshake === "string") {
      this.fail(new InvalidRequest({ method: "GET", url: this.url, reason: handshake }))
      return
    }
    const { server, request } = handshake
    // What the app sends arrives a turn of the event loop later, as from a socket: a client
    // that resumes on `open` sees the app's first messages and close after it, not all in
    // the same microtask drain.
    const connection = new Connection(request.url.href.replace(/^http/, "ws"), request.protocol, (incoming) =>
      setImmediate(() => this.receive(incoming))
    )
    // A socket client sees what production sends, never the kit's ServerError.
    this.handshake = runHandshake(server, "respond", request, connection, (outcome) => {
      if (outcome._tag === "Failed") return this.fail(outcome.error)
      this.connection = connection
      this.protocol = connection.protocol
      queueMicrotask(() => {
        if (this.readyState !== CONNECTING) return
        this.readyState = OPEN
        this.dispatchEvent(new Event("open"))
      })
    })
  }

  send(data: string | ArrayBufferLike | ArrayBufferView): void {
    if (this.readyState === CONNECTING) throw new Error("WebSocket is not open: readyState 0 (CONNECTING)")
    if (this.readyState !== OPEN) return
    const connection = this.connection!
    if (typeof data === "string") connection.fromTest(data)
    else if (ArrayBuffer.isView(data)) {
      connection.fromTest(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    } else connection.fromTest(new Uint8Array(data as ArrayBuffer))
  }

  /**
   * Starts the closing handshake; a code or reason `ws` refuses throws as in `ws`. Before the
   * app has upgraded, the connection is abandoned (the app's handler sees a client abort).
   */
  close(code?: number, reason?: string): void {
    if (this.readyState >= CLOSING) return
    if (this.connection === undefined) {
      this.readyState = CLOSED
      this.handshake?.release(() => {})
      queueMicrotask(() => this.dispatchEvent(closeEvent(1006, "")))
      return
    }
    if (code !== undefined || reason !== undefined) {
      const problem = closeProblem(code ?? 1000, reason ?? "")
      if (problem !== undefined) throw new TypeError(problem)
    }
    this.readyState = CLOSING
    this.connection.closedBy(code ?? 1005, reason ?? "")
  }

  private receive(incoming: Incoming): void {
    if (this.readyState === CLOSED) return
    if (incoming._tag === "Message") {
      const data = incoming.data
      const payload =
        typeof data === "string"
          ? data
          : this.binaryType === "arraybuffer"
            ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
            : Buffer.from(data)
      this.dispatchEvent(new MessageEvent("message", { data: payload }))
      return
    }
    this.readyState = CLOSED
    this.dispatchEvent(closeEvent(incoming.code, incoming.reason))
  }

  /** A failed handshake, as `ws` reports it: `error`, then `close` with 1006. */
  private fail(error: unknown): void {
    if (this.readyState === CLOSED) return
    this.readyState = CLOSED
    queueMicrotask(() => {
      this.dispatchEvent(
        Object.assign(new Event("error"), { error, message: error instanceof Error ? error.message : describe(error) })
      )
      this.dispatchEvent(closeEvent(1006, ""))
    })
  }
}

const closeEvent = (code: number, reason: string): Event =>
  Object.assign(new Event("close"), { code, reason, wasClean: code !== 1006 })

/** The handshake a `ws` client sends for `rawUrl` and `options`, or what is wrong with them. */
const clientHandshake = (
  target: Target,
  rawUrl: string,
  options: Socket.WebSocketConstructorOptions | undefined
): { readonly server: InProcessServer; readonly request: HandshakeRequest } | string => {
  if ("problem" in target) return target.problem
  const given = typeof options === "string" || Array.isArray(options) ? { protocols: options } : (options ?? {})
  const protocols: ReadonlyArray<unknown> =
    given.protocols === undefined ? [] : typeof given.protocols === "string" ? [given.protocols] : given.protocols
  const offered = subprotocols(protocols)
  if ("problem" in offered) return offered.problem
  const headers = headerInput(given.headers, "the WebSocket headers")
  if (typeof headers === "string") return headers
  const url = handshakeUrl(target.config.base, rawUrl)
  if (typeof url === "string") return url
  const lines = mergeLines([["host", url.host]], headers.lines, [
    ["sec-websocket-version", "13"],
    ["sec-websocket-key", websocketKey()],
    ["connection", "Upgrade"],
    ["upgrade", "websocket"],
    ...(offered.protocols.length > 0 ? ([["sec-websocket-protocol", offered.protocols.join(", ")]] as const) : [])
  ])
  return {
    server: target.server,
    request: { url, lines, protocol: offered.protocols[0] ?? "", timeoutMillis: target.config.timeoutMillis }
  }
}
