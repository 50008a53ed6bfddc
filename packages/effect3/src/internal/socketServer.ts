/**
 * The socket transport: the app served on platform-node's own `NodeHttpServer` at
 * 127.0.0.1, and the client's exchanges sent over real connections (Node's HTTP client with
 * a keep-alive agent, a `ws` client for WebSockets). It offers the in-process server's face,
 * so every client of the kit (buffered, streamed, WebSockets, the platform `HttpClient`, the
 * `WebSocketConstructor`) runs over it unchanged.
 *
 * Each exchange is a fiber of the kit's own that ends as the app's handler ends, with the
 * handler's exit: the two are matched through the connection (the client socket's local
 * port is the server socket's remote port, and both live in this process). Disconnecting an
 * exchange destroys its connection and interrupts its handler as a client abort, then waits
 * for the handler to stop, as in process.
 */
import * as Http from "node:http"
import * as Net from "node:net"
import * as Headers from "@effect/platform/Headers"
import type * as HttpApp from "@effect/platform/HttpApp"
import type * as Middleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import * as ServerError from "@effect/platform/HttpServerError"
import * as ServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { nodeRefusal } from "@effect-http-testkit/core"
import * as Cause from "effect/Cause"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { WebSocket as WsClient } from "ws"
import { awaitFibers } from "./clock.js"
import { SocketUnavailable } from "./errors.js"
import { describeCause } from "./exchange.js"
import type { RequestSource } from "./request.js"
import { InFlight, type InProcessServer, recordingFailures, serverSpanId, stuckAtClose } from "./server.js"
import type { Tracker } from "./tasks.js"

/** The most response head the client parses (many Set-Cookie lines add up). */
const responseHeadLimit = 16 * 1024 * 1024

/** The loopback address the transport listens on and connects to. */
const loopback = "127.0.0.1"

/** What the server side knows of one request's handler, for the exchange that sent it. */
interface Handler {
  readonly fiber: Fiber.RuntimeFiber<void>
  /** The request's `http.server` span (set when the app starts), or "" with tracing off. */
  spanId: string
  /** A failure `toHandled` answered itself when a middleware was given to `serve`. */
  failure: Cause.Cause<unknown> | undefined
}

/** One exchange: its sink, and its handler once the request reaches the app. */
interface Exchange {
  readonly sink: RequestSource["sink"]
  handler: Handler | undefined
  /** The client end of its connection, once it has one, and that end's local port. */
  socket: Net.Socket | undefined
  localPort: number | undefined
}

/**
 * A socket server, its `close` (disconnect every exchange and connection still open, wait
 * for their handlers) and `stop` (stop listening; after the app has shut down, as
 * `NodeHttpServer.layer` closes its server after the app's layers).
 *
 * @internal
 */
