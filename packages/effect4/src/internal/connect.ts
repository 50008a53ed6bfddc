/**
 * A WebSocket handshake through the app, as platform-node's upgrade handler runs it: the app's
 * request can `upgrade`, and the handshake is answered when the app runs the socket (acquires
 * its reader); a plain HTTP answer is a rejection; once upgraded, the app's HTTP response goes
 * nowhere and the socket closes with 1000, 1001 or 1011 as the handler succeeds, is
 * interrupted or fails. Shared by `TestClient.websocket` and the in-process
 * `Socket.WebSocketConstructor`.
 *
 * @internal
 */
import { decodeBody, foldLines, type Jar, nodeRefusal, subprotocols } from "@effect-http-testkit/core"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import { Headers, HttpServerError, HttpServerResponse } from "effect/http"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Socket from "effect/socket/Socket"
import type { TestClientError } from "../Client.js"
import { type TestWebSocket, WebSocketRejected } from "../WebSocket.js"
import type { Config } from "./client.js"
import { setWallTimer } from "./clock.js"
import { InvalidRequest, RequestTimeout, ServerError } from "./errors.js"
import type { Upgrade } from "./request.js"
import { type InProcessServer, isUnhandled, type WireResponse, withoutResponseMarker } from "./server.js"
import {
  AppSocket,
  Connection,
  type HandshakeRequest,
  handshakeRequest,
  type Incoming,
  makeTestWebSocket
} from "./websocket.js"

/** How a handshake ended for the test's end. */
export type HandshakeOutcome =
  | { readonly _tag: "Open" }
  | { readonly _tag: "Failed"; readonly error: TestClientError | WebSocketRejected }

/** A handshake under way, or a connection open. */
export interface Handshake {
  /**
   * The test's end goes away. Still connecting or open: the connection drops (1006 for the
   * app) and the handler is interrupted as a client abort, as platform-node does when a
   * socket closes. Closed cleanly: the handler may end by itself within the timeout, then is
   * interrupted the same way. `done` is called once the handler has ended, or after the
   * timeout if it does not.
   */
  readonly release: (done: () => void) => void
}

/** What platform-node reports to middleware in place of an upgraded handler's response. */
const upgradedResponse = HttpServerResponse.empty({ status: 101 })

/** platform-node's close code for the app's socket, from the exit of the scope that ran it. */
const closeCode = (exit: Exit.Exit<unknown, unknown>): number =>
  Exit.isSuccess(exit) ? 1000 : Cause.hasInterruptsOnly(exit.cause) ? 1001 : 1011

/** What platform-node's upgrade fails with once the connection is gone (a `ws` socket that closed first). */
const closedBeforeUpgrade = () =>
  new Socket.SocketError({
    reason: new Socket.SocketOpenError({ kind: "Unknown", cause: new Error("The socket closed before the upgrade") })
  })

const empty = new Uint8Array(0)
const encoder = new TextEncoder()

/**
 * What `ws`'s server refuses in a handshake: it answers 400 itself and never upgrades. The
 * method (GET) and the `upgrade` header are checked before the handshake is sent.
 */
const wsRefusal = (headers: Readonly<Record<string, string>>): WireResponse | undefined => {
  const refuse = (message: string, extra: ReadonlyArray<readonly [string, string]> = []): WireResponse => {
    const body = encoder.encode(message)
    return {
      status: 400,
      headerLines: [
        ["connection", "close"],
        ["content-type", "text/html"],
        ["content-length", String(body.length)],
        ...extra
      ],
      body
    }
  }
  const key = headers["sec-websocket-key"]
  if (key === undefined || !/^[+/0-9A-Za-z]{22}==$/.test(key)) {
    return refuse("Missing or invalid Sec-WebSocket-Key header")
  }
  const version = Number(headers["sec-websocket-version"])
  if (version !== 13 && version !== 8) {
    return refuse("Missing or invalid Sec-WebSocket-Version header", [["sec-websocket-version", "13, 8"]])
  }
  const protocols = headers["sec-websocket-protocol"]
  if (protocols !== undefined && "problem" in subprotocols(protocols.split(",").map((one) => one.trim()))) {
    return refuse("Invalid Sec-WebSocket-Protocol header")
  }
  return undefined
}

