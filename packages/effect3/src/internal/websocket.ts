import * as Socket from "@effect/platform/Socket"
import {
  type CloseInfo,
  closeProblem,
  describe,
  isOptionBag,
  subprotocols,
  unknownKeys,
  type WebSocketIncoming,
  WebSocketLink,
  websocketKey
} from "@effect-http-testkit/core"
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
export type Incoming = WebSocketIncoming

/**
 * One WebSocket connection between the test and the app (the core's state machine), with
 * what the kit waits on: the app's accept and the close.
 *
 * @internal
 */
export class Connection extends WebSocketLink {
  readonly accepted = Deferred.unsafeMake<void>(FiberId.none)
  readonly closed = Deferred.unsafeMake<CloseInfo>(FiberId.none)

  protected override whenAccepted(): void {
    Deferred.unsafeDone(this.accepted, Effect.void)
  }

  protected override whenClosed(info: CloseInfo): void {
    Deferred.unsafeDone(this.closed, Effect.succeed(info))
  }

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
}

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
  const offered = subprotocols(options.protocols ?? [])
  if ("problem" in offered) return offered
  const protocols = offered.protocols
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