export const make = (
  port: number,
  drainTimeout: Duration.Duration,
  tracker: Tracker
): Effect.Effect<{
  readonly server: InProcessServer
  readonly close: Effect.Effect<void>
  readonly stop: Effect.Effect<void>
}> =>
  Effect.gen(function* () {
    const listenScope = yield* Scope.make()
    const node = Http.createServer()
    /** The handler of each request the app received, by the handler's root fiber. */
    const handlers = new WeakMap<Fiber.RuntimeFiber<unknown, unknown>, Handler>()
    /** Exchanges whose request is on its way, by the local port of their connection. */
    const waiting = new Map<number, Exchange>()
    /** Every connection open at either end (the server's and the kit's clients'). */
    const sockets = new Set<Net.Socket>()
    const opened = (socket: Net.Socket) => {
      if (sockets.has(socket)) return
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
    }
    /** The server end of each connection, by its remote port (the client end's local port). */
    const serverEnds = new Map<number, Net.Socket>()
    node.on("connection", (socket: Net.Socket) => {
      opened(socket)
      const remotePort = socket.remotePort
      if (remotePort === undefined) return
      serverEnds.set(remotePort, socket)
      socket.once("close", () => {
        if (serverEnds.get(remotePort) === socket) serverEnds.delete(remotePort)
      })
    })

    // platform-node forks each handler inside its own `request` / `upgrade` listener: the
    // tracker registers that fork as the request's handler before it runs a step.
    const emit = node.emit as (this: Http.Server, event: string | symbol, ...args: Array<unknown>) => boolean
    node.emit = function (this: Http.Server, event: string | symbol, ...args: Array<unknown>): boolean {
      if (event !== "request" && event !== "upgrade") return emit.call(this, event, ...args)
      const request = args[0] as Http.IncomingMessage
      return tracker.startHandler(
        `${request.method} ${request.url}`,
        (fiber) => {
          const handler: Handler = { fiber, spanId: "", failure: undefined }
          handlers.set(fiber, handler)
          const remotePort = request.socket.remotePort
          const exchange = remotePort === undefined ? undefined : waiting.get(remotePort)
          if (exchange !== undefined) {
            waiting.delete(remotePort!)
            exchange.handler = handler
          }
          // The whole response is written: what the handler still runs is background work.
          if (event === "request") (args[1] as Http.ServerResponse).once("finish", () => tracker.responded(fiber))
        },
        () => emit.call(this, event, ...args)
      )
    } as typeof node.emit

    const listened = yield* Effect.exit(
      Scope.extend(
        NodeHttpServer.make(() => node, { host: loopback, port }),
        listenScope
      )
    )
    const listenFailure = Exit.isFailure(listened)
      ? new SocketUnavailable({
          reason: "Listen",
          target: `${loopback}:${port}`,
          cause: serveErrorCause(Cause.squash(listened.cause))
        })
      : undefined
    const nodeServer = Exit.isSuccess(listened) ? listened.value : undefined
    const address: HttpServer.Address = nodeServer?.address ?? { _tag: "TcpAddress", hostname: loopback, port }
    const boundPort = address._tag === "TcpAddress" ? address.port : port
    // Requests with a body get a connection of their own, closed after the response: an app
    // that answers before reading the whole body (a failed upload) leaves the rest unread, and
    // platform-node does not read it either, so a kept-alive connection would stall the next
    // request behind it.
    const agent = new Http.Agent({ keepAlive: true })
    const bodyAgent = new Http.Agent({ keepAlive: false })

    let serving = 0
    const httpServer = HttpServer.make({
      address,
      serve: (app: HttpApp.Default<unknown>, middleware?: Middleware.HttpMiddleware) => {
        if (nodeServer === undefined) return Effect.void
        const serve = nodeServer.serve as (
          app: HttpApp.Default<unknown>,
          middleware?: Middleware.HttpMiddleware
        ) => Effect.Effect<void, never, Scope.Scope>
        const served = serve(
          withHandlerSpan(app, handlers),
          middleware === undefined
            ? undefined
            : recordingFailures(middleware, (fiber, cause) => {
                const handler = handlers.get(fiber)
                if (handler !== undefined) handler.failure ??= cause
              })
        )
        return Effect.zipRight(
          Effect.acquireRelease(
            Effect.sync(() => serving++),
            () => Effect.sync(() => serving--)
          ),
          // Supervised: the handlers platform-node forks, and all they fork, are tracked.
          Effect.supervised(served, tracker)
        )
      }
    })

    const exchanges = new WeakMap<Fiber.RuntimeFiber<void>, Exchange>()
    const inFlight = new InFlight()
    /** Handlers already reported as stuck (their exchange was abandoned): not reported again. */
    const abandoned = new WeakSet<Fiber.RuntimeFiber<unknown, unknown>>()

    /** Tells `waiting` which exchange a connection carries, once its local port is known. */
    const expect = (socket: Net.Socket, exchange: Exchange) => {
      opened(socket)
      exchange.socket = socket
      const register = () => {
        const localPort = socket.localPort
        exchange.localPort = localPort
        if (localPort !== undefined) waiting.set(localPort, exchange)
      }
      if (socket.connecting) socket.once("connect", register)
      else register()
    }

    /** Destroys one end of a connection and waits until it has closed. */
    const closeSocket = (socket: Net.Socket): Effect.Effect<void> =>
      Effect.async<void>((resume) => {
        if (!sockets.has(socket)) return resume(Effect.void)
        socket.once("close", () => resume(Effect.void))
        socket.destroy()
      })
    /** Drops every connection, the kit's and other tools', at both ends; waits until all have closed. */
    const closeAll = Effect.suspend(() => {
      agent.destroy()
      bodyAgent.destroy()
      return Effect.forEach(Array.from(sockets), closeSocket, { concurrency: "unbounded", discard: true })
    })

    const context: ExchangeContext = {
      port: boundPort,
      agent,
      bodyAgent,
      expect,
      serverEnd: (port) => serverEnds.get(port),
      closeSocket
    }

    const server: InProcessServer = {
      httpServer,
      address: listenFailure === undefined ? `http://${loopback}:${boundPort}` : undefined,
      listenFailure,
      abandon: (fiber) => {
        inFlight.abandon(fiber)
        const handler = exchanges.get(fiber)?.handler?.fiber
        if (handler !== undefined) abandoned.add(handler)
      },
      inFlight: () => inFlight.list(),
      whereIs: (fiber) => {
        const handler = exchanges.get(fiber)?.handler
        return handler === undefined ? undefined : tracker.whereIs(handler.fiber)
      },
      get closed() {
        return inFlight.closed
      },
      dispatch(source) {
        if (serving === 0) return undefined
        const exchange: Exchange = { sink: source.sink, handler: undefined, socket: undefined, localPort: undefined }
        const run = source.connection === undefined ? httpExchange : websocketExchange
        const fiber = Effect.runFork(run(source, exchange, context)) as Fiber.RuntimeFiber<void>
        exchanges.set(fiber, exchange)
        inFlight.track(fiber, `${source.method} ${source.url}`)
        return fiber
      }
    }

    const close = Effect.suspend(() => {
      const fibers = inFlight.close()
      for (const fiber of fibers) {
        // Over a socket nothing can follow a dropped connection (in process the app's 499 does).
        const sink = exchanges.get(fiber)?.sink
        if (sink !== undefined && !sink.headersSent) {
          sink.reset(
            "the TestClient's scope closed while the request was in flight, which closed its connection: make " +
              "requests inside the Effect that the TestClient layer is provided to, and wait for them"
          )
        }
        fiber.unsafeInterruptAsFork(ServerError.clientAbortFiberId)
      }
      // Then every other connection (another tool's, given the address) is dropped too, and
      // the handlers still running on them are disconnected and awaited, as the kit's own.
      const ours = new Set<Fiber.RuntimeFiber<unknown, unknown> | undefined>(
        fibers.map((fiber) => exchanges.get(fiber)?.handler?.fiber)
      )
      const others = Effect.zipRight(
        closeAll,
        Effect.suspend(() => {
          const handlers = tracker.liveHandlers().filter((handler) => !ours.has(handler) && !abandoned.has(handler))
          for (const handler of handlers) handler.unsafeInterruptAsFork(ServerError.clientAbortFiberId)
          return awaitFibers(handlers, drainTimeout)
        })
      )
      return Effect.flatMap(Effect.zip(awaitFibers(fibers, drainTimeout), others), ([stuck, stuckOthers]) =>
        stuckAtClose(drainTimeout, [
          ...inFlight.describe(stuck),
          ...stuckOthers.map((fiber) => `${tracker.requestOf(fiber) ?? `#${fiber.id().id}`} (another client's)`)
        ])
      )
    })

    // Stops listening once every connection is closed: nothing of the transport (no server,
    // no socket at either end) outlives the client's scope.
    const stop = Effect.suspend(() =>
      Effect.asVoid(
        awaitFibers(
          [
            Effect.runFork(
              Effect.zipRight(closeAll, Effect.zipRight(Scope.close(listenScope, Exit.void), handlesClosed))
            )
          ],
          drainTimeout
        )
      )
    )

    return { server, close, stop }
  })

/**
 * Waits until the handles closed so far are gone: libuv runs close callbacks at the end of
 * the loop turn in which they were closed (a server that failed to listen, or just stopped,
 * is released then), so one whole turn later none is left.
 */
const handlesClosed: Effect.Effect<void> = Effect.async<void>((resume) => {
  setImmediate(() => setImmediate(() => resume(Effect.void)))
})

/**
 * A cause's first failure with the errors it wraps (`Decode error (POST /upload): maxBytes
 * exceeded`), and what a body over the app's limit means.
 */
const describeChain = (cause: Cause.Cause<unknown>): string => {
  const parts = [describeCause(cause)]
  let inner: unknown = (Cause.squash(cause) as { cause?: unknown }).cause
  for (let depth = 0; inner instanceof Error && depth < 3; depth++) {
    parts.push(inner.message)
    inner = (inner as { cause?: unknown }).cause
  }
  const text = parts.join(": ")
  return text.includes("maxBytes exceeded")
    ? `${text} (the request body exceeds the app's MaxBodySize; platform-node then destroys the connection)`
    : text
}

/** What Node said when listening failed (a `ServeError` wraps it). */
const serveErrorCause = (error: unknown): unknown => (error instanceof ServerError.ServeError ? error.cause : error)

/** What each exchange needs of its transport. */
interface ExchangeContext {
  readonly port: number
  readonly agent: Http.Agent
  readonly bodyAgent: Http.Agent
  readonly expect: (socket: Net.Socket, exchange: Exchange) => void
  /** The server's end of a connection the kit opened (by the client end's local port), while it is open. */
  readonly serverEnd: (localPort: number) => Net.Socket | undefined
  /** Destroys one end of a connection and waits until it has closed. */
  readonly closeSocket: (socket: Net.Socket) => Effect.Effect<void>
}

/** Notes the request's server span on its handler when the app starts. */
const withHandlerSpan = <E, R>(
  app: HttpApp.Default<E, R>,
  handlers: WeakMap<Fiber.RuntimeFiber<unknown, unknown>, Handler>
): HttpApp.Default<E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const handler = handlers.get(fiber)
    if (handler !== undefined) handler.spanId = serverSpanId(fiber.currentContext)
    return app
  })

