/**
 * The socket transport: the app served by platform-node's own `NodeHttpServer` at
 * 127.0.0.1, and the client's exchanges sent over real connections (Node's HTTP client with
 * a keep-alive agent, a `ws` client for WebSockets). It offers the in-process server's face
 * (`InProcessServer`), so every client of the kit (buffered, streamed, the platform
 * `HttpClient`, `TestClient.websocket`, the `WebSocketConstructor`) runs over it unchanged.
 *
 * The server runs in this process, so each exchange is matched with its handler fiber
 * through the connection (the client socket's local port is the server socket's remote
 * port): the handler's `Cause` (for `ServerError`), its server span, and its end are known as
 * in process. Disconnecting an exchange destroys its connection and interrupts its handler as
 * a client abort, as a closed socket does.
 *
 * @internal
 */
import * as Http from "node:http"
import * as Net from "node:net"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { WebSocket as WsClient } from "@effect/platform-node/NodeWS"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import { HttpServer, HttpServerError, HttpServerRequest } from "effect/http"
import { NetAddress } from "effect/net"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { awaitBounded, setWallTimer } from "./clock.js"
import { type Handshake, type HandshakeOutcome, type RemoteWebSockets, rejected } from "./connect.js"
import { InvalidRequest, RequestTimeout, ServerError, SocketUnavailable } from "./errors.js"
import {
  concat,
  type Dispatched,
  type DispatchedStreaming,
  Handling,
  type InProcessServer,
  isUnhandled,
  type OutgoingRequest,
  observedMiddleware,
  type StreamingResponse,
  type WireResponse,
  withoutResponseMarker
} from "./server.js"
import { DrainTimeout } from "./tasks.js"
import type { Connection, HandshakeRequest } from "./websocket.js"

/** The loopback address the transport listens on and connects to. */
const loopback = "127.0.0.1"

/** The most response head the client parses (many Set-Cookie lines add up; Node's default is 16 KiB). */
const responseHeadLimit = 16 * 1024 * 1024

const empty = new Uint8Array(0)

/** What the kit knows of one request's handler, on the server's side. */
interface Handler {
  readonly fiber: Fiber.Fiber<unknown, unknown>
  /** The request's server span, or `""` when it is not traced. */
  readonly spanId: string
  /** What is seen inside the app's middleware: its failure (the fiber then succeeds). */
  readonly handling: Handling
  /** The server's end of the request's connection. */
  readonly socket: Net.Socket | undefined
  readonly described: string
}

/** One exchange of the kit's: its connection, and its handler once the request reaches the app. */
interface Exchange {
  handler: Handler | undefined
  socket: Net.Socket | undefined
}

/** The socket server: the in-process server's face, the address, and the WebSocket handshake over `ws`. */
export interface SocketServer extends InProcessServer, RemoteWebSockets {
  /** The URL the app is served at, once listening. */
  readonly address: string | undefined
  /** Why the server is not listening, if it could not listen. */
  readonly listenFailure: SocketUnavailable | undefined
}

/** The handler's own Cause: its fiber's, or the one seen inside the middleware. */
const failureOf = (handler: Handler): Cause.Cause<unknown> | undefined => {
  const exit = handler.fiber.pollUnsafe()
  return exit !== undefined && Exit.isFailure(exit) ? exit.cause : handler.handling.failure
}

/** Waits for the exchange's handler to end (none: at once) and hands over its failure. */
const whenEnded = (exchange: Exchange, then: (failure: Cause.Cause<unknown> | undefined) => void): void => {
  const handler = exchange.handler
  if (handler === undefined) {
    then(undefined)
    return
  }
  handler.fiber.addObserver(() => then(failureOf(handler)))
}

/** The response head as header lines, in order, names lower-cased (every Set-Cookie line kept). */
const headerLinesOf = (response: Http.IncomingMessage): Array<readonly [string, string]> => {
  const lines: Array<readonly [string, string]> = []
  const raw = response.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) lines.push([raw[i]!.toLowerCase(), raw[i + 1]!])
  return lines
}

