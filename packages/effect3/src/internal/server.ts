import * as Http from "node:http"
import type { Readable } from "node:stream"
import * as Cookies from "@effect/platform/Cookies"
import type * as Headers from "@effect/platform/Headers"
import * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpBody from "@effect/platform/HttpBody"
import type * as Middleware from "@effect/platform/HttpMiddleware"
import * as HttpServer from "@effect/platform/HttpServer"
import * as ServerError from "@effect/platform/HttpServerError"
import * as ServerRequest from "@effect/platform/HttpServerRequest"
import type * as ServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { trimOws } from "@effect-http-testkit/core"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { awaitFibers } from "./clock.js"
import { DrainTimeout, type SocketUnavailable } from "./errors.js"
import { refuseAsNode } from "./nodeLimits.js"
import { hasSurroundingWhitespace, InProcessRequest, type RequestSource } from "./request.js"
import type { Tracker } from "./tasks.js"

/**
 * An `HttpServer.HttpServer` with no socket. `serve(app)` captures the app and the runtime
 * it is served in; `dispatch` then runs one request through `HttpApp.toHandled`, the same
 * pipeline platform-node's server uses, in a fiber of that runtime.
 *
 * @internal
 */
export interface InProcessServer {
  readonly httpServer: HttpServer.HttpServer
  /** With the socket transport: the URL the app is served at. */
  readonly address: string | undefined
  /** With the socket transport: why its server is not listening, if it is not. */
  readonly listenFailure: SocketUnavailable | undefined
  /** Starts the handler fiber; `undefined` when no app is served. */
  dispatch(source: RequestSource): Fiber.RuntimeFiber<void> | undefined
  readonly closed: boolean
  /**
   * Takes a handler the client already disconnected and reported as stuck out of the
   * server's care, so scope close does not wait for it and report it again.
   */
  abandon(fiber: Fiber.RuntimeFiber<void>): void
  /** The requests whose handlers are still running, e.g. `GET /feed` (once closed: those it disconnected). */
  inFlight(): ReadonlyArray<string>
  /** Where a handler is stuck: its open spans, a TestClock it waits on. */
  /** `undefined`: the request never reached the app (over a socket), so no handler ran. */
  whereIs(fiber: Fiber.RuntimeFiber<void>): ReadonlyArray<string> | undefined
}

/**
 * The server, and `close`, for the client's scope close: requests still running then are
 * disconnected, as a server's sockets are, and awaited; one that ignores interruption is
 * reported after `drainTimeout` rather than hanging the test.
 *
 * @internal
 */
export const make = (
  address: HttpServer.Address,
  drainTimeout: Duration.Duration,
  tracker: Tracker
): { readonly server: InProcessServer; readonly close: Effect.Effect<void> } => {
  let handler: ((request: ServerRequest.HttpServerRequest, description: string) => Fiber.RuntimeFiber<void>) | undefined
  const inFlight = new InFlight()

  const httpServer = HttpServer.make({
    address,
    serve: (app: HttpApp.Default<unknown>, middleware?: Middleware.HttpMiddleware) =>
      Effect.gen(function* () {
        const handled = HttpApp.toHandled(
          app,
          handleResponse,
          middleware === undefined ? undefined : recordingFailures(middleware, recordOnSink)
        )
        // Supervised once, not per request: the runtime the handlers run in carries the
        // tracker, so every handler fiber and every fiber it forks, however deeply, is
        // tracked. The tracker registers each handler as it starts (before it runs a step):
        // anything it forks or traces finds it already tracked.
        const runtime = yield* Effect.runtime<never>()
        const runFork = Runtime.runFork(
          Runtime.setFiberRef(
            runtime,
            FiberRef.currentSupervisor,
            FiberRefs.getOrDefault(runtime.fiberRefs, FiberRef.currentSupervisor).zip(tracker)
          )
        )
        handler = (request, description) =>
          tracker.startHandler(
            description,
            (fiber) => {
              // Once the response is complete, what the handler still runs (its request
              // scope's finalizers, work it forked) is background work for drainTasks.
              ;(request as InProcessRequest).source.sink.onEnd = () => tracker.responded(fiber)
            },
            () => runFork(Effect.provideService(handled, ServerRequest.HttpServerRequest, request))
          )
        // A scope finalizer, not Effect.addFinalizer: it reads no FiberRef, so it needs none
        // of the serving fiber's restored (which costs a FiberRefs diff and patch per client).
        yield* Scope.addFinalizer(
          yield* Effect.scope,
          Effect.sync(() => {
            handler = undefined
          })
        )
      })
  })

  const close = Effect.suspend(() => {
    const fibers = inFlight.close()
    if (fibers.length === 0) return Effect.void
    for (const fiber of fibers) fiber.unsafeInterruptAsFork(ServerError.clientAbortFiberId)
    return Effect.flatMap(awaitFibers(fibers, drainTimeout), (stuck) =>
      stuckAtClose(drainTimeout, inFlight.describe(stuck))
    )
  })

  const server: InProcessServer = {
    httpServer,
    address: undefined,
    listenFailure: undefined,
    abandon: (fiber) => inFlight.abandon(fiber),
    inFlight: () => inFlight.list(),
    whereIs: (fiber) => tracker.whereIs(fiber),
    get closed() {
      return inFlight.closed
    },
    dispatch(source) {
      // What Node's server refuses never reaches a handler (over a socket Node refuses it itself).
      const refused = refuseAsNode(source)
      if (refused !== undefined) return refused
      if (handler === undefined) return undefined
      const description = `${source.method} ${source.url}`
      const fiber = handler(new InProcessRequest(source), description)
      inFlight.track(fiber, description)
      return fiber
    }
  }
  return { server, close }
}

