/**
 * The in-memory WebSocket connection (the core's `WebSocketLink`) with what the kit waits on,
 * the app's end as `Socket.fromWebSocket` sees a `ws` socket, the handshake request of
 * `TestClient.websocket`, and the test's end (`TestWebSocket`).
 *
 * @internal
 */
import {
  type AppWebSocket,
  type CloseInfo,
  closeProblem,
  cookieHeader,
  describe,
  invalidValueRe,
  isOptionBag,
  type Jar,
  subprotocols,
  tokenRe,
  unknownKeys,
  validateCookies,
  type WebSocketIncoming,
  WebSocketLink,
  websocketKey
} from "@effect-http-testkit/core"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Socket from "effect/socket/Socket"
import {
  type TestWebSocket,
  WebSocketClosed,
  type WebSocketError,
  WebSocketMessageError,
  WebSocketTimeout
} from "../WebSocket.js"
import type { Config } from "./client.js"
import { wallClockSleep } from "./clock.js"
import { appendParams, durationMillis, entriesOf, mergeLines, resolveUrl } from "./options.js"

// ---------------------------------------------------------------------------
// the connection
// ---------------------------------------------------------------------------

/** What the test's end receives. */
export type Incoming = WebSocketIncoming

/**
 * One WebSocket connection between the test and the app (the core's state machine), with
 * what the kit waits on: the close.
 */
export class Connection extends WebSocketLink {
  /** Whether the app has accepted the upgrade. */
  accepted = false
  readonly closed = Deferred.makeUnsafe<CloseInfo>()

  protected override whenAccepted(): void {
    this.accepted = true
  }

  protected override whenClosed(info: CloseInfo): void {
    Deferred.doneUnsafe(this.closed, Effect.succeed(info))
  }
}

/**
 * The app's end as `Socket.fromWebSocket` sees a `ws` server socket: binary messages as `ws`
 * hands them for the `binaryType` asked (`Socket.fromWebSocket` asks for `"arraybuffer"`, so
 * the app reads plain `Uint8Array`s, not Buffers), and a close code `ws` refuses to send
 * throws as in `ws`. `onListening` is called when the app first listens for messages: the
 * test's end opens then, so nothing it sends can arrive before the app listens.
 */
export class AppSocket implements Socket.WebSocketLike {
  binaryType = "nodebuffer"
  private readonly wrapped = new Map<unknown, EventListener>()

  constructor(
    private readonly app: AppWebSocket,
    private readonly onListening: () => void
  ) {}

  get readyState(): number {
    return this.app.readyState
  }

  addEventListener(
    type: "open" | "message" | "error" | "close",
    listener: (event: Socket.WebSocketEvent) => void,
    options?: { readonly once?: boolean }
  ): void {
    if (type !== "message") {
      this.app.addEventListener(type, listener as EventListener, options)
      return
    }
    const wrapped = (event: Event) => listener({ type, data: this.asBinaryType((event as MessageEvent).data) })
    this.wrapped.set(listener, wrapped)
    this.app.addEventListener(type, wrapped, options)
    this.onListening()
  }

  removeEventListener(
    type: "open" | "message" | "error" | "close",
    listener: (event: Socket.WebSocketEvent) => void
  ): void {
    const wrapped = this.wrapped.get(listener)
    this.wrapped.delete(listener)
    this.app.removeEventListener(type, wrapped ?? (listener as EventListener))
  }

  close(code?: number, reason?: string): void {
    if (code !== undefined || reason !== undefined) {
      const problem = closeProblem(code ?? 1000, reason ?? "")
      if (problem !== undefined) throw new TypeError(problem)
    }
    this.app.close(code, reason)
  }

  send(data: string | Uint8Array): void {
    this.app.send(data)
  }

  private asBinaryType(data: unknown): unknown {
    if (typeof data === "string" || this.binaryType !== "arraybuffer") return data
    const bytes = data as Uint8Array
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
  }
}

// ---------------------------------------------------------------------------
// the handshake request of TestClient.websocket
// ---------------------------------------------------------------------------

/** A handshake ready to dispatch: its http(s) URL, its header lines as sent, and its bound. */
export interface HandshakeRequest {
  readonly url: URL
  readonly lines: ReadonlyArray<readonly [string, string]>
  /** The subprotocol the app will accept (the first offered, as `ws` picks), or `""`. */
  readonly protocol: string
  readonly timeoutMillis: number
}

