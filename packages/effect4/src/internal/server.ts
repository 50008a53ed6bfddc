/**
 * The in-process server: an `HttpServer` whose `serve` keeps the app as production's
 * platform-node serves it (`HttpEffect.toHandled` with the given middleware, each request in
 * its own fiber in the serve scope), and a `dispatch` that runs one request and collects the
 * response as a Node client would read it off the wire.
 *
 * @internal
 */
import * as Http from "node:http"
import { Readable } from "node:stream"
import { parsedValue } from "@effect-http-testkit/core"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ErrorReporter from "effect/ErrorReporter"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import {
  Cookies,
  HttpEffect,
  HttpServer,
  HttpServerError,
  HttpServerRequest,
  HttpServerRespondable,
  HttpServerResponse
} from "effect/http"
import * as Latch from "effect/Latch"
import { NetAddress } from "effect/net"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Tracer from "effect/Tracer"
import { awaitBounded, setWallTimer } from "./clock.js"
import * as ServerRequest from "./request.js"
import { DrainTimeout } from "./tasks.js"

/** A response as the client receives it: a Stream body may still be arriving, as the handler writes it. */
export interface StreamingResponse {
  readonly status: number
  readonly headerLines: ReadonlyArray<readonly [string, string]>
  readonly body: Uint8Array | ReadableStream<Uint8Array>
  /** The request's server span (`""` when it was not traced, or the app answered before the tracer). */
  readonly spanId?: string | undefined
}

/** What a client reads off the wire once the response is whole. */
export interface WireResponse extends StreamingResponse {
  readonly body: Uint8Array
}

/** Where the handler's response goes: one per request, found in the handler fiber's context. */
class Sink extends Context.Service<
  Sink,
  {
    readonly deliver: (response: StreamingResponse) => void
    /** Whether a Stream body goes to the client as it is written (else it is read whole first). */
    readonly streaming: boolean
    /**
     * Called inside the server's middleware: with the app's exit once its response is written
     * (`outer: false`), and with the middleware's own exit (`outer: true`).
     */
    readonly observed: (exit: Exit.Exit<unknown, unknown>, outer: boolean) => void
    /** A body read whole failed after its first chunk, when Node had sent the headers with `status`. */
    readonly cutOff: (status: number) => void
  }
>()("@effect-http-testkit/effect4/internal/Sink") {}

const empty = new Uint8Array(0)
const encoder = new TextEncoder()

const headerLinesOf = (response: HttpServerResponse.HttpServerResponse): Array<readonly [string, string]> => {
  const lines: Array<readonly [string, string]> = []
  for (const [name, value] of Object.entries(response.headers)) {
    // Node drops a 204/205's content-length (platform-node removes it before writing).
    if ((response.status === 204 || response.status === 205) && name === "content-length") continue
    // A raw set-cookie header goes after the response's cookies, as platform-node writes it.
    if (name === "set-cookie" && !Cookies.isEmpty(response.cookies)) continue
    // As the client's parser hands it over: without the spaces and tabs around it.
    lines.push([name, parsedValue(value)])
  }
  if (!Cookies.isEmpty(response.cookies)) {
    for (const line of Cookies.toSetCookieHeaders(response.cookies)) lines.push(["set-cookie", line])
    const raw = response.headers["set-cookie"]
    if (raw !== undefined) lines.push(["set-cookie", parsedValue(raw)])
  }
  return lines
}

/** The body's bytes, read in the handler fiber (a Stream body runs there, as Node writes it). */
export const bodyBytes = (
  body: HttpServerResponse.HttpServerResponse["body"],
  /** Called as each chunk of a Stream body is written. */
  written?: () => void
): Effect.Effect<Uint8Array, unknown> => {
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(empty)
    case "Uint8Array":
      return Effect.succeed(body.body)
    case "Raw": {
      const raw: unknown = body.body
      if (typeof raw === "string") return Effect.succeed(encoder.encode(raw))
      if (raw instanceof Uint8Array) return Effect.succeed(raw)
      // A Node Readable (a file response): read it to its end. Anything else Node's `end`
      // refuses (a web ReadableStream, a plain object): the handler dies and, the headers
      // written, platform-node destroys the connection.
      if (!(raw instanceof Readable)) {
        return Effect.die(
          new TypeError(`a Raw response body Node cannot write: ${Object.prototype.toString.call(raw)}`)
        )
      }
      return Effect.tryPromise({
        try: async () => {
          const chunks: Array<Uint8Array> = []
          for await (const chunk of raw as AsyncIterable<Uint8Array | string>) {
            chunks.push(typeof chunk === "string" ? encoder.encode(chunk) : chunk)
          }
          return concat(chunks)
        },
        catch: (cause) => cause
      })
    }
    case "FormData":
      return Effect.map(encodeFormData(body.formData), ({ bytes }) => bytes)
    case "Stream":
      return Stream.runFold(
        body.stream,
        () => [] as Array<Uint8Array>,
        (chunks, chunk) => {
          written?.()
          chunks.push(chunk)
          return chunks
        }
      ).pipe(Effect.map(concat))
  }
}