/**
 * The exchanges of a server still running, each with the request it serves (`GET /feed`):
 * what scope close disconnects, and what the failure report names (once closed, those it
 * disconnected). Shared by the in-process and the socket server.
 *
 * @internal
 */
export class InFlight {
  private readonly requests = new WeakMap<Fiber.RuntimeFiber<void>, string>()
  private readonly running = new Set<Fiber.RuntimeFiber<void>>()
  private atClose: ReadonlyArray<string> | undefined

  get closed(): boolean {
    return this.atClose !== undefined
  }

  /**
   * Most exchanges end inside dispatch (handlers run synchronously until they suspend):
   * only one still running is in flight.
   */
  track(fiber: Fiber.RuntimeFiber<void>, request: string): void {
    if (fiber.unsafePoll() !== null) return
    this.requests.set(fiber, request)
    this.running.add(fiber)
    fiber.addObserver(() => this.running.delete(fiber))
  }

  /** Out of the server's care: scope close neither waits for it nor reports it again. */
  abandon(fiber: Fiber.RuntimeFiber<void>): void {
    this.running.delete(fiber)
  }

  list(): ReadonlyArray<string> {
    return this.atClose ?? this.describe(this.running)
  }

  describe(fibers: Iterable<Fiber.RuntimeFiber<void>>): Array<string> {
    return Array.from(fibers, (fiber) => this.requests.get(fiber) ?? `#${fiber.id().id}`)
  }

  /** Marks the server closed; the exchanges still running, for scope close to disconnect. */
  close(): Array<Fiber.RuntimeFiber<void>> {
    this.atClose = this.list()
    return Array.from(this.running)
  }
}

/** Scope close's verdict on disconnected handlers that did not stop within `drainTimeout`. @internal */
export const stuckAtClose = (drainTimeout: Duration.Duration, requests: ReadonlyArray<string>): Effect.Effect<void> =>
  requests.length === 0
    ? Effect.void
    : Effect.die(
        new DrainTimeout({
          timeout: drainTimeout,
          running: requests.map((request) => `request handler ${request}, disconnected but still running`)
        })
      )

/**
 * With a middleware given to `serve`, `toHandled` answers an unhandled failure itself and
 * then ends the handler fiber successfully (as it must: the response is already written),
 * so the fiber's exit no longer holds the app's cause. The cause is recorded on the way
 * instead, where `toHandled`'s own error handling sees it: the failure of the app with its
 * error response already sent (inside the middleware), or a failure of the middleware
 * itself (outside it). A middleware that maps errors to a response of its own cannot change
 * what was sent, in production either: such a mapping belongs around the app.
 */
/** @internal */
export const recordingFailures =
  (
    middleware: Middleware.HttpMiddleware,
    record: (fiber: Fiber.RuntimeFiber<unknown, unknown>, cause: Cause.Cause<unknown>) => void
  ): Middleware.HttpMiddleware =>
  (app) => {
    const recorded = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
      Effect.tapErrorCause(app, (cause) =>
        Effect.withFiberRuntime((fiber) => {
          record(fiber, cause)
          return Effect.void
        })
      )
    return recorded(middleware(recorded(app)))
  }

const recordOnSink = (fiber: Fiber.RuntimeFiber<unknown, unknown>, cause: Cause.Cause<unknown>): void => {
  const request = Context.unsafeGet(fiber.currentContext, ServerRequest.HttpServerRequest)
  if (request instanceof InProcessRequest) request.source.sink.failure ??= cause
}