const optionNames = ["protocols", "headers", "params", "cookies", "timeout"]

/**
 * Header lines from a record, names lower-cased; `undefined` values are returned apart (they
 * remove a default), or what is wrong with the record.
 */
export const headerInput = (
  input: unknown,
  what: string
): { readonly lines: Array<readonly [string, string]>; readonly removed: Array<string> } | string => {
  if (input === undefined) return { lines: [], removed: [] }
  const entries = entriesOf(input)
  if (entries === undefined) {
    return `${what} must be a record of header name to value (or a web Headers), got ${describe(input)}`
  }
  const lines: Array<readonly [string, string]> = []
  const removed: Array<string> = []
  for (const [name, value] of entries) {
    if (!tokenRe.test(name)) return `invalid header name ${describe(name)}: only token characters are allowed`
    if (value === undefined) {
      removed.push(name.toLowerCase())
      continue
    }
    if (typeof value !== "string") return `header ${describe(name)} must have a string value, got ${describe(value)}`
    if (invalidValueRe.test(value)) {
      return `header ${describe(name)} has a character a header cannot carry: ${describe(value)}`
    }
    lines.push([name.toLowerCase(), value])
  }
  return { lines, removed }
}

/** The http(s) URL of a handshake: `ws:` and `wss:` name the same origins as `http:` and `https:`. */
export const handshakeUrl = (base: URL, raw: unknown): URL | string => {
  if (typeof raw !== "string") return `the WebSocket URL must be a string such as "/chat", got ${describe(raw)}`
  let url: URL
  try {
    url = resolveUrl(base, raw)
  } catch {
    return `the URL ${describe(raw)} does not resolve against the base URL ${base.href}: give a path such as "/chat" or a ws:// URL`
  }
  switch (url.protocol) {
    case "ws:":
    case "http:":
      url = new URL(`http:${url.href.slice(url.protocol.length)}`)
      break
    case "wss:":
    case "https:":
      url = new URL(`https:${url.href.slice(url.protocol.length)}`)
      break
    default:
      return `unsupported WebSocket URL scheme ${url.protocol} in ${describe(raw)}: use ws, wss, http or https`
  }
  if (url.username !== "" || url.password !== "") {
    return "a URL with credentials (user:password@) cannot be requested here: send an authorization header instead"
  }
  url.hash = ""
  return url
}

/** The first subprotocol of a `sec-websocket-protocol` value, or `""`. */
export const firstProtocol = (value: string | undefined): string => value?.split(",")[0]?.trim() ?? ""

/**
 * The handshake request of `TestClient.websocket` from its options, or what is wrong with
 * them: the client's defaults and headers, the handshake's own lines (`connection: Upgrade`,
 * `upgrade: websocket`, `sec-websocket-version: 13`, a fresh `sec-websocket-key`, the offered
 * subprotocols), the options' headers replacing any of the same name, then the jar's cookies
 * (with the options' `cookies` on top).
 */