const bytesOf = (chunk: Buffer): Uint8Array => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)

/**
 * Builds the socket server, listening on 127.0.0.1:`port`, and its `stop` (drop every
 * connection at both ends, stop listening, wait until Node has released the handles; bounded
 * by `closeBound()` milliseconds on the wall clock). When the app stops serving, its handlers
 * still running are interrupted, as production's server scope interrupts them, and waited
 * for at most `closeBound()`: a handler that ignores interruption fails the close with
 * `DrainTimeout` naming it.
 */
export const make = (
  port: number,
  closeBound: () => number,
  /** Where a handler whose request timed out was (as the in-process server's `makeWith` takes it). */
  describeFiber: (fiber: Fiber.Fiber<unknown, unknown>) => string
): Effect.Effect<{ readonly server: SocketServer; readonly stop: Effect.Effect<void> }> =>
  Effect.gen(function* () {
    const listenScope = yield* Scope.make()
    const node = Http.createServer()
    /** Every connection open at either end (the server's, the kit's clients'). */
    const sockets = new Set<Net.Socket>()
    const opened = (socket: Net.Socket) => {
      if (sockets.has(socket)) return
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
    }
    node.on("connection", opened)
    /** Exchanges whose request is on its way, by the local port of their connection. */
    const waiting = new Map<number, Exchange>()
    /** Every handler still running, the kit's and other tools'. */
    const live = new Map<Fiber.Fiber<unknown, unknown>, Handler>()

    const listened = yield* Effect.exit(
      Scope.provide(listenScope)(
        NodeHttpServer.make(() => node, { host: loopback, port, disablePreemptiveShutdown: true })
      )
    )
    const nodeServer = Exit.isSuccess(listened) ? listened.value : undefined
    const listenFailure = Exit.isFailure(listened)
      ? new SocketUnavailable({
          reason: "Listen",
          target: `${loopback}:${port}`,
          cause: serveErrorCause(Cause.squash(listened.cause))
        })
      : undefined
    const boundPort = nodeServer === undefined ? port : (node.address() as Net.AddressInfo).port
    const fallbackAddress = NetAddress.inetAddressFromIpString(loopback, port)
    // Requests with a body, or asking to upgrade, get a connection of their own: an app that
    // answers before reading the whole body leaves the connection for platform-node to tear
    // down, which a kept-alive connection would race the next request on.
    const agent = new Http.Agent({ keepAlive: true })
    const ownAgent = new Http.Agent({ keepAlive: false })

    /** Registers the handler fiber of a request as it starts, and matches it with the kit's exchange. */
    const register = (fiber: Fiber.Fiber<unknown, unknown>): Handler => {
      const known = live.get(fiber)
      if (known !== undefined) return known
      const request = Context.getOrUndefined(fiber.context, HttpServerRequest.HttpServerRequest)
      const span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
      const incoming =
        request === undefined
          ? undefined
          : (NodeHttpServerRequest.toIncomingMessage(request) as Http.IncomingMessage | undefined)
      const handler: Handler = {
        fiber,
        spanId: span !== undefined && span._tag === "Span" && span.kind === "server" ? span.spanId : "",
        handling: new Handling(),
        socket: incoming?.socket,
        described: request === undefined ? `fiber #${fiber.id}` : `${request.method} ${request.url}`
      }
      live.set(fiber, handler)
      fiber.addObserver(() => live.delete(fiber))
      const remotePort = incoming?.socket?.remotePort
      const exchange = remotePort === undefined ? undefined : waiting.get(remotePort)
      if (exchange !== undefined) {
        waiting.delete(remotePort!)
        exchange.handler = handler
      }
      return handler
    }

    /** Whether the app is served now; whether it was, and has stopped. */
    let serving = 0
    let stopped = false

    /**
     * Stops serving: the handlers still running are interrupted and their scope closed (as
     * production's serve scope does), waited for at most `closeBound()`.
     */
    const stopServing = (inner: Scope.Closeable) =>
      Effect.callback<void>((resume) => {
        serving--
        stopped = true
        const handlers = Array.from(live.values())
        for (const handler of handlers) handler.fiber.interruptUnsafe()
        const closing = Effect.runFork(Scope.close(inner, Exit.void))
        const bound = closeBound()
        awaitBounded([closing, ...handlers.map((handler) => handler.fiber)], bound, (running) => {
          if (running.length === 0) return resume(Effect.void)
          const stuck = Array.from(live.values()).map((handler) => `the handler of ${handler.described}`)
          resume(
            Effect.die(
              new DrainTimeout({
                timeout: Duration.millis(bound),
                running: stuck.length === 0 ? ["the shutdown of platform-node's server"] : stuck,
                during: "scope close",
                notes: [
                  "The kit interrupted them when the app stopped serving, but they ignore interruption: it stops " +
                    "waiting for them here (production's server would wait for ever)."
                ]
              })
            )
          )
        })
      })

    const service = HttpServer.make({
      address:
        nodeServer?.address ?? (fallbackAddress._tag === "Success" ? fallbackAddress.success : (undefined as never)),
      serve: (httpEffect, middleware) =>
        Effect.gen(function* () {
          if (nodeServer === undefined) return
          const serveScope = yield* Effect.scope
          const inner = yield* Scope.make()
          // The handler registers as the app starts (inside the server span); with a
          // middleware, as the middleware starts, the app's failure seen inside it.
          const app =
            middleware === undefined
              ? Effect.withFiber((fiber) => {
                  register(fiber)
                  return httpEffect
                })
              : httpEffect
          const observed: typeof middleware =
            middleware === undefined
              ? undefined
              : (inner) =>
                  Effect.withFiber((fiber) => {
                    const handler = register(fiber)
                    // The app's failure seen inside the middleware, or the middleware's own, as in process.
                    return observedMiddleware(middleware, (exit, outer) =>
                      Effect.sync(() => handler.handling.observe(exit, outer))
                    )(inner)
                  }) as ReturnType<NonNullable<typeof middleware>>
          yield* Scope.provide(inner)(
            observed === undefined ? nodeServer.serve(app as typeof httpEffect) : nodeServer.serve(app, observed)
          )
          serving++
          stopped = false
          yield* Scope.addFinalizer(serveScope, stopServing(inner))
        })
    })

    /** Tells `waiting` which exchange a connection carries, once its local port is known. */
    const expect = (socket: Net.Socket, exchange: Exchange) => {
      opened(socket)
      exchange.socket = socket
      const known = () => {
        if (socket.localPort !== undefined) waiting.set(socket.localPort, exchange)
      }
      if (socket.connecting) socket.once("connect", known)
      else known()
    }

    /**
     * Disconnects an exchange as a closed socket does: its connection is dropped at both ends,
     * and its handler interrupted as a client abort (platform-node does that when it sees the
     * close, but not for a handshake it has not upgraded yet).
     */
    const disconnect = (exchange: Exchange) => {
      const localPort = exchange.socket?.localPort
      if (localPort !== undefined && waiting.get(localPort) === exchange) waiting.delete(localPort)
      exchange.socket?.destroy()
      const handler = exchange.handler
      if (handler === undefined) return
      handler.socket?.destroy()
      if (handler.fiber.pollUnsafe() === undefined) {
        handler.fiber.interruptUnsafe(undefined, HttpServerError.ClientAbort.annotation)
      }
    }

    /**
     * Sends one request. `onHead` gets the response head and its body (whole when it came
     * with the head, else arriving); `onReset` the failure when the connection closed with no
     * response. Returns what disconnects the exchange.
     */
    const send = (
      outgoing: OutgoingRequest,
      exchange: Exchange,
      onHead: (
        response: Http.IncomingMessage,
        body: Uint8Array | undefined,
        disconnect: () => void
      ) => ReadableStream<Uint8Array> | undefined,
      onError: (error: Error) => void
    ): (() => void) => {
      const headers = outgoing.headers
      const request = Http.request({
        host: loopback,
        port: boundPort,
        method: outgoing.method,
        path: outgoing.url.pathname + outgoing.url.search,
        agent: outgoing.body === undefined && headers.upgrade === undefined ? agent : ownAgent,
        setHost: false,
        maxHeaderSize: responseHeadLimit
      })
      // Every response header line, however many (Node keeps the first 2,000 by default).
      request.maxHeadersCount = 0
      for (const name in headers) request.setHeader(name, headers[name]!)
      // Exactly the client's lines: no framing or Connection header of Node's own.
      if (headers["content-length"] === undefined && headers["transfer-encoding"] === undefined) {
        request.removeHeader("content-length")
        request.removeHeader("transfer-encoding")
      }
      if (headers.connection === undefined) request.removeHeader("connection")
      request.on("socket", (socket: Net.Socket) => expect(socket, exchange))
      let done = false
      const drop = () => {
        if (done) return
        done = true
        request.destroy()
        disconnect(exchange)
      }
      // Once the bytes read with the head are parsed: a body that came with it is whole.
      request.on("response", (response) => process.nextTick(() => onResponse(response)))
      const onResponse = (response: Http.IncomingMessage) => {
        if (done) return
        response.on("error", () => {})
        if (response.complete) {
          const chunk = response.read() as Buffer | null
          response.resume()
          onHead(response, chunk === null ? empty : bytesOf(chunk), drop)
          return
        }
        onHead(response, undefined, drop)
      }
      request.on("error", (error) => {
        if (!done) onError(error)
      })
      const body = outgoing.body
      if (body === undefined) request.end()
      else if (body instanceof Uint8Array) request.end(body)
      else {
        // A body the client is still producing: written chunk by chunk as it comes, waiting
        // for the connection to drain; a body that fails resets the connection mid-request.
        const pump = (): void => {
          body.read().then(
            (chunk) => {
              if (done) return
              if (chunk === undefined) return void request.end()
              if (request.write(chunk)) pump()
              else request.once("drain", pump)
            },
            (error: unknown) => {
              if (!done) request.destroy(error instanceof Error ? error : new Error(String(error)))
            }
          )
        }
        pump()
      }
      return drop
    }

    /** A response body still arriving, as a ReadableStream the reader pulls (the socket pauses while it lags). */
    const arriving = (response: Http.IncomingMessage, drop: () => void): ReadableStream<Uint8Array> => {
      let finished = false
      return new ReadableStream<Uint8Array>(
        {
          start: (controller) => {
            response.on("data", (chunk: Buffer) => {
              if (finished) return
              controller.enqueue(bytesOf(chunk))
              if ((controller.desiredSize ?? 0) <= 0) response.pause()
            })
            response.on("end", () => {
              if (finished) return
              finished = true
              controller.close()
            })
            response.on("close", () => {
              if (finished || response.complete) return
              finished = true
              controller.error(new Error("the response body failed after its headers were sent"))
            })
          },
          pull: () => {
            response.resume()
          },
          cancel: () => {
            finished = true
            drop()
          }
        },
        { highWaterMark: 1 }
      )
    }

    /**
     * Runs one exchange bounded on the wall clock: the bound fires under TestClock too, and
     * disconnects the exchange (its handler interrupted as a client abort); so does
     * interrupting the wait.
     */
    const bounded = <A>(
      timeoutMillis: number,
      timedOut: () => A,
      run: (settle: (outcome: A) => void) => () => void
    ): Effect.Effect<A> =>
      Effect.callback<A>((resume) => {
        let settled = false
        let cancel = () => {}
        const settle = (outcome: A) => {
          if (settled) return
          settled = true
          cancel()
          resume(Effect.succeed(outcome))
        }
        const drop = run(settle)
        if (!settled) {
          cancel = setWallTimer(timeoutMillis, () => {
            settle(timedOut())
            drop()
          })
        }
        return Effect.sync(() => {
          cancel()
          if (!settled) drop()
        })
      })

    const dispatch = (outgoing: OutgoingRequest, timeoutMillis: number): Effect.Effect<Dispatched> =>
      Effect.suspend(() => {
        if (serving <= 0) return Effect.succeed<Dispatched>({ _tag: "NotServing", stopped })
        const exchange: Exchange = { handler: undefined, socket: undefined }
        // The status of a response whose head has arrived while its handler still runs.
        let answered: number | undefined
        const timedOut = (): Dispatched => ({
          _tag: "Timeout",
          answered,
          where: exchange.handler === undefined ? undefined : describeFiber(exchange.handler.fiber)
        })
        return bounded<Dispatched>(timeoutMillis, timedOut, (settle) => {
          return send(
            outgoing,
            exchange,
            (response, whole) => {
              answered = response.statusCode
              const head = {
                status: response.statusCode ?? 0,
                headerLines: headerLinesOf(response),
                spanId: exchange.handler?.spanId ?? ""
              }
              // The response comes whole once the handler ends, as in process.
              const deliver = (body: Uint8Array, cut: boolean) =>
                whenEnded(exchange, (failure) =>
                  settle({
                    _tag: "Response",
                    response: { ...head, body },
                    failure:
                      failure ??
                      (cut
                        ? Cause.die(new Error("the connection closed before the response body was complete"))
                        : undefined),
                    // Cut off after its head: there is no whole response to give.
                    ...(cut ? { cutOff: head.status } : {})
                  })
                )
              if (whole !== undefined) return void deliver(whole, false)
              const chunks: Array<Uint8Array> = []
              response.on("data", (chunk: Buffer) => chunks.push(new Uint8Array(chunk)))
              response.on("end", () => deliver(concat(chunks), false))
              response.on("close", () => {
                if (!response.complete) deliver(concat(chunks), true)
              })
              return undefined
            },
            (error) =>
              whenEnded(exchange, (failure) =>
                settle({
                  _tag: "Response",
                  response: { status: 500, headerLines: [], body: empty, spanId: exchange.handler?.spanId ?? "" },
                  failure:
                    failure ??
                    Cause.die(new Error(`the server closed the connection with no response (${error.message})`))
                })
              )
          )
        })
      })

    const dispatchStreaming = (outgoing: OutgoingRequest, timeoutMillis: number): Effect.Effect<DispatchedStreaming> =>
      Effect.suspend(() => {
        if (serving <= 0) return Effect.succeed<DispatchedStreaming>({ _tag: "NotServing", stopped })
        const exchange: Exchange = { handler: undefined, socket: undefined }
        const timedOut = (): DispatchedStreaming => ({
          _tag: "Timeout",
          where: exchange.handler === undefined ? undefined : describeFiber(exchange.handler.fiber)
        })
        return bounded<DispatchedStreaming>(timeoutMillis, timedOut, (settle) => {
          const ended = Effect.callback<Cause.Cause<unknown> | undefined>((resume) =>
            whenEnded(exchange, (failure) => resume(Effect.succeed(failure)))
          )
          return send(
            outgoing,
            exchange,
            (response, whole, drop) => {
              const body = whole ?? arriving(response, drop)
              const sent: StreamingResponse = {
                status: response.statusCode ?? 0,
                headerLines: headerLinesOf(response),
                body,
                spanId: exchange.handler?.spanId ?? ""
              }
              settle({
                _tag: "Response",
                response: sent,
                ended,
                // Known once the request has reached the app (none when Node answered it itself).
                handler: () => exchange.handler?.fiber as Fiber.Fiber<void> | undefined
              })
              return undefined
            },
            () => whenEnded(exchange, (failure) => settle({ _tag: "Reset", failure }))
          )
        })
      })

    /** The WebSocket handshake over a `ws` client; see `RemoteWebSockets`. */
    const openWebSocket: RemoteWebSockets["openWebSocket"] = (serverErrors, request, connection, settle) =>
      websocketExchange(
        { boundPort, expect, disconnect, serving: () => serving > 0 },
        serverErrors,
        request,
        connection,
        settle
      )

    const server: SocketServer = {
      service,
      inFlight: () => Array.from(live.values(), (handler) => handler.described),
      dispatch,
      dispatchStreaming,
      // Never called: `runHandshake` sends a socket server's handshakes through `openWebSocket`.
      startUpgrade: () => undefined,
      openWebSocket,
      address: nodeServer === undefined ? undefined : `http://${loopback}:${boundPort}`,
      listenFailure
    }

    /** Destroys one end of a connection and waits until it has closed. */
    const closeSocket = (socket: Net.Socket): Effect.Effect<void> =>
      Effect.callback<void>((resume) => {
        // In the set until it emits `close` (its handle released), destroyed or not.
        if (!sockets.has(socket)) return resume(Effect.void)
        socket.once("close", () => resume(Effect.void))
        socket.destroy()
      })

    // Drops every connection (the kit's and other tools', given the address), stops
    // listening, and waits until Node has released the handles: nothing of the transport
    // outlives the client's scope.
    const stop = Effect.suspend(() => {
      agent.destroy()
      ownAgent.destroy()
      // Uninterruptible: the server's own finalizers run with the context of the handler that
      // first used them (its WebSocket server), whose work the kit interrupts at scope close.
      const closing = Effect.runFork(
        Effect.uninterruptible(
          Effect.forEach(Array.from(sockets), closeSocket, { concurrency: "unbounded", discard: true }).pipe(
            Effect.andThen(Scope.close(listenScope, Exit.void)),
            Effect.andThen(handlesClosed)
          )
        )
      )
      return Effect.callback<void>((resume) => awaitBounded([closing], closeBound(), () => resume(Effect.void)))
    })

    return { server, stop }
  })