// Mirrors platform-node's `handleResponse`: the body is written inside the handler fiber, so
// the server span and the request scope stay open until the body has been delivered.
const handleResponse = (request: ServerRequest.HttpServerRequest, response: ServerResponse.HttpServerResponse) =>
  Effect.withFiberRuntime((fiber): Effect.Effect<void, ServerError.ResponseError> => {
    const sink = (request as InProcessRequest).source.sink
    if (sink.ended) return Effect.void
    sink.spanId = serverSpanId(fiber.currentContext)

    const setCookie = Cookies.isEmpty(response.cookies) ? [] : Cookies.toSetCookieHeaders(response.cookies)
    const explicitSetCookie = response.headers["set-cookie"]
    if (explicitSetCookie !== undefined) setCookie.push(explicitSetCookie)

    // Like any HTTP client, the test sees every Set-Cookie among the headers too (joined as fetch joins them).
    // `streaming`: the body is still to come when the headers go out (a streamed client returns then).
    const head = (given: Headers.Headers, streaming: boolean) => {
      const status = validStatus(response.status)
      validateHeaders(given, setCookie)
      // As a client reads them off the wire: Node's parser drops the spaces and tabs around a value.
      const headers = trimmedValues(given)
      const cookies = setCookie.some(hasSurroundingWhitespace) ? setCookie.map(trimOws) : setCookie
      sink.head(
        status,
        withFraming(
          request,
          response,
          cookies.length === 0 ? headers : ({ ...headers, "set-cookie": cookies.join(", ") } as Headers.Headers)
        ),
        cookies,
        streaming
      )
    }

    if (request.method === "HEAD") {
      head(response.headers, false)
      sink.end()
      return Effect.void
    }
    const body = response.body
    switch (body._tag) {
      case "Empty": {
        head(response.headers, false)
        sink.end()
        return Effect.void
      }
      case "Uint8Array": {
        head(response.headers, false)
        return writeLast(sink, body.body)
      }
      case "Raw": {
        head(response.headers, isNodeReadable(body.body) || body.body instanceof ReadableStream)
        return writeRaw(request, response, body)
      }
      case "FormData": {
        // As Node does: let the platform's Response encode it, which picks the boundary.
        const encoded = new Response(body.formData)
        head({ ...response.headers, "content-type": encoded.headers.get("content-type")! } as Headers.Headers, true)
        return writeStream(
          request,
          response,
          Stream.fromReadableStream(
            () => encoded.body!,
            (cause) => cause
          )
        )
      }
      case "Stream": {
        head(response.headers, true)
        return writeStream(request, response, body.stream)
      }
    }
  })

const trimmedValues = (headers: Headers.Headers): Headers.Headers => {
  let out: Record<string, string> | undefined
  for (const name in headers) {
    if (!hasSurroundingWhitespace(headers[name])) continue
    out ??= { ...headers }
    out[name] = trimOws(headers[name])
  }
  return out === undefined ? headers : (out as Headers.Headers)
}

// Node adds `transfer-encoding: chunked` to any response that may have a body but names no
// length (writeHead is called before the body is known), and nothing to HEAD/204/304 ones.
const withFraming = (
  request: ServerRequest.HttpServerRequest,
  response: ServerResponse.HttpServerResponse,
  headers: Headers.Headers
): Headers.Headers => {
  const status = response.status
  if (
    request.method === "HEAD" ||
    status === 204 ||
    status === 304 ||
    (status >= 100 && status < 200) ||
    headers["content-length"] !== undefined ||
    headers["transfer-encoding"] !== undefined
  ) {
    return headers
  }
  return { ...headers, "transfer-encoding": "chunked" } as Headers.Headers
}

const writeLast = (sink: RequestSource["sink"], bytes: Uint8Array): Effect.Effect<void> => {
  const wait = sink.write(bytes)
  if (wait === undefined) {
    sink.end()
    return Effect.void
  }
  return Effect.map(wait, () => sink.end())
}

const writeRaw = (
  request: ServerRequest.HttpServerRequest,
  response: ServerResponse.HttpServerResponse,
  body: HttpBody.Raw
): Effect.Effect<void, ServerError.ResponseError> => {
  const raw = body.body
  if (typeof raw === "string") return writeLast(sinkOf(request), encoder.encode(raw))
  if (raw instanceof Uint8Array) return writeLast(sinkOf(request), raw)
  if (raw instanceof ArrayBuffer) return writeLast(sinkOf(request), new Uint8Array(raw))
  if (isNodeReadable(raw)) {
    return writeStream(
      request,
      response,
      NodeStream.fromReadable<unknown, Uint8Array>(
        () => raw,
        (cause) => cause
      )
    )
  }
  if (raw instanceof ReadableStream) {
    return writeStream(
      request,
      response,
      Stream.fromReadableStream(
        () => raw as ReadableStream<Uint8Array>,
        (cause) => cause
      )
    )
  }
  if (raw === undefined || raw === null) return writeLast(sinkOf(request), new Uint8Array(0))
  return failResponse(
    request,
    response,
    Cause.fail(
      new ServerError.ResponseError({
        request,
        response,
        reason: "Decode",
        description: `unsupported Raw body: ${Object.prototype.toString.call(raw)}`
      })
    )
  )
}