/** Node's own checks (`checkIsHttpToken`, `checkInvalidHeaderChar`), to skip its validators when every line passes. */
const httpTokenRe = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/
const invalidHeaderCharRe = /[^\t\x20-\x7e\x80-\xff]/

const refusedHeader = (lines: ReadonlyArray<readonly [string, string]>): unknown => {
  let valid = true
  for (let i = 0; valid && i < lines.length; i++) {
    const [name, value] = lines[i]!
    valid = typeof value === "string" && httpTokenRe.test(name) && !invalidHeaderCharRe.test(value)
  }
  if (valid) return undefined
  try {
    for (const [name, value] of lines) {
      Http.validateHeaderName(name)
      Http.validateHeaderValue(name, value)
    }
    return undefined
  } catch (error) {
    return error
  }
}

const cancelBody = (body: HttpServerResponse.HttpServerResponse["body"]): void => {
  const raw: unknown = body._tag === "Raw" ? body.body : undefined
  if (raw instanceof Readable) raw.destroy()
}

/** A FormData body encoded as a web Response encodes it, with its multipart content-type (boundary included). */
const encodeFormData = (
  formData: FormData
): Effect.Effect<{ readonly bytes: Uint8Array; readonly lines: ReadonlyArray<readonly [string, string]> }, unknown> =>
  Effect.suspend(() => {
    const web = new Response(formData)
    return Effect.tryPromise({
      try: async () => ({ bytes: new Uint8Array(await web.arrayBuffer()), lines: Array.from(web.headers.entries()) }),
      catch: (cause) => cause
    })
  })

/** The bytes of `chunks`, one after the other (the one chunk itself when there is one). */
export const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  let size = 0
  for (const chunk of chunks) size += chunk.length
  const out = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

/**
 * Writes the response as platform-node does, into the request's sink: HEAD and 204/205/304
 * carry no body, a status outside 200–599 dies (Node's writeHead refuses it) and is answered
 * 500, a body that fails before it is complete is a defect of the handler.
 */
