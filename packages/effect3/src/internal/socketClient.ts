import * as ServerError from "@effect/platform/HttpServerError"
import { tokenRe, websocketKey } from "@effect-http-testkit/core"
import type * as Fiber from "effect/Fiber"
import { WebSocketRejected } from "../WebSocket.js"
import { setWallTimer } from "./clock.js"
import type { Config } from "./config.js"
import { InvalidRequest } from "./errors.js"
import { judge, start } from "./exchange.js"
import { BufferedSink } from "./response.js"
import type { InProcessServer } from "./server.js"
import { Connection, type Incoming } from "./websocket.js"

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

/**
 * The `Socket.WebSocketConstructor` of the in-process app: what `NodeSocket`'s constructor
 * gives (a `ws` client), connected to the app's `HttpServerRequest.upgrade` instead of a
 * socket, so `Socket.makeWebSocket` and `RpcClient.layerProtocolSocket` run unchanged. Any
 * `ws:`, `wss:`, `http:` or `https:` URL reaches the app (its host and port are not looked
 * at, as `NodeHttpServer.layerTest`'s address would be); a relative one resolves against
 * `baseUrl`.
 *
 * @internal
 */
export const makeConstructor =
  (server: InProcessServer, config: Config) =>
  (url: string, protocols?: string | Array<string>): globalThis.WebSocket =>
    new ClientWebSocket(
      server,
      config,
      url,
      protocols === undefined ? [] : typeof protocols === "string" ? [protocols] : protocols
    ) as unknown as globalThis.WebSocket

/**
 * The client's end: a WHATWG-like WebSocket (as `ws` implements it: events, `readyState`,
 * binary messages as Node Buffers) whose handshake goes through the app. A refused or failed
 * handshake fires `error` (its `error` property holds the kit's tagged error:
 * `WebSocketRejected`, `InvalidRequest`, `ServerError`, ...) and then `close` with 1006.
 *
 * @internal
 */
export class ClientWebSocket extends EventTarget {
  readyState = CONNECTING
  binaryType = "nodebuffer"
  protocol = ""
  readonly extensions = ""
  readonly url: string
  private connection: Connection | undefined
  private fiber: Fiber.RuntimeFiber<void> | undefined

  constructor(server: InProcessServer, config: Config, url: string, protocols: ReadonlyArray<string>) {
    super()
    this.url = url
    // The handshake starts after the caller has attached its listeners, as a socket's would.
    queueMicrotask(() => this.connect(server, config, protocols))
  }