/**
 * Ends the exchange as its handler ends, with the handler's exit (no handler: the request
 * never reached the app). `deliver`, if given, hands the sink a response that came whole,
 * once the handler's end says whether its body failed while being written.
 */
const settleWith = (
  exchange: Exchange,
  sink: RequestSource["sink"],
  resume: (effect: Effect.Effect<void, unknown>) => void,
  deliver?: (writingFailed: boolean, cause: Cause.Cause<unknown> | undefined) => void
) => {
  const handler = exchange.handler
  if (handler === undefined) {
    deliver?.(false, undefined)
    return resume(Effect.void)
  }
  if (sink.spanId === "") sink.spanId = handler.spanId
  handler.fiber.addObserver((exit) => {
    sink.failure ??= handler.failure
    // platform-node ends a response whose body failed after the headers as if it were
    // complete; the kit knows the handler's cause, and never lets that pass for a whole body.
    const cause = exit._tag === "Failure" ? exit.cause : handler.failure
    const writingFailed = cause !== undefined && failedWhileWriting(cause)
    deliver?.(writingFailed, cause)
    if (writingFailed && sink.headersSent) sink.abort()
    resume(exit._tag === "Failure" ? Effect.failCause(exit.cause) : Effect.void)
  })
}

/**
 * Disconnects as a closed socket does: the connection is dropped at both ends (each awaited
 * until closed), the handler interrupted as a client abort (platform-node does that when it
 * sees the close, but not for a handshake it has not upgraded yet, nor once the response is
 * complete), and the exchange waits for the handler to stop.
 */