/** A plain HTTP answer to the handshake, as the client reads it. */
export const rejected = (url: string, response: WireResponse): WebSocketRejected => {
  const record: Record<string, string> = {}
  for (const [name, value] of response.headerLines) {
    const lower = name.toLowerCase()
    record[lower] = record[lower] === undefined ? value : `${record[lower]}, ${value}`
  }
  const decoded = decodeBody(record["content-encoding"], response.body)
  return new WebSocketRejected({
    url,
    status: response.status,
    headers: Headers.fromRecordUnsafe(record),
    body: "bytes" in decoded ? decoded.bytes : response.body
  })
}

/** Calls `then(true)` when `fiber` ends, or `then(false)` after `millis` on the wall clock. */
const awaitEnd = (fiber: Fiber.Fiber<void>, millis: number, then: (ended: boolean) => void): void => {
  let finished = false
  let cancel = () => {}
  const unobserve = fiber.addObserver(() => {
    if (finished) return
    finished = true
    cancel()
    then(true)
  })
  if (finished) return
  cancel = setWallTimer(millis, () => {
    if (finished) return
    finished = true
    unobserve()
    then(false)
  })
}

/**
 * A server that opens WebSockets over real connections (the socket transport): it runs the
 * whole handshake itself, reporting as `runHandshake` does.
 */
export interface RemoteWebSockets {
  readonly openWebSocket: (
    serverErrors: "fail" | "respond",
    request: HandshakeRequest,
    connection: Connection,
    settle: (outcome: HandshakeOutcome) => void
  ) => Handshake
}

/**
 * Sends the handshake through the app and reports, once, how it went: `Open` when the app has
 * upgraded and listens, or `Failed` (a rejection, a failed handler, no answer within the
 * timeout, refused before the app). `settle` may be called before this returns.
 */
export const runHandshake = (
  server: InProcessServer,
  serverErrors: "fail" | "respond",
  request: HandshakeRequest,
  connection: Connection,
  settle: (outcome: HandshakeOutcome) => void
): Handshake => {
  const url = request.url.href
  let settled = false
  let cancelTimer = () => {}
  const finish = (outcome: HandshakeOutcome) => {
    if (settled) return
    settled = true
    cancelTimer()
    settle(outcome)
  }
  const done: Handshake = { release: (release) => release() }
  const remote = (server as InProcessServer & Partial<RemoteWebSockets>).openWebSocket

  // What Node's server refuses never reaches the app.
  const refusal = nodeRefusal("GET", `${request.url.pathname}${request.url.search}`, request.lines)
  if (refusal !== undefined) {
    finish({
      _tag: "Failed",
      error:
        refusal._tag === "Respond"
          ? rejected(url, { status: refusal.status, headerLines: [["connection", "close"]], body: empty })
          : new InvalidRequest({ method: "GET", url, reason: refusal.reason })
    })
    return done
  }
  // Over a socket, the server runs the handshake on a real connection.
  if (remote !== undefined) return remote(serverErrors, request, connection, settle)

  const headers = foldLines(request.lines)
  /** The test's end went away, or the connection ended with a plain HTTP answer: no upgrade now. */
  let gone = false
  let delivered: WireResponse | undefined
  let upgraded = false

  const acquire = Effect.suspend((): Effect.Effect<AppSocket, Socket.SocketError> => {
    if (gone || connection.closeInfo !== undefined) return Effect.fail(closedBeforeUpgrade())
    if (connection.accepted) {
      return Effect.die(
        new Error(
          "the app ran the upgraded socket a second time while the connection is open: a WebSocket is accepted once (acquire its reader once)"
        )
      )
    }
    const refused = wsRefusal(headers)
    if (refused !== undefined) {
      gone = true
      finish({ _tag: "Failed", error: rejected(url, refused) })
      return Effect.fail(closedBeforeUpgrade())
    }
    upgraded = true
    const app = connection.accept()
    return Effect.succeed(new AppSocket(app, () => finish({ _tag: "Open" })))
  })
  const socket = Socket.fromWebSocket(
    Effect.acquireRelease(acquire, (ws, exit) => Effect.sync(() => ws.close(closeCode(exit))))
  )
  const upgrade: Upgrade = {
    get upgradedResponse() {
      return upgraded ? upgradedResponse : undefined
    },
    upgradeWith: (appRequest, responseHeaders) =>
      Object.keys(responseHeaders).length === 0
        ? socket
        : Effect.fail(
            new HttpServerError.HttpServerError({
              reason: new HttpServerError.InternalError({
                request: appRequest,
                description: "WebSocket upgrades do not support custom response headers"
              })
            })
          )
  }

  const started = server.startUpgrade(
    { method: "GET", url: request.url, headers, body: undefined },
    upgrade,
    (response) => {
      delivered ??= response
      gone = true
    }
  )
  if (started === undefined) {
    finish({
      _tag: "Failed",
      error: new InvalidRequest({
        method: "GET",
        url,
        reason: "the app is not served: the layer given to TestClient.layerServer never called HttpServer.serve"
      })
    })
    return done
  }
  const fiber = started.fiber

  // The handler ended before upgrading: its answer is a rejection, or its failure an error.
  fiber.addObserver((exit) => {
    if (settled) return
    const response = delivered ?? { status: 500, headerLines: [], body: empty }
    const failure =
      started.failure(exit) ??
      (delivered === undefined ? Cause.die(new Error("the handler ended without a response")) : undefined)
    finish({
      _tag: "Failed",
      error:
        failure !== undefined && serverErrors === "fail" && isUnhandled(failure)
          ? new ServerError({ method: "GET", url, status: response.status, cause: withoutResponseMarker(failure) })
          : rejected(url, response)
    })
  })
  if (!settled) {
    cancelTimer = setWallTimer(request.timeoutMillis, () => {
      if (settled) return
      gone = true
      finish({
        _tag: "Failed",
        error: new RequestTimeout({ method: "GET", url, timeout: Duration.millis(request.timeoutMillis) })
      })
      fiber.interruptUnsafe(undefined, HttpServerError.ClientAbort.annotation)
    })
  }

  return {
    release: (release) => {
      if (!settled) {
        settled = true
        cancelTimer()
      }
      gone = true
      if (fiber.pollUnsafe() !== undefined) {
        connection.closedBy(1006, "")
        return release()
      }
      const disconnect = () => {
        fiber.interruptUnsafe(undefined, HttpServerError.ClientAbort.annotation)
        awaitEnd(fiber, request.timeoutMillis, () => release())
      }
      if (connection.closeInfo === undefined) {
        connection.closedBy(1006, "")
        return disconnect()
      }
      awaitEnd(fiber, request.timeoutMillis, (ended) => (ended ? release() : disconnect()))
    }
  }
}