export const handshakeRequest = (
  config: Config,
  jar: Jar,
  rawUrl: unknown,
  input: unknown
): HandshakeRequest | { readonly problem: string } => {
  // Only a missing argument means no options: `null` is a mistake to name, as for a request.
  const options = input === undefined ? {} : input
  if (!isOptionBag(options)) {
    return {
      problem: `the websocket options must be an object such as { protocols: ["chat"] }, got ${describe(options)}`
    }
  }
  const unknown = unknownKeys(options, optionNames, "option")
  if (unknown !== undefined) return { problem: unknown }
  const offered = subprotocols(options.protocols ?? [])
  if ("problem" in offered) return offered
  const url = handshakeUrl(config.base, rawUrl)
  if (typeof url === "string") return { problem: url }
  const paramsProblem = appendParams(url, options.params)
  if (paramsProblem !== undefined) return { problem: paramsProblem }
  const own = headerInput(options.headers, "headers")
  if (typeof own === "string") return { problem: own }
  const cookieProblem = options.cookies === undefined ? undefined : validateCookies(options.cookies)
  if (cookieProblem !== undefined) return { problem: cookieProblem }
  const timeoutMillis =
    options.timeout === undefined ? config.timeoutMillis : durationMillis("timeout", options.timeout)
  if (typeof timeoutMillis === "string") return { problem: timeoutMillis }

  const handshake: Array<readonly [string, string]> = [
    ["connection", "Upgrade"],
    ["upgrade", "websocket"],
    ["sec-websocket-version", "13"],
    ["sec-websocket-key", websocketKey()]
  ]
  if (offered.protocols.length > 0) handshake.push(["sec-websocket-protocol", offered.protocols.join(", ")])
  const defaults: ReadonlyArray<readonly [string, string]> = [
    ["user-agent", "effect-http-testkit"],
    ["accept", "*/*"],
    ...(config.acceptEncoding === "" ? [] : ([["accept-encoding", config.acceptEncoding]] as const))
  ]
  const removed = new Set(own.removed)
  // The client's headers mark a default they remove with a value no header can carry.
  const lines = mergeLines([["host", url.host]], defaults, config.headers, handshake, own.lines).filter(
    ([name, value]) => !removed.has(name) && !invalidValueRe.test(value)
  )

  const connection = lines.find(([name]) => name === "connection")?.[1] ?? ""
  const upgrade = lines.find(([name]) => name === "upgrade")?.[1] ?? ""
  if (!connection.split(",").some((token) => token.trim().toLowerCase() === "upgrade")) {
    return {
      problem: `a WebSocket handshake needs connection: Upgrade, got ${describe(connection)}: Node would not treat the request as an upgrade`
    }
  }
  if (upgrade.toLowerCase() !== "websocket") {
    return {
      problem: `a WebSocket handshake needs upgrade: websocket, got ${describe(upgrade)}: TestClient.websocket opens WebSockets only`
    }
  }
  if (!lines.some(([name]) => name === "cookie")) {
    const cookies =
      config.cookies === undefined && options.cookies === undefined
        ? undefined
        : { ...config.cookies, ...(options.cookies as Readonly<Record<string, string>> | undefined) }
    const cookie = cookieHeader(jar.header(url.href), cookies)
    if (cookie !== "") lines.push(["cookie", cookie])
  }
  const protocols = lines.filter(([name]) => name === "sec-websocket-protocol").map(([, value]) => value)
  return { url, lines, protocol: firstProtocol(protocols.join(", ")), timeoutMillis }
}

// ---------------------------------------------------------------------------
// the test's end
// ---------------------------------------------------------------------------

/** The test's end of `connection`, reading what the app sends from `incoming`. */
export const makeTestWebSocket = (
  connection: Connection,
  incoming: Queue.Queue<Incoming>,
  timeoutMillis: number
): TestWebSocket => {
  const url = connection.url
  const timeout = Duration.millis(timeoutMillis)
  let closeSeen: CloseInfo | undefined
  const closedError = (info: CloseInfo) => new WebSocketClosed({ url, code: info.code, reason: info.reason })
  const timedOut = (waitingFor: "message" | "close") =>
    Effect.flatMap(wallClockSleep(timeoutMillis), () => Effect.fail(new WebSocketTimeout({ url, timeout, waitingFor })))

  const receive: Effect.Effect<string | Uint8Array, WebSocketError> = Effect.suspend(() => {
    if (closeSeen !== undefined) return Effect.fail(closedError(closeSeen))
    return Queue.take(incoming).pipe(
      Effect.raceFirst(timedOut("message")),
      Effect.flatMap((message) => {
        if (message._tag === "Message") return Effect.succeed(message.data)
        closeSeen = message
        return Effect.fail(closedError(message))
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

  const receiveJson = (<S extends Schema.Constraint>(schema?: S) =>
    schema === undefined
      ? parsed
      : Schema.isSchema(schema)
        ? Effect.flatMap(parsed, (value) => Schema.decodeUnknownEffect(schema)(value))
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
        if (text === undefined) {
          return Effect.fail(
            new WebSocketMessageError({ url, reason: `the value ${describe(value)} serialises to nothing` })
          )
        }
        return send(text)
      }),
    receive,
    receiveText,
    receiveJson,
    messages: Stream.fromEffectRepeat(Effect.catchTag(receive, "WebSocketClosed", () => Cause.done())),
    close: (code = 1000, reason = "") =>
      Effect.suspend(() => {
        const problem = closeProblem(code, reason)
        if (problem !== undefined) return Effect.fail(new WebSocketMessageError({ url, reason: problem }))
        connection.closedBy(code, reason)
        return Effect.void
      }),
    closed: Effect.raceFirst(Deferred.await(connection.closed), timedOut("close"))
  }
}