const drop = (exchange: Exchange, context: ExchangeContext): Effect.Effect<void> => {
  const client = exchange.socket
  const server = exchange.localPort === undefined ? undefined : context.serverEnd(exchange.localPort)
  const handler = exchange.handler
  const sink = exchange.sink
  if (handler !== undefined && sink.spanId === "") sink.spanId = handler.spanId
  return Effect.zipRight(
    Effect.forEach([client, server], (socket) => (socket === undefined ? Effect.void : context.closeSocket(socket)), {
      discard: true
    }),
    Effect.async<void>((resume) => {
      if (handler === undefined || handler.fiber.unsafePoll() !== null) return resume(Effect.void)
      handler.fiber.unsafeInterruptAsFork(ServerError.clientAbortFiberId)
      handler.fiber.addObserver(() => resume(Effect.void))
    })
  )
}

/**
 * Whether a handler's cause is that of a body that failed while being written: platform-node
 * then appends the app's own response, whose body is a stream, as a defect (an error
 * response it answers with instead has no streamed body).
 */
const failedWhileWriting = (cause: Cause.Cause<unknown>): boolean =>
  Cause.reduce(cause, false, (found, part) => {
    if (found) return Option.some(true)
    if (part._tag !== "Die" || !ServerResponse.isServerResponse(part.defect)) return Option.none()
    const body = part.defect.body
    return body._tag === "Stream" || body._tag === "FormData" || (body._tag === "Raw" && isStreamLike(body.body))
      ? Option.some(true)
      : Option.none()
  })