const writeStream = (
  request: ServerRequest.HttpServerRequest,
  response: ServerResponse.HttpServerResponse,
  stream: Stream.Stream<Uint8Array | string, unknown>
): Effect.Effect<void, ServerError.ResponseError> => {
  const sink = sinkOf(request)
  return stream.pipe(
    Stream.orDie,
    Stream.runForEachChunk((chunk) => writeAll(sink, Chunk.toReadonlyArray(chunk), 0)),
    Effect.interruptible,
    Effect.matchCauseEffect({
      onSuccess: () => Effect.sync(() => sink.end()),
      onFailure: (cause) => failResponse(request, response, cause)
    })
  )
}

// Writes items in order; once a write must wait for the reader, the rest follow it.
const writeAll = (
  sink: RequestSource["sink"],
  items: ReadonlyArray<Uint8Array | string>,
  from: number
): Effect.Effect<void> => {
  for (let i = from; i < items.length; i++) {
    const item = items[i]
    const bytes = typeof item === "string" ? encoder.encode(item) : item
    if (bytes.length === 0) continue
    const wait = sink.write(bytes)
    if (wait !== undefined) return i + 1 === items.length ? wait : Effect.zipRight(wait, writeAll(sink, items, i + 1))
  }
  return Effect.void
}

// As platform-node's `handleCause`: answer with the cause's status if nothing was sent yet,
// end the response, and fail the fiber so the cause is not lost.
const failResponse = <E>(
  request: ServerRequest.HttpServerRequest,
  original: ServerResponse.HttpServerResponse,
  originalCause: Cause.Cause<E>
): Effect.Effect<never, E> =>
  Effect.flatMap(ServerError.causeResponse(originalCause), ([response, cause]) => {
    const sink = sinkOf(request)
    const headersSent = sink.headersSent
    if (!headersSent) {
      sink.head(response.status, withFraming(request, response, {} as Headers.Headers), [], false)
      sink.end()
    } else if (!sink.ended) {
      sink.abort()
    }
    return Effect.failCause(headersSent ? Cause.sequential(originalCause, Cause.die(original)) : cause)
  })

/** @internal The id of the request's `http.server` span (the tracer middleware's), or "" with tracing off. */
export const serverSpanId = (context: Context.Context<never>): string => {
  let span: Tracer.AnySpan | undefined = Option.getOrUndefined(Context.getOption(context, Tracer.ParentSpan))
  while (span !== undefined && span._tag === "Span" && span.kind !== "server") {
    span = Option.getOrUndefined(span.parent)
  }
  return span?._tag === "Span" ? span.spanId : ""
}

// Node's `writeHead` throws on these (ERR_INVALID_HTTP_TOKEN / ERR_INVALID_CHAR, with Node's
// own messages, since these are Node's own checks); the throw becomes a defect and
// `toHandled` answers 500, exactly as in production.
const validateHeaders = (headers: Headers.Headers, setCookie: ReadonlyArray<string>): void => {
  for (const name in headers) {
    Http.validateHeaderName(name)
    Http.validateHeaderValue(name, headers[name])
  }
  for (const value of setCookie) Http.validateHeaderValue("set-cookie", value)
}

/**
 * The status Node writes: `writeHead` truncates it to an integer and throws for one outside
 * 100–999 (ERR_HTTP_INVALID_STATUS_CODE, with Node's message); as for headers, the throw
 * becomes a defect and `toHandled` answers 500.
 */
const validStatus = (status: number): number => {
  const code = status | 0
  if (code < 100 || code > 999) {
    const error = new RangeError(`Invalid status code: ${status}`)
    // As Node's own errors print: `RangeError [ERR_HTTP_INVALID_STATUS_CODE]: ...`.
    throw Object.assign(error, {
      code: "ERR_HTTP_INVALID_STATUS_CODE",
      toString: () => `${error.name} [ERR_HTTP_INVALID_STATUS_CODE]: ${error.message}`
    })
  }
  return code
}

const sinkOf = (request: ServerRequest.HttpServerRequest) => (request as InProcessRequest).source.sink

const isNodeReadable = (u: unknown): u is Readable =>
  typeof u === "object" && u !== null && "pipe" in u && typeof u.pipe === "function" && "on" in u

const encoder = new TextEncoder()
