/**
 * Opening the kit's `TestWebSocket`: the handshake goes through the app, which accepts
 * (`request.upgrade`), answers with plain HTTP (a rejection) or fails.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type TestWebSocket, WebSocketRejected } from "../WebSocket.js"
import { wallClockSleep } from "./clock.js"
import type { Config } from "./config.js"
import type { TestClientError } from "./errors.js"
import { awaitFiber, disconnect, judge, reportStuck, startScoped, timedOut, timedOutError } from "./exchange.js"
import type { Prepared } from "./prepare.js"
import type { Reporter } from "./report.js"
import { BufferedSink } from "./response.js"
import type { InProcessServer } from "./server.js"
import { Connection, makeTestWebSocket } from "./websocket.js"

/**
 * Opens a WebSocket: sends the handshake through the app and waits for it to upgrade
 * (`request.upgrade` run), answer with a plain response (a rejection), or fail.
 */
/** @internal */
export const openWebSocket = (
  server: InProcessServer,
  config: Config,
  reporter: Reporter,
  hop: Prepared,
  lines: ReadonlyArray<readonly [string, string]>,
  protocols: ReadonlyArray<string>
): Effect.Effect<TestWebSocket, TestClientError | WebSocketRejected, Scope.Scope> =>
  Effect.gen(function* () {
    const url = hop.url.href
    const { connection, incoming } = yield* Connection.make(url.replace(/^http/, "ws"), protocols[0] ?? "")
    const sink = new BufferedSink()
    // Once upgraded, the app's eventual HTTP response goes nowhere, as on a Node socket.
    connection.onAccept = () => sink.upgraded()
    const fiber = yield* Effect.acquireRelease(startScoped(server, config, hop, lines, sink, connection), (fiber) =>
      Effect.suspend(() => {
        if (fiber.unsafePoll() !== null) return Effect.void
        // Closed cleanly: the handler is finishing by itself. Still open: the connection
        // drops (1006 for the app) and the handler is interrupted as a client abort.
        const wasOpen = connection.closeInfo === undefined
        connection.closedBy(1006, "")
        // The client's own scope closed first: its server disconnected and reported the handler.
        if (server.closed) return Effect.void
        const stop = wasOpen
          ? disconnect(fiber, config)
          : Effect.flatMap(awaitFiber(fiber, config.drainTimeout), (exit) =>
              exit === timedOut ? disconnect(fiber, config) : Effect.succeed(true)
            )
        return Effect.flatMap(stop, reportStuck(server, fiber, config, `WebSocket ${url}`))
      })
    )
    const outcome = yield* Deferred.await(connection.accepted).pipe(
      Effect.as("accepted" as const),
      Effect.raceFirst(fiber.await),
      Effect.raceFirst(Effect.as(wallClockSleep(hop.timeout), timedOut))
    )
    if (outcome === "accepted") {
      reporter.websocket(url.replace(/^http/, "ws"), "")
      return makeTestWebSocket(connection, incoming, hop.timeout)
    }
    if (outcome === timedOut) {
      return yield* Effect.flip(timedOutError(server, fiber, config, "GET", url, hop.timeout))
    }
    const error = judge(config, hop, sink, outcome)
    if (error !== undefined) return yield* Effect.fail(error)
    return yield* Effect.fail(
      new WebSocketRejected({ url, status: sink.status, headers: sink.headers!, body: sink.body() })
    )
  }).pipe(Effect.tapError((error) => Effect.sync(() => reporter.failure("GET", hop.url.href, "", error))))