const isStreamLike = (body: unknown): boolean =>
  body instanceof ReadableStream || (typeof body === "object" && body !== null && "pipe" in body)

/** Header lines grouped by name, in first-seen order, as `setHeader` takes them. */
const grouped = (lines: ReadonlyArray<readonly [string, string]>, skip?: ReadonlySet<string>) => {
  const out = new Map<string, Array<string>>()
  for (const [name, value] of lines) {
    if (skip?.has(name)) continue
    const values = out.get(name)
    if (values === undefined) out.set(name, [value])
    else values.push(value)
  }
  return out
}

/** The response head as the in-process server gives it: Set-Cookie both listed and joined. */
const responseHead = (response: Http.IncomingMessage) => {
  const record: Record<string, string> = {}
  const setCookie: Array<string> = []
  const raw = response.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase()
    const value = raw[i + 1]
    if (name === "set-cookie") {
      setCookie.push(value)
      continue
    }
    const current = record[name]
    record[name] = current === undefined ? value : `${current}, ${value}`
  }
  if (setCookie.length > 0) record["set-cookie"] = setCookie.join(", ")
  return { headers: Headers.unsafeFromRecord(record), setCookie }
}

const bytesOf = (chunk: Buffer): Uint8Array => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)

const httpExchange = (source: RequestSource, exchange: Exchange, context: ExchangeContext) =>
  Effect.async<void, unknown>((resume) => {
    const sink = source.sink
    let done = false
    let backpressure: Fiber.RuntimeFiber<void> | undefined
    let body: Fiber.RuntimeFiber<void> | undefined
    const request = Http.request({
      host: loopback,
      port: context.port,
      method: source.method,
      path: source.url,
      // A request with a body, or asking to upgrade (which platform-node answers on the
      // upgrade path and then closes), gets a connection of its own.
      agent: source.body._tag === "Empty" && source.headers.upgrade === undefined ? context.agent : context.bodyAgent,
      setHost: false,
      // The kit's client takes any response head, as in process (Node's default is 16 KiB).
      maxHeaderSize: responseHeadLimit
    })
    // Every response header line, however many (Node keeps the first 2,000 by default).
    request.maxHeadersCount = 0
    const lines = grouped(source.lines)
    for (const [name, values] of lines) request.setHeader(name, values.length === 1 ? values[0] : values)
    // Exactly the client's lines: no framing or Connection header of Node's own.
    if (!lines.has("content-length") && !lines.has("transfer-encoding")) {
      request.removeHeader("content-length")
      request.removeHeader("transfer-encoding")
    }
    if (!lines.has("connection")) request.removeHeader("connection")
    request.on("socket", (socket: Net.Socket) => context.expect(socket, exchange))

    const finish = (deliver?: (writingFailed: boolean, cause: Cause.Cause<unknown> | undefined) => void) => {
      if (done) return
      done = true
      if (body !== undefined) body.unsafeInterruptAsFork(ServerError.clientAbortFiberId)
      settleWith(exchange, sink, resume, deliver)
    }

    // Once the bytes read with the head are parsed: a response that came whole (Node writes
    // a buffered body with its head) is not streaming, so a handler that failed before its
    // headers fails the exchange itself, as in process.
    request.on("response", (response) => process.nextTick(onResponse, response))
    const onResponse = (response: Http.IncomingMessage) => {
      if (done) return
      sink.spanId = exchange.handler?.spanId ?? ""
      const { headers, setCookie } = responseHead(response)
      response.on("error", () => {})
      if (response.complete) {
        // It came whole: handed over at once, as the in-process server writes a buffered body
        // (a bounded reader never waits on a body it cannot read yet).
        const body = response.read() as Buffer | null
        response.resume()
        const status = response.statusCode ?? 0
        const write = () => {
          if (body !== null && body.length > 0) void sink.write(bytesOf(body))
        }
        const handler = exchange.handler
        if (handler !== undefined && handler.fiber.unsafePoll() === null) {
          // The handler still runs (its request scope's finalizers): the head and the body go
          // now. A body of announced length is whole; a chunked one ends when the handler
          // does, so that one that failed while being written is never taken for complete.
          const announced = headers["content-length"] !== undefined
          sink.head(status, headers, setCookie, !announced)
          write()
          if (announced) {
            sink.end()
            return finish()
          }
          return finish((writingFailed) => {
            if (!writingFailed) sink.end()
          })
        }
        // The handler has ended: its exit says whether the body failed while being written,
        // a stream cut short (streamed clients get its head, then the failure), as in process.
        return finish((writingFailed) => {
          sink.head(status, headers, setCookie, writingFailed)
          write()
          if (!writingFailed) sink.end()
        })
      }
      sink.head(response.statusCode ?? 0, headers, setCookie, true)
      // A body that failed short of its Content-Length: platform-node ends the response and
      // keeps the connection, so the client would wait for the missing bytes until the
      // server's keep-alive timeout. The kit's own connection is closed at the server's end
      // instead (after what was written), and the body ends short, as a failure.
      const handler = exchange.handler
      handler?.fiber.addObserver((exit) => {
        const cause = exit._tag === "Failure" ? exit.cause : handler.failure
        if (done || response.complete || cause === undefined || !failedWhileWriting(cause)) return
        if (exchange.localPort !== undefined) context.serverEnd(exchange.localPort)?.end()
      })
      response.on("data", (chunk: Buffer) => {
        const wait = sink.write(bytesOf(chunk))
        if (wait === undefined) return
        // The reader is behind: stop reading the socket until it catches up.
        response.pause()
        backpressure = Effect.runFork(wait)
        backpressure.addObserver(() => {
          backpressure = undefined
          response.resume()
        })
      })
      response.on("end", () => {
        sink.end()
        finish()
      })
      response.on("close", () => {
        if (!response.complete) {
          sink.abort()
          finish()
        }
      })
    }
    request.on("error", (error) => {
      // Node's server drops the connection of a request it never routes (CONNECT): say so.
      const refusal = nodeRefusal(source.method, source.url, source.lines)
      if (sink.headersSent) {
        if (!sink.ended) sink.abort()
        return finish()
      }
      if (refusal?._tag === "Reset") {
        sink.reset(refusal.reason)
        return finish()
      }
      // Why is the handler's to say (a body over the app's MaxBodySize, say), once it ends.
      finish((_, cause) =>
        sink.reset(
          cause === undefined
            ? `Node's client reported ${error.message}`
            : `the app's handler failed with ${describeChain(cause)} (Node's client reported ${error.message})`
        )
      )
    })

    switch (source.body._tag) {
      case "Empty":
        request.end()
        break
      case "Bytes":
        request.end(source.body.bytes)
        break
      case "Stream":
        // The head goes at once, as fetch sends it: an app may answer before the body comes.
        request.flushHeaders()
        body = Effect.runFork(writeBody(request, source.body.stream))
    }

    return Effect.suspend(() => {
      done = true
      request.destroy()
      backpressure?.unsafeInterruptAsFork(ServerError.clientAbortFiberId)
      body?.unsafeInterruptAsFork(ServerError.clientAbortFiberId)
      return drop(exchange, context)
    })
  })