/**
 * Waits until the handles closed so far are gone: libuv runs close callbacks at the end of
 * the loop turn in which they were closed, so one whole turn later none is left.
 */
const handlesClosed: Effect.Effect<void> = Effect.callback<void>((resume) => {
  setImmediate(() => setImmediate(() => resume(Effect.void)))
})

/** What Node said when listening failed (a `ServeError` wraps it). */
const serveErrorCause = (error: unknown): unknown =>
  error instanceof HttpServerError.ServeError ? (error as { readonly cause: unknown }).cause : error

/** What a WebSocket exchange needs of its server. */
interface WebSocketContext {
  readonly boundPort: number
  readonly expect: (socket: Net.Socket, exchange: Exchange) => void
  readonly disconnect: (exchange: Exchange) => void
  readonly serving: () => boolean
}

/** The handshake lines the `ws` client writes itself. */
const handshakeLines: ReadonlySet<string> = new Set([
  "connection",
  "upgrade",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions"
])

/**
 * A WebSocket handshake over a `ws` client, reported as `runHandshake` reports one: `Open`
 * once the app has upgraded (the test's end then talks to the `ws` client), or `Failed` (a
 * plain HTTP answer, a handler failing before the upgrade, no answer within the timeout).
 */
const websocketExchange = (
  context: WebSocketContext,
  serverErrors: "fail" | "respond",
  request: HandshakeRequest,
  connection: Connection,
  settle: (outcome: HandshakeOutcome) => void
): Handshake => {
  const url = request.url.href
  const exchange: Exchange = { handler: undefined, socket: undefined }
  let settled = false
  let cancelTimer = () => {}
  const finish = (outcome: HandshakeOutcome) => {
    if (settled) return
    settled = true
    cancelTimer()
    settle(outcome)
  }
  if (!context.serving()) {
    finish({
      _tag: "Failed",
      error: new InvalidRequest({
        method: "GET",
        url,
        reason: "the app is not served: the layer given to TestClient.layerServer never called HttpServer.serve"
      })
    })
    return { release: (done) => done() }
  }
  const headers: Record<string, string | Array<string>> = {}
  const values = (name: string) => request.lines.filter(([line]) => line === name).map(([, value]) => value)
  for (const [name] of request.lines) {
    if (handshakeLines.has(name) || name in headers) continue
    const all = values(name)
    headers[name] = all.length === 1 ? all[0]! : all
  }
  const offered = values("sec-websocket-protocol").join(", ")
  const protocols = offered
    .split(",")
    .map((protocol) => protocol.trim())
    .filter((protocol) => protocol !== "")
  const ws = new WsClient(
    `ws://${loopback}:${context.boundPort}${request.url.pathname}${request.url.search}`,
    protocols,
    {
      headers,
      perMessageDeflate: false,
      // The subprotocols as the kit offers them (`ws` would join them with "," alone), and a
      // version or extensions the test gave in place of the client's own, as in process.
      finishRequest: (handshake: Http.ClientRequest) => {
        if (offered !== "") handshake.setHeader("sec-websocket-protocol", offered)
        for (const name of ["sec-websocket-version", "sec-websocket-extensions"]) {
          const given = values(name)
          if (given.length > 0) handshake.setHeader(name, given.join(", "))
        }
        handshake.end()
      },
      createConnection: (options: Net.NetConnectOpts) => {
        const socket = Net.connect(options)
        context.expect(socket, exchange)
        return socket
      }
    } as ConstructorParameters<typeof WsClient>[2]
  )
  ws.on("error", () => {})

  /** The handshake ended without an upgrade: how, once the handler has ended. */
  const failed = (response: WireResponse | undefined, reason: string) =>
    whenEnded(exchange, (failure) => {
      if (failure !== undefined && serverErrors === "fail" && isUnhandled(failure)) {
        return finish({
          _tag: "Failed",
          error: new ServerError({
            method: "GET",
            url,
            status: response?.status ?? 500,
            cause: withoutResponseMarker(failure)
          })
        })
      }
      finish({
        _tag: "Failed",
        error: response === undefined ? new InvalidRequest({ method: "GET", url, reason }) : rejected(url, response)
      })
    })

  ws.on("open", () => {
    connection.acceptRemote({
      send: (data) => ws.send(data),
      close: (code, reason) => {
        if (code === 1006) ws.terminate()
        else ws.close(code === 1005 ? undefined : code, reason)
      }
    })
    finish({ _tag: "Open" })
  })
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    connection.toTest({ _tag: "Message", data: isBinary ? new Uint8Array(data) : data.toString("utf8") })
  })
  /** Whether the app answered the handshake with plain HTTP. */
  let answered = false
  ws.on("close", (code: number, reason: Buffer) => {
    if (connection.accepted) connection.closedBy(code, reason.toString())
    else if (!settled && !answered) failed(undefined, "the server closed the connection during the WebSocket handshake")
  })
  // The app answered the handshake with plain HTTP: a rejection, read whole.
  ws.on("unexpected-response", (handshake: Http.ClientRequest, response: Http.IncomingMessage) => {
    answered = true
    const chunks: Array<Uint8Array> = []
    response.on("data", (chunk: Buffer) => chunks.push(new Uint8Array(chunk)))
    response.on("error", () => {})
    response.on("end", () => {
      handshake.destroy()
      failed(
        { status: response.statusCode ?? 0, headerLines: headerLinesOf(response), body: concat(chunks) },
        "the server answered the handshake"
      )
    })
  })

  if (!settled) {
    cancelTimer = setWallTimer(request.timeoutMillis, () => {
      if (settled) return
      finish({
        _tag: "Failed",
        error: new RequestTimeout({ method: "GET", url, timeout: Duration.millis(request.timeoutMillis) })
      })
      ws.terminate()
      context.disconnect(exchange)
    })
  }

  return {
    release: (done) => {
      if (!settled) {
        settled = true
        cancelTimer()
      }
      const handler = exchange.handler
      const left = () => {
        ws.terminate()
        context.disconnect(exchange)
        if (handler === undefined) return done()
        awaitBounded([handler.fiber], request.timeoutMillis, () => done())
      }
      if (connection.closeInfo === undefined) {
        connection.closedBy(1006, "")
        return left()
      }
      // Closed cleanly: the handler may end by itself within the timeout, then is disconnected.
      if (handler === undefined) return left()
      awaitBounded([handler.fiber], request.timeoutMillis, left)
    }
  }
}