/** What `TestClient.websocket` needs from its client. */
export interface ClientState {
  readonly config: Config
  readonly server: InProcessServer
  readonly jar: Jar
}

/**
 * `TestClient.websocket`: sends the handshake through the app and waits, at most the
 * timeout, for it to upgrade. Leaving the scope releases the connection (see `Handshake`).
 */
export const openWebSocket = (
  state: ClientState,
  url: string,
  options: unknown
): Effect.Effect<TestWebSocket, TestClientError | WebSocketRejected, Scope.Scope> =>
  Effect.suspend(() => {
    const request = handshakeRequest(state.config, state.jar, url, options)
    if ("problem" in request) {
      return Effect.fail(new InvalidRequest({ method: "GET", url: String(url), reason: request.problem }))
    }
    return Effect.gen(function* () {
      const incoming = yield* Queue.unbounded<Incoming>()
      const connection = new Connection(request.url.href.replace(/^http/, "ws"), request.protocol, (message) => {
        Queue.offerUnsafe(incoming, message)
      })
      let handshake: Handshake | undefined
      yield* Effect.addFinalizer(() =>
        Effect.callback<void>((resume) => {
          if (handshake === undefined) return resume(Effect.void)
          handshake.release(() => resume(Effect.void))
        })
      )
      const outcome = yield* Effect.callback<HandshakeOutcome>((resume) => {
        handshake = runHandshake(state.server, state.config.serverErrors, request, connection, (outcome) =>
          resume(Effect.succeed(outcome))
        )
        // The test stopped waiting (interrupted): the client goes away now; the scope's
        // finalizer still waits for the handler.
        return Effect.sync(() => handshake?.release(() => {}))
      })
      if (outcome._tag === "Failed") return yield* Effect.fail(outcome.error)
      return makeTestWebSocket(connection, incoming, request.timeoutMillis)
    })
  })