/** Sends a Stream body with the socket's backpressure; a failure is the caller's to handle. */
const writeBody = (request: Http.ClientRequest, stream: Stream.Stream<Uint8Array, unknown>): Effect.Effect<void> =>
  stream.pipe(
    Stream.runForEach((chunk) =>
      Effect.async<void>((resume) => {
        if (request.destroyed || request.write(chunk)) return resume(Effect.void)
        const go = () => {
          request.off("drain", go)
          request.off("close", go)
          resume(Effect.void)
        }
        request.on("drain", go)
        request.on("close", go)
      })
    ),
    Effect.zipRight(Effect.sync(() => request.end())),
    Effect.catchAllCause(() => Effect.void)
  )

/** The handshake lines the `ws` client writes itself. */
const handshakeLines: ReadonlySet<string> = new Set([
  "connection",
  "upgrade",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "sec-websocket-extensions"
])

const websocketExchange = (source: RequestSource, exchange: Exchange, context: ExchangeContext) =>
  Effect.async<void, unknown>((resume) => {
    const connection = source.connection!
    const sink = source.sink
    let done = false
    let opened = false
    const headers: Record<string, string | Array<string>> = {}
    for (const [name, values] of grouped(source.lines, handshakeLines)) {
      headers[name] = values.length === 1 ? values[0] : values
    }
    const protocols = (source.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((protocol) => protocol.trim())
      .filter((protocol) => protocol !== "")
    const offered = source.headers["sec-websocket-protocol"]
    const ws = new WsClient(`ws://${loopback}:${context.port}${source.url}`, protocols, {
      headers,
      perMessageDeflate: false,
      // The subprotocols as the kit offers them (`ws` would join them with "," alone).
      finishRequest: (request: Http.ClientRequest) => {
        if (offered !== undefined) request.setHeader("sec-websocket-protocol", offered)
        // A version or extensions the test gave replace the client's own, as in process.
        for (const name of ["sec-websocket-version", "sec-websocket-extensions"]) {
          const value = source.headers[name]
          if (value !== undefined) request.setHeader(name, value)
        }
        request.end()
      },
      createConnection: (options: Net.NetConnectOpts) => {
        const socket = Net.connect(options)
        context.expect(socket, exchange)
        return socket
      }
    } as ConstructorParameters<typeof WsClient>[2])

    const finish = () => {
      if (done) return
      done = true
      settleWith(exchange, sink, resume)
    }

    ws.on("open", () => {
      opened = true
      sink.spanId = exchange.handler?.spanId ?? ""
      connection.acceptRemote({
        send: (data) => ws.send(data),
        close: (code, reason) => {
          if (code === 1006) ws.terminate()
          else ws.close(code === 1005 ? undefined : code, reason)
        }
      })
    })
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      connection.toTest({ _tag: "Message", data: isBinary ? new Uint8Array(data) : data.toString("utf8") })
    })
    ws.on("close", (code: number, reason: Buffer) => {
      if (opened) connection.closedBy(code, reason.toString())
      finish()
    })
    // The app answered the handshake with plain HTTP: a rejection, read whole.
    ws.on("unexpected-response", (request: Http.ClientRequest, response: Http.IncomingMessage) => {
      sink.spanId = exchange.handler?.spanId ?? ""
      const { headers, setCookie } = responseHead(response)
      sink.head(response.statusCode ?? 0, headers, setCookie, false)
      response.on("data", (chunk: Buffer) => void sink.write(bytesOf(chunk)))
      response.on("error", () => {})
      response.on("end", () => {
        sink.end()
        request.destroy()
        finish()
      })
    })
    ws.on("error", (error: Error) => {
      if (!sink.headersSent && connection.closeInfo === undefined) {
        sink.reset(`the server closed the connection during the WebSocket handshake (${error.message})`)
      }
      finish()
    })

    // Dropped: the connection closes at both ends (1006 for the app) and the handler is
    // interrupted as a client abort, as in process.
    return Effect.suspend(() => {
      done = true
      ws.terminate()
      return drop(exchange, context)
    })
  })