const handleResponse = (
  request: HttpServerRequest.HttpServerRequest,
  response: HttpServerResponse.HttpServerResponse
): Effect.Effect<unknown, unknown, Sink> =>
  Effect.withFiber((fiber) => {
    const sink = Context.get(fiber.context as Context.Context<Sink>, Sink)
    // The response goes out inside the tracer middleware: the current span is the server span.
    const span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
    const spanId = span !== undefined && span._tag === "Span" && span.kind === "server" ? span.spanId : ""
    const send = (sent: StreamingResponse): void => sink.deliver(spanId === "" ? sent : { ...sent, spanId })
    // Upgraded: the app's response goes nowhere, and middleware sees the 101 (as on platform-node).
    const upgraded = request instanceof ServerRequest.ServerRequest ? request.upgradedResponse : undefined
    if (upgraded !== undefined) return Effect.succeed(upgraded)
    if (!Number.isInteger(response.status) || response.status < 200 || response.status > 599) {
      send({ status: 500, headerLines: [], body: empty })
      return Effect.die(new RangeError(`Invalid final response status: ${response.status}`))
    }
    const headerLines = headerLinesOf(response)
    // Node's writeHead refuses a header it cannot send (a value outside Latin-1, a CR or LF, a
    // name that is not a token): the handler dies and platform-node answers 500.
    const refused = refusedHeader(headerLines)
    if (refused !== undefined) {
      send({ status: 500, headerLines: [], body: empty })
      return Effect.andThen(
        Effect.sync(() => cancelBody(response.body)),
        Effect.die(refused)
      )
    }
    if (request.method === "HEAD" || HttpServerResponse.omitsBody(response)) {
      send({ status: response.status, headerLines, body: empty })
      // Production destroys a Node Readable body it does not send (a file's handle closes).
      return Effect.sync(() => cancelBody(response.body))
    }
    // platform-node writes the head before the body: a body whose length the headers do not
    // give (a Stream, a Raw body, FormData, an empty body on a status that has one) goes chunked.
    const framed = headerLines.some(([name]) => name === "content-length" || name === "transfer-encoding")
      ? headerLines
      : [...headerLines, ["transfer-encoding", "chunked"] as const]
    // platform-node writes with Node's strictContentLength: a body longer or shorter than its
    // content-length fails the handler (and the connection), where it would be silently cut.
    const declared = headerLines.find(([name]) => name === "content-length")?.[1]
    const expected = declared === undefined || !/^\d+$/.test(declared) ? undefined : Number(declared)
    if (sink.streaming && response.body._tag === "Stream") {
      return streamBody(
        response.body.stream,
        (body) => send({ status: response.status, headerLines: framed, body }),
        expected
      )
    }
    if (response.body._tag === "FormData") {
      // Its multipart content-type (with the boundary) joins the headers, as platform-node writes it.
      return Effect.map(Effect.interruptible(encodeFormData(response.body.formData)), ({ bytes, lines }) => {
        const own = new Set(lines.map(([name]) => name))
        send({
          status: response.status,
          headerLines: [...framed.filter(([name]) => !own.has(name)), ...lines],
          body: bytes
        })
      })
    }
    // Node sends the headers with a Stream body's first chunk: a body failing after it leaves
    // the client a cut-off response, not production's 500.
    let started = false
    const read = Effect.tapCause(
      Effect.interruptible(
        bodyBytes(response.body, () => {
          started = true
        })
      ),
      () => Effect.sync(() => started && sink.cutOff(response.status))
    )
    return Effect.flatMap(read, (body) => {
      if (expected !== undefined && body.length !== expected) return Effect.die(lengthMismatch(body.length, expected))
      send({ status: response.status, headerLines: framed, body })
      return Effect.void
    })
  })

/** Node's own complaint when a body does not match its content-length (`ERR_HTTP_CONTENT_LENGTH_MISMATCH`). */
const lengthMismatch = (written: number, declared: number): Error =>
  Object.assign(
    new Error(
      `Response body's content-length of ${written} byte(s) does not match the content-length of ${declared} byte(s) set in header`
    ),
    { code: "ERR_HTTP_CONTENT_LENGTH_MISMATCH" }
  )

/** A streamed body ended by interrupting its handler (the app stopped serving, the client went away), not by its failure. */
export class BodyDisconnected extends Error {
  constructor() {
    super("the handler was interrupted while writing the body")
  }
}

/**
 * Runs a Stream body in the handler fiber into a ReadableStream the client reads, handed over
 * with the headers when the first chunk is written (or the body ends empty). The handler waits while the client has
 * not read what was written (as Node's `drain`); a client that cancels the body interrupts the
 * handler as a client abort; a body that fails errors the client's stream.
 */
const streamBody = (
  stream: Stream.Stream<Uint8Array, unknown>,
  deliver: (body: ReadableStream<Uint8Array>) => void,
  expected?: number
): Effect.Effect<void, unknown> =>
  Effect.withFiber((fiber) => {
    const drained = Latch.makeUnsafe(true)
    let controller!: ReadableStreamDefaultController<Uint8Array>
    const readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          controller = c
        },
        pull: () => {
          Latch.openUnsafe(drained)
        },
        cancel: () => {
          fiber.interruptUnsafe(undefined, HttpServerError.ClientAbort.annotation)
        }
      },
      { highWaterMark: 1 }
    )
    // Node sends the headers with the first chunk: a body that fails before it leaves the
    // client with no response at all (platform-node destroys the connection).
    let sent = false
    const send = () => {
      if (sent) return
      sent = true
      deliver(readable)
    }
    // `toHandled` writes the response uninterruptibly; writing a body that can wait on the
    // client is interruptible, as in platform-node, so a client abort or a scope close ends it.
    let written = 0
    return stream.pipe(
      Stream.runForEachArray((chunks) => {
        const chunk = concat(chunks)
        written += chunk.length
        // Node refuses the write that goes past the content-length.
        if (expected !== undefined && written > expected) return Effect.die(lengthMismatch(written, expected))
        controller.enqueue(chunk)
        send()
        if ((controller.desiredSize ?? 0) > 0) return Effect.void
        Latch.closeUnsafe(drained)
        return Latch.await(drained)
      }),
      // ... and an end short of it.
      Effect.andThen(
        Effect.suspend(() =>
          expected !== undefined && written !== expected ? Effect.die(lengthMismatch(written, expected)) : Effect.void
        )
      ),
      Effect.interruptible,
      Effect.matchCauseEffect({
        onSuccess: () =>
          Effect.sync(() => {
            send()
            controller.close()
          }),
        onFailure: (cause) =>
          Effect.andThen(
            Effect.sync(() =>
              controller.error(
                cause.reasons.length > 0 && cause.reasons.every(Cause.isInterruptReason)
                  ? new BodyDisconnected()
                  : new Error("the response body failed after its headers were sent")
              )
            ),
            Effect.failCause(cause)
          )
      })
    )
  })