  private connect(server: InProcessServer, config: Config, protocols: ReadonlyArray<string>): void {
    if (this.readyState !== CONNECTING) return
    if (config.problem !== undefined) {
      this.fail(new InvalidRequest({ method: "GET", url: this.url, reason: config.problem }))
      return
    }
    const protocolProblem = protocols.find(
      (protocol, i) => !tokenRe.test(protocol) || protocols.indexOf(protocol) !== i
    )
    if (protocolProblem !== undefined) {
      this.fail(
        new InvalidRequest({
          method: "GET",
          url: this.url,
          reason: `invalid or repeated WebSocket subprotocol ${JSON.stringify(protocolProblem)}: give distinct tokens such as "chat.v1"`
        })
      )
      return
    }
    const target = httpUrl(config, this.url)
    if (typeof target === "string") {
      this.fail(new InvalidRequest({ method: "GET", url: this.url, reason: target }))
      return
    }
    // What the app sends arrives a turn of the event loop later, as from a socket: a client
    // (platform's `Socket.fromWebSocket`) that resumes on `open` sees the app's first messages
    // and close after it, as in production, not all at once in the same microtask drain.
    const connection = new Connection(target.href.replace(/^http/, "ws"), protocols[0] ?? "", (incoming) =>
      setImmediate(() => this.receive(incoming))
    )
    const sink = new BufferedSink()
    const lines: Array<readonly [string, string]> = [
      ["host", target.host],
      ["connection", "Upgrade"],
      ["upgrade", "websocket"],
      ["sec-websocket-version", "13"],
      ["sec-websocket-key", websocketKey()]
    ]
    if (protocols.length > 0) lines.push(["sec-websocket-protocol", protocols.join(", ")])
    const hop = { method: "GET", url: target, body: { _tag: "Empty" } as const }
    const cancel = setWallTimer(config.timeout, () => {
      if (this.readyState !== CONNECTING) return
      this.fiber?.unsafeInterruptAsFork(ServerError.clientAbortFiberId)
      this.fail(
        new InvalidRequest({
          method: "GET",
          url: this.url,
          reason: "the app did not accept the WebSocket upgrade within the client's timeout"
        })
      )
    })
    connection.onAccept = () => {
      cancel()
      // Once upgraded, the app's eventual HTTP response goes nowhere, as on a Node socket.
      sink.upgraded()
      this.connection = connection
      this.protocol = connection.protocol
      queueMicrotask(() => {
        if (this.readyState !== CONNECTING) return
        this.readyState = OPEN
        this.dispatchEvent(new Event("open"))
      })
    }
    const fiber = start(server, config, hop, lines, sink, connection)
    if (!("await" in fiber)) {
      cancel()
      this.fail(fiber)
      return
    }
    this.fiber = fiber
    fiber.addObserver((exit) => {
      cancel()
      if (this.connection !== undefined || this.readyState !== CONNECTING) return
      const error =
        judge({ serverErrors: "respond" }, hop, sink, exit) ??
        new WebSocketRejected({ url: this.url, status: sink.status, headers: sink.headers!, body: sink.body() })
      this.fail(error)
    })
  }

  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.readyState === CONNECTING)
      throw new DOMException("WebSocket is not open: readyState 0 (CONNECTING)", "InvalidStateError")
    if (this.readyState !== OPEN) return
    const connection = this.connection!
    if (typeof data === "string") connection.fromTest(data)
    else if (ArrayBuffer.isView(data)) {
      connection.fromTest(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    } else if (data instanceof Blob) {
      void data.arrayBuffer().then((buffer) => connection.fromTest(new Uint8Array(buffer)))
    } else connection.fromTest(new Uint8Array(data as ArrayBuffer))
  }

  /** Starts the closing handshake; before the app accepted, the connection is abandoned (1006). */
  close(code?: number, reason?: string): void {
    if (this.readyState >= CLOSING) return
    if (this.connection === undefined) {
      this.fiber?.unsafeInterruptAsFork(ServerError.clientAbortFiberId)
      this.readyState = CLOSED
      queueMicrotask(() => this.dispatchEvent(closeEvent(1006, "")))
      return
    }
    this.readyState = CLOSING
    this.connection.closedBy(code ?? 1005, reason ?? "")
  }

  private receive(incoming: Incoming): void {
    if (this.readyState === CLOSED) return
    if (incoming._tag === "Message") {
      const data = typeof incoming.data === "string" ? incoming.data : Buffer.from(incoming.data)
      this.dispatchEvent(new MessageEvent("message", { data }))
      return
    }
    this.readyState = CLOSED
    this.dispatchEvent(closeEvent(incoming.code, incoming.reason))
  }

  /** A failed handshake, as a browser or `ws` reports it: `error`, then `close` with 1006. */
  private fail(error: unknown): void {
    if (this.readyState === CLOSED) return
    this.readyState = CLOSED
    queueMicrotask(() => {
      this.dispatchEvent(
        Object.assign(new Event("error"), { error, message: error instanceof Error ? error.message : String(error) })
      )
      this.dispatchEvent(closeEvent(1006, ""))
    })
  }
}

const closeEvent = (code: number, reason: string): Event =>
  Object.assign(new Event("close"), { code, reason, wasClean: code !== 1006 })

/** The handshake's http(s) URL, or what is wrong with the one given. */
const httpUrl = (config: Config, raw: string): URL | string => {
  let url: URL
  try {
    url = new URL(raw, `${config.origin}${config.basePath}/`)
  } catch {
    return `invalid WebSocket URL ${JSON.stringify(raw)}: give a path such as "/chat" or a ws:// or http:// URL`
  }
  switch (url.protocol) {
    case "ws:":
    case "http:":
      return new URL(`http:${url.href.slice(url.protocol.length)}`)
    case "wss:":
    case "https:":
      return new URL(`https:${url.href.slice(url.protocol.length)}`)
    default:
      return `unsupported WebSocket URL scheme ${url.protocol} in ${JSON.stringify(raw)}: use ws, wss, http or https`
  }
}