/**
 * `middleware` with `observe` told the app's exit (`outer: false`: once its response is
 * written) and the middleware's own (`outer: true`: it may fail, or answer, without calling the
 * app). With middleware, toHandled answers a failed response and the fiber succeeds: the
 * failure is seen here, where production's middleware sees it. Both servers serve through it.
 */
export const observedMiddleware = <M extends (app: never) => unknown>(
  middleware: M,
  observe: (exit: Exit.Exit<unknown, unknown>, outer: boolean) => Effect.Effect<void>
): M => {
  type Any = Effect.Effect<unknown, unknown, unknown>
  const wrapped = middleware as unknown as (app: Any) => Any
  return ((app: Any) =>
    Effect.onExit(wrapped(Effect.onExit(app, (exit) => observe(exit, false))), (exit) =>
      observe(exit, true)
    )) as unknown as M
}

/** Hands an exit seen inside the middleware to the request's sink. */
const observeInSink = (exit: Exit.Exit<unknown, unknown>, outer: boolean): Effect.Effect<void> =>
  Effect.flatMap(Effect.service(Sink), (sink) => Effect.sync(() => sink.observed(exit, outer))) as Effect.Effect<void>

/**
 * Whether a handler's Cause holds a failure production did not turn into a response of the
 * app's choosing: a failure or defect that is not Respondable (a route not found is), or an
 * interrupt that is not the client's abort. The error response `toHandled` appends as a
 * defect does not count.
 */
export const isUnhandled = (cause: Cause.Cause<unknown>): boolean =>
  cause.reasons.some((reason) => {
    if (Cause.isFailReason(reason)) {
      return (
        !HttpServerRespondable.isRespondable(reason.error) && !HttpServerResponse.isHttpServerResponse(reason.error)
      )
    }
    if (Cause.isDieReason(reason)) {
      if (HttpServerResponse.isHttpServerResponse(reason.defect)) return false
      // A Respondable defect is an answer of the app's choosing when error reporters ignore it
      // (an HttpApi request that fails its schema: 400); one they report is a bug production
      // answers 500 for (an HttpApi success value that fails its schema).
      return !(HttpServerRespondable.isRespondable(reason.defect) && ErrorReporter.isIgnored(reason.defect))
    }
    return !reason.annotations.has(HttpServerError.ClientAbort.key)
  })

/** The handler's own Cause, without the error response `toHandled` appends to it as a defect. */
export const withoutResponseMarker = (cause: Cause.Cause<unknown>): Cause.Cause<unknown> =>
  Cause.fromReasons(
    cause.reasons.filter(
      (reason) => !(Cause.isDieReason(reason) && HttpServerResponse.isHttpServerResponse(reason.defect))
    )
  )

/**
 * A request body that arrives as the client produces it (a Stream body, sent chunked): each
 * `read` gives the next chunk, `undefined` at its end, and rejects if the body fails.
 */
export interface BodySource {
  readonly read: () => Promise<Uint8Array | undefined>
}

/** A request as the kit sends it: header lines already folded as Node's parser folds them. */
export interface OutgoingRequest {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array | BodySource | undefined
  /** The client's address, as the app's `remoteAddress` (default `127.0.0.1`). */
  readonly remoteAddress?: string | undefined
}

/** The outcome of one dispatched request. */
export type Dispatched =
  | {
      readonly _tag: "Response"
      readonly response: WireResponse
      readonly failure: Cause.Cause<unknown> | undefined
      /** The status the app had sent when its body failed midway (no whole response exists). */
      readonly cutOff?: number | undefined
    }
  /**
   * `answered`: the status the app had answered with when the bound fired, its handler still
   * running; `where`: where the handler was (see `makeWith`'s `describeFiber`).
   */
  | { readonly _tag: "Timeout"; readonly answered?: number | undefined; readonly where?: string | undefined }
  /** `stopped`: the app was served, and has stopped (the client's scope closed). */
  | { readonly _tag: "NotServing"; readonly stopped: boolean }

/** The outcome of one request dispatched with its body streamed. */
export type DispatchedStreaming =
  | {
      readonly _tag: "Response"
      readonly response: StreamingResponse
      /** Waits for the handler to end; its failure, if it failed (as `Dispatched`'s `failure`). */
      readonly ended: Effect.Effect<Cause.Cause<unknown> | undefined>
      /** The handler's fiber (read once the response is delivered; none when the app never saw the request). */
      readonly handler: () => Fiber.Fiber<void> | undefined
    }
  | { readonly _tag: "Reset"; readonly failure: Cause.Cause<unknown> | undefined }
  | { readonly _tag: "Timeout"; readonly where?: string | undefined }
  /** `stopped`: the app was served, and has stopped (the client's scope closed). */
  | { readonly _tag: "NotServing"; readonly stopped: boolean }

/** A WebSocket handshake's handler, started: it runs until it ends or is interrupted. */
export interface UpgradeStarted {
  readonly fiber: Fiber.Fiber<void>
  /** The handler's own Cause once it has ended: its fiber's, or the one seen inside the middleware. */
  readonly failure: (exit: Exit.Exit<void>) => Cause.Cause<unknown> | undefined
}

export interface InProcessServer {
  readonly service: HttpServer.HttpServer["Service"]
  /**
   * The requests whose handlers are still running, one line each (`GET http://testserver/path`);
   * once the app has stopped serving, those that were running when it stopped.
   */
  readonly inFlight: () => ReadonlyArray<string>
  /** Runs one request; the response comes whole once the handler ends. */
  readonly dispatch: (request: OutgoingRequest, timeoutMillis: number) => Effect.Effect<Dispatched>
  /** Runs one request; the response comes with its headers, a Stream body as it is written. */
  readonly dispatchStreaming: (request: OutgoingRequest, timeoutMillis: number) => Effect.Effect<DispatchedStreaming>
  /**
   * Starts the handler of a WebSocket handshake, whose request can `upgrade` through `upgrade`;
   * `deliver` receives a plain response (a rejection) whole. No bound: the caller waits.
   * `undefined` when the app is not served.
   */
  readonly startUpgrade: (
    request: OutgoingRequest,
    upgrade: ServerRequest.Upgrade,
    deliver: (response: WireResponse) => void
  ) => UpgradeStarted | undefined
}

/**
 * What the server learns of one handler inside the middleware: the app's own failure, and
 * whether its outcome is known (the app's response written and the app ended, or the
 * middleware ended without it).
 */
export class Handling {
  failure: Cause.Cause<unknown> | undefined = undefined
  /** The status the app had sent when its body, read whole, failed midway. */
  cutOff: number | undefined = undefined
  answered = false
  private appEnded = false
  private readonly listeners: Array<() => void> = []

  observe(exit: Exit.Exit<unknown, unknown>, outer: boolean): void {
    // The middleware's own exit counts when the app never ended (a middleware that died or
    // answered before calling it); after the app's end, the client has its answer, as in
    // production (a failure the middleware has afterwards is only on the server).
    if (outer && this.appEnded) return
    if (!outer) this.appEnded = true
    if (Exit.isFailure(exit)) this.failure = exit.cause
    if (this.answered) return
    this.answered = true
    for (const listener of this.listeners.splice(0)) listener()
  }

  onAnswered(listener: () => void): void {
    if (this.answered) listener()
    else this.listeners.push(listener)
  }
}

/** The address the app sees for its server: `testserver:80`, as a test's base URL names it. */
const address = NetAddress.inetAddressFromIpString("127.0.0.1", 80)

/** Builds the in-process server. */
export const make: Effect.Effect<InProcessServer> = Effect.suspend(() =>
  makeWith(
    () => 5_000,
    () => ""
  )
)

/**
 * Builds the in-process server. When the app stops serving, its handlers still running are
 * interrupted, as production's server scope interrupts them, and waited for at most
 * `closeBound()` milliseconds on the wall clock: a handler that ignores interruption fails the
 * close with `DrainTimeout` naming it, where production would wait for ever.
 */
export const makeWith = (
  closeBound: () => number,
  /** Where a handler whose request timed out was (its span, its sleep): the client's tracker knows. */
  describeFiber: (fiber: Fiber.Fiber<unknown, unknown>) => string
): Effect.Effect<InProcessServer> =>
  Effect.sync(() => {
    let serving:
      | {
          readonly handled: Effect.Effect<void, never, HttpServerRequest.HttpServerRequest | Sink>
          readonly context: Context.Context<never>
        }
      | undefined
    /** Whether the app was served and has stopped. */
    let stopped = false
    /** The handler fibers still running, with the request each serves. */
    const handlers = new Map<Fiber.Fiber<void>, string>()
    /** The requests in flight when the app stopped serving (its close then ends them). */
    let inFlightAtStop: ReadonlyArray<string> = []

    const closeHandlers = Effect.callback<void>((resume) => {
      const running = new Map(handlers)
      if (running.size === 0) return resume(Effect.void)
      const bound = closeBound()
      for (const fiber of running.keys()) fiber.interruptUnsafe()
      awaitBounded(Array.from(running.keys()), bound, (stuck) => {
        if (stuck.length === 0) return resume(Effect.void)
        resume(
          Effect.die(
            new DrainTimeout({
              timeout: Duration.millis(bound),
              running: stuck.map((fiber) => `the handler of ${running.get(fiber as Fiber.Fiber<void>)}`),
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
      address: address._tag === "Success" ? address.success : (undefined as never),
      serve: (httpEffect, middleware) =>
        Effect.gen(function* () {
          const serveScope = yield* Effect.scope
          // Added first, run last: the handlers still running are interrupted and waited for.
          yield* Scope.addFinalizer(serveScope, closeHandlers)
          const context = yield* Effect.context<never>()
          const observed = middleware === undefined ? undefined : observedMiddleware(middleware, observeInSink)
          const handled = HttpEffect.toHandled(httpEffect, handleResponse, observed) as Effect.Effect<
            void,
            never,
            HttpServerRequest.HttpServerRequest | Sink
          >
          serving = { handled, context }
          stopped = false
          yield* Scope.addFinalizer(
            serveScope,
            Effect.sync(() => {
              serving = undefined
              stopped = true
              inFlightAtStop = Array.from(handlers.values())
            })
          )
        })
    })

    /** Starts the handler fiber for one request; `deliver` receives the response as it is sent. */
    const start = (
      current: NonNullable<typeof serving>,
      outgoing: OutgoingRequest,
      streaming: boolean,
      deliver: (response: StreamingResponse) => void,
      upgrade?: ServerRequest.Upgrade
    ) => {
      const request = ServerRequest.make(
        outgoing.method,
        outgoing.url.pathname + outgoing.url.search,
        outgoing.headers,
        outgoing.body,
        upgrade,
        outgoing.remoteAddress
      )
      const state = new Handling()
      const context = Context.add(Context.add(current.context, HttpServerRequest.HttpServerRequest, request), Sink, {
        deliver,
        streaming,
        observed: (exit, outer) => state.observe(exit, outer),
        cutOff: (status) => {
          state.cutOff = status
        }
      })
      // Registered in the fiber's first step, before the handler runs: the fork can run the
      // handler (and what it wakes, such as a test closing the client) before it returns.
      const described = `${outgoing.method} ${outgoing.url.href}`
      const fiber = Effect.runForkWith(context)(
        Effect.withFiber((self) => {
          const handler = self as Fiber.Fiber<void>
          handlers.set(handler, described)
          handler.addObserver(() => handlers.delete(handler))
          return current.handled
        })
      )
      return { fiber, state }
    }

    /** The handler's own Cause: its fiber's, or the one seen inside the middleware. */
    const ownFailure = (state: Handling, exit: Exit.Exit<void>): Cause.Cause<unknown> | undefined =>
      Exit.isFailure(exit) ? exit.cause : state.failure

    /**
     * Starts the handler with `run` and waits for the outcome it settles, bounded on the wall
     * clock: the bound fires under TestClock too, and interrupts the handler as a client abort.
     * The handler starts inside the wait, so interrupting the wait at any point ends the
     * handler the same way. A bound beyond what a timer can hold (2^31-1 ms, about 24 days;
     * `Infinity`) is no bound.
     */
    const bounded = <A>(
      timeoutMillis: number,
      timedOut: (fiber: Fiber.Fiber<void>) => A,
      run: (settle: (outcome: A) => void) => Fiber.Fiber<void>
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
        const fiber = run(settle)
        if (!settled) {
          cancel = setWallTimer(timeoutMillis, () => {
            // Settled first: the interrupt may end the handler (and call its observer) at once.
            settle(timedOut(fiber))
            fiber.interruptUnsafe(undefined, HttpServerError.ClientAbort.annotation)
          })
        }
        return Effect.sync(() => {
          cancel()
          if (!settled) fiber.interruptUnsafe(undefined, HttpServerError.ClientAbort.annotation)
        })
      })

    const dispatch = (outgoing: OutgoingRequest, timeoutMillis: number): Effect.Effect<Dispatched> =>
      Effect.suspend(() => {
        const current = serving
        if (current === undefined) return Effect.succeed<Dispatched>({ _tag: "NotServing", stopped })
        let delivered: WireResponse | undefined
        // The response comes once the handler has ended (what a serve middleware does after the
        // app's response is written included), so that a test reading it finds the request's
        // work done: its spans ended, its logs written.
        return bounded<Dispatched>(
          timeoutMillis,
          (fiber) => ({ _tag: "Timeout", answered: delivered?.status, where: describeFiber(fiber) }),
          (settle) => {
            const { fiber, state } = start(current, outgoing, false, (response) => {
              delivered ??= response as WireResponse
            })
            fiber.addObserver((exit) => {
              const failure = ownFailure(state, exit)
              settle(
                delivered !== undefined
                  ? { _tag: "Response", response: delivered, failure }
                  : {
                      _tag: "Response",
                      response: { status: 500, headerLines: [], body: empty },
                      failure: failure ?? Cause.die(new Error("the handler ended without a response")),
                      cutOff: state.cutOff
                    }
              )
            })
            return fiber
          }
        )
      })

    const dispatchStreaming = (outgoing: OutgoingRequest, timeoutMillis: number): Effect.Effect<DispatchedStreaming> =>
      Effect.suspend(() => {
        const current = serving
        if (current === undefined) return Effect.succeed<DispatchedStreaming>({ _tag: "NotServing", stopped })
        return bounded<DispatchedStreaming>(
          timeoutMillis,
          (fiber) => ({ _tag: "Timeout", where: describeFiber(fiber) }),
          (settle) => {
            // The response may be delivered while the handler starts: `ended` reads the handler lazily.
            let handler: ReturnType<typeof start> | undefined
            // The handler's end as the client sees it: its fiber's, or (behind a middleware) the
            // app's, whatever the middleware still does after it.
            const ended = Effect.callback<Cause.Cause<unknown> | undefined>((resume) => {
              const { fiber, state } = handler!
              const done = () => resume(Effect.succeed(state.failure))
              if (state.answered) return done()
              state.onAnswered(done)
              fiber.addObserver((exit) => resume(Effect.succeed(ownFailure(state, exit))))
            })
            handler = start(current, outgoing, true, (response) =>
              settle({ _tag: "Response", response, ended, handler: () => handler!.fiber })
            )
            const { fiber, state } = handler
            // A handler that ends without a response: the connection closes with none, as when
            // platform-node destroys a response whose body failed before its first byte.
            fiber.addObserver((exit) => settle({ _tag: "Reset", failure: ownFailure(state, exit) }))
            return fiber
          }
        )
      })

    const startUpgrade = (
      outgoing: OutgoingRequest,
      upgrade: ServerRequest.Upgrade,
      deliver: (response: WireResponse) => void
    ): UpgradeStarted | undefined => {
      const current = serving
      if (current === undefined) return undefined
      // Not streamed: a rejection's body comes whole, as the client reads it before failing.
      const { fiber, state } = start(current, outgoing, false, (response) => deliver(response as WireResponse), upgrade)
      return { fiber, failure: (exit) => ownFailure(state, exit) }
    }

    const inFlight = () => (stopped ? inFlightAtStop : Array.from(handlers.values()))
    return { service, inFlight, dispatch, dispatchStreaming, startUpgrade }
  })
