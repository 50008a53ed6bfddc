/**
 * `TestTracer` for Effect 4: a recording `Tracer` for tests, with accessors to assert on the
 * spans the app and the test create.
 *
 * Provide {@link layer} to the app's layer (`TestClient.layer(app).pipe(Layer.provideMerge(
 * TestTracer.layer))`): Effect 4's tracer is a `Context.Reference`, and a request's handler
 * runs with the references its server was built with. Every accessor is both a method of the
 * service (`yield* Effect.service(TestTracer.TestTracer)`) and a function of this module that
 * needs the service. A span is visible once it has ended; a missing one fails with
 * {@link SpanNotFound}. The recorder keeps the last 10,000 spans, dropping the oldest
 * finished ones first.
 *
 * As in production on Effect 4, a request's server span is named after its method (`"GET"`),
 * has kind `"server"` and, by default, no header attributes; the platform `HttpClient`'s
 * client span has the same name with kind `"client"`, and parents the server span through the
 * trace headers it sends.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import * as internal from "./internal/tracer.js"

// ---------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------

/**
 * An event recorded on a span (an `Effect.log` inside a span is one).
 *
 * @since 0.1.0
 * @category models
 */
export interface SpanEvent {
  readonly name: string
  /** Nanoseconds, from the `Clock` service (`TestClock` under `it.effect`). */
  readonly time: bigint
  readonly attributes: Readonly<Record<string, unknown>>
}

/**
 * A recorded span: an Effect `Tracer.Span` plus what a test asserts on.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedSpan extends Tracer.Span {
  readonly events: ReadonlyArray<SpanEvent>
  /** The parent's id: a span of this tracer, or the one a request's trace headers named. */
  readonly parentSpanId: string | undefined
  readonly startTime: bigint
  /** `undefined` while the span is open. */
  readonly endTime: bigint | undefined
  /**
   * How the span's effect ended; `undefined` while it is open. A failure keeps its `Cause`;
   * a success is `Exit.void`: the recorder does not keep the value (for a server span, the
   * whole response). As in production, a server span whose response is a 5xx has failed.
   */
  readonly exit: Exit.Exit<unknown, unknown> | undefined
  /**
   * The request whose handler, or a fiber it forked, created the span (`"GET /users/1"`, the
   * method and the URL the app saw); `undefined` for the test's own spans.
   */
  readonly owner: string | undefined
}

/**
 * Where {@link findSpan} and {@link findSpans} look: `rootId` limits the search to that
 * span's subtree, `parentId` to that span's direct children, `kind` to spans of that kind
 * (Effect 4 names both a client span and a server span after the method: `{ kind: "server" }`
 * tells them apart). Any of them may be given.
 *
 * @since 0.1.0
 * @category models
 */
export interface FindSpanOptions {
  readonly rootId?: string | undefined
  readonly parentId?: string | undefined
  readonly kind?: Tracer.SpanKind | undefined
}

/**
 * Which of the span's events named `name` {@link getEvent} returns: `index` counts from 0
 * (the default, the first one).
 *
 * @since 0.1.0
 * @category models
 */
export interface GetEventOptions {
  readonly index?: number | undefined
}

/**
 * Settings of {@link layerWith}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * How many spans the tracer keeps (default 10,000): past it, the oldest finished ones are
   * dropped, and a lookup that misses one says so.
   */
  readonly spanLimit?: number | undefined
}

/**
 * No finished span matches: the message lists the finished spans and the ones still open.
 *
 * @since 0.1.0
 * @category errors
 */
export import SpanNotFound = internal.SpanNotFound

/**
 * {@link layerWith} was given options it cannot use: the message says which and why.
 *
 * @since 0.1.0
 * @category errors
 */
export import InvalidOptions = internal.InvalidOptions

// ---------------------------------------------------------------------------
// service
// ---------------------------------------------------------------------------

/**
 * The `TestTracer` service: what the recording tracer has seen. Each method is also a
 * function of this module (`TestTracer.getSpan(id)`), documented there.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { TestTracer } from "@effect-http-testkit/effect4"
 * import { Effect } from "effect"
 *
 * it.effect("the service's methods", () =>
 *   Effect.gen(function* () {
 *     const tracer = yield* Effect.service(TestTracer.TestTracer)
 *     yield* Effect.withSpan(Effect.void, "job")
 *     const job = yield* tracer.findSpan("job")
 *     expect(yield* tracer.render(job.spanId)).toContain("job")
 *   }).pipe(Effect.provide(TestTracer.layer))
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Every finished span, in start order. See {@link spans}. */
  readonly spans: Effect.Effect<ReadonlyArray<RecordedSpan>>
  /** The finished span with this id. See {@link getSpan}. */
  readonly getSpan: (spanId: string) => Effect.Effect<RecordedSpan, SpanNotFound>
  /** The first finished span named `name`. See {@link findSpan}. */
  readonly findSpan: (name: string, options?: FindSpanOptions) => Effect.Effect<RecordedSpan, SpanNotFound>
  /** Every finished span named `name`. See {@link findSpans}. */
  readonly findSpans: (name: string, options?: FindSpanOptions) => Effect.Effect<ReadonlyArray<RecordedSpan>>
  /** The attribute's value, `Option.none()` when unset. See {@link getAttribute}. */
  readonly getAttribute: (spanId: string, key: string) => Effect.Effect<Option.Option<unknown>, SpanNotFound>
  /** Whether the span has the attribute (with this value). See {@link hasAttribute}. */
  readonly hasAttribute: (spanId: string, key: string, value?: unknown) => Effect.Effect<boolean, SpanNotFound>
  /** The span's events. See {@link getEvents}. */
  readonly getEvents: (
    spanId: string,
    options?: { readonly name?: string | undefined }
  ) => Effect.Effect<ReadonlyArray<SpanEvent>, SpanNotFound>
  /** One event named `name`. See {@link getEvent}. */
  readonly getEvent: (spanId: string, name: string, options?: GetEventOptions) => Effect.Effect<SpanEvent, SpanNotFound>
  /** Whether the span has an event named `name`. See {@link hasEvent}. */
  readonly hasEvent: (spanId: string, name: string) => Effect.Effect<boolean, SpanNotFound>
  /** Whether any span of the app's work is still open. See {@link hasOpenSpans}. */
  readonly hasOpenSpans: Effect.Effect<boolean>
  /** The finished span tree as text. See {@link render}. */
  readonly render: (rootId?: string) => Effect.Effect<string>
}

/**
 * The service tag, provided by {@link layer} and {@link layerWith}.
 *
 * @since 0.1.0
 * @category services
 */
export class TestTracer extends Context.Service<TestTracer, Service>()("@effect-http-testkit/effect4/TestTracer") {}

// ---------------------------------------------------------------------------
// layers
// ---------------------------------------------------------------------------

const build = (limit: number) =>
  Effect.sync(() => {
    const recorder = new internal.Recorder(limit)
    return Context.make(TestTracer, internal.makeService(recorder)).pipe(Context.add(Tracer.Tracer, recorder.tracer))
  })

/**
 * A fresh recording tracer, installed as the Effect tracer (`Tracer.Tracer`) for what the
 * layer is provided to, with the `TestTracer` service to read it.
 *
 * For an HTTP app, provide it to the app's layer, so the server, and every request's handler,
 * runs with it: `TestClient.layer(app).pipe(Layer.provideMerge(TestTracer.layer))`. With
 * `TestClient.layerTest`, the test serves the app itself: provide both to the test. For code
 * that is not HTTP, provide it alone.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { TestTracer } from "@effect-http-testkit/effect4"
 * import { Effect, Option } from "effect"
 *
 * const nightly = Effect.log("starting").pipe(
 *   Effect.withSpan("job", { attributes: { "job.kind": "nightly" } })
 * )
 *
 * it.effect("the job is traced", () =>
 *   Effect.gen(function* () {
 *     yield* nightly
 *     const job = yield* TestTracer.findSpan("job")
 *     expect(yield* TestTracer.getAttribute(job.spanId, "job.kind")).toEqual(Option.some("nightly"))
 *     expect((yield* TestTracer.getEvents(job.spanId)).map((event) => event.name)).toEqual(["starting"])
 *   }).pipe(Effect.provide(TestTracer.layer))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<TestTracer> = Layer.effectContext(build(10_000))

/**
 * {@link layer} with settings: `spanLimit`, how many spans it keeps. Options it cannot use
 * fail the layer with {@link InvalidOptions} saying why.
 *
 * @example
 * ```ts
 * import { TestClient, TestTracer } from "@effect-http-testkit/effect4"
 * import { Layer } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 *
 * const app = HttpRouter.add("GET", "/", HttpServerResponse.text("ok"))
 * const TestApp = TestClient.layer(app).pipe(Layer.provideMerge(TestTracer.layerWith({ spanLimit: 500 })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: Options): Layer.Layer<TestTracer, InvalidOptions> =>
  Layer.effectContext(
    Effect.suspend(() => {
      const limit = internal.spanLimitOf(options)
      return typeof limit === "number" ? build(limit) : Effect.fail(limit)
    })
  )

// ---------------------------------------------------------------------------
// accessors
// ---------------------------------------------------------------------------

const withService = <A, E>(f: (tracer: Service) => Effect.Effect<A, E>): Effect.Effect<A, E, TestTracer> =>
  Effect.flatMap(Effect.service(TestTracer), f)

/**
 * Every finished span, in start order.
 *
 * @since 0.1.0
 * @category accessors
 */
export const spans: Effect.Effect<ReadonlyArray<RecordedSpan>, never, TestTracer> = withService(
  (tracer) => tracer.spans
)

/**
 * The finished span with this id. Fails with {@link SpanNotFound} when there is none, or
 * while the span is still open.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { TestTracer } from "@effect-http-testkit/effect4"
 * import { Effect } from "effect"
 *
 * it.effect("a span by id", () =>
 *   Effect.gen(function* () {
 *     const id = yield* Effect.withSpan(Effect.map(Effect.currentSpan, (span) => span.spanId), "step")
 *     expect((yield* TestTracer.getSpan(id)).name).toBe("step")
 *   }).pipe(Effect.provide(TestTracer.layer))
 * )
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const getSpan = (spanId: string): Effect.Effect<RecordedSpan, SpanNotFound, TestTracer> =>
  withService((tracer) => tracer.getSpan(spanId))

/**
 * The first finished span named `name`, in start order, within `options` (see
 * {@link FindSpanOptions}). Fails with {@link SpanNotFound}, listing the finished spans and
 * the ones still open, when none matches. To assert on how many match, use
 * {@link findSpans}.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { TestClient, TestTracer } from "@effect-http-testkit/effect4"
 * import { Effect, Layer, Option } from "effect"
 * import { HttpRouter, HttpServerResponse } from "effect/http"
 *
 * const app = HttpRouter.add(
 *   "GET",
 *   "/users/:id",
 *   Effect.as(Effect.withSpan(Effect.void, "db.query"), HttpServerResponse.text("Ada"))
 * )
 *
 * it.effect("the query runs inside the request", () =>
 *   Effect.gen(function* () {
 *     yield* TestClient.get("/users/1")
 *     const server = yield* TestTracer.findSpan("GET", { kind: "server" })
 *     expect(yield* TestTracer.getAttribute(server.spanId, "http.route")).toEqual(Option.some("/users/:id"))
 *     const query = yield* TestTracer.findSpan("db.query", { rootId: server.spanId })
 *     expect(query.parentSpanId).toBe(server.spanId)
 *   }).pipe(Effect.provide(TestClient.layer(app).pipe(Layer.provideMerge(TestTracer.layer))))
 * )
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const findSpan = (
  name: string,
  options?: FindSpanOptions
): Effect.Effect<RecordedSpan, SpanNotFound, TestTracer> => withService((tracer) => tracer.findSpan(name, options))

/**
 * Every finished span named `name`, in start order, within `options` (see
 * {@link FindSpanOptions}); an empty array when none matches, so a failed assertion shows
 * what was found.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { TestTracer } from "@effect-http-testkit/effect4"
 * import { Effect } from "effect"
 *
 * const query = Effect.withSpan(Effect.void, "db.query")
 *
 * it.effect("one page, two queries", () =>
 *   Effect.gen(function* () {
 *     yield* Effect.withSpan(Effect.andThen(query, query), "page")
 *     const page = yield* TestTracer.findSpan("page")
 *     expect(yield* TestTracer.findSpans("db.query", { rootId: page.spanId })).toHaveLength(2)
 *   }).pipe(Effect.provide(TestTracer.layer))
 * )
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const findSpans = (
  name: string,
  options?: FindSpanOptions
): Effect.Effect<ReadonlyArray<RecordedSpan>, never, TestTracer> =>
  withService((tracer) => tracer.findSpans(name, options))

/**
 * The value of the span's attribute `key`, `Option.none()` when it is not set. Meant for
 * assertions: `expect(...).toEqual(Option.some("/users/:id"))` shows the actual value when
 * it differs.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { TestTracer } from "@effect-http-testkit/effect4"
 * import { Effect, Option } from "effect"
 *
 * it.effect("attributes", () =>
 *   Effect.gen(function* () {
 *     yield* Effect.withSpan(Effect.annotateCurrentSpan("user.id", 42), "load-user")
 *     const span = yield* TestTracer.findSpan("load-user")
 *     expect(yield* TestTracer.getAttribute(span.spanId, "user.id")).toEqual(Option.some(42))
 *     expect(yield* TestTracer.getAttribute(span.spanId, "user.name")).toEqual(Option.none())
 *   }).pipe(Effect.provide(TestTracer.layer))
 * )
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const getAttribute = (
  spanId: string,
  key: string
): Effect.Effect<Option.Option<unknown>, SpanNotFound, TestTracer> =>
  withService((tracer) => tracer.getAttribute(spanId, key))

/**
 * Whether the span has the attribute (with this value, compared with `Object.is` or, for
 * objects, structurally by JSON). A failed `expect(...).toBe(true)` only says `false`: to
 * see the actual value, assert on {@link getAttribute} instead.
 *
 * @since 0.1.0
 * @category accessors
 */
export const hasAttribute = (
  spanId: string,
  key: string,
  value?: unknown
): Effect.Effect<boolean, SpanNotFound, TestTracer> => withService((tracer) => tracer.hasAttribute(spanId, key, value))

/**
 * The span's events, in order, optionally only those named `name`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const getEvents = (
  spanId: string,
  options?: { readonly name?: string | undefined }
): Effect.Effect<ReadonlyArray<SpanEvent>, SpanNotFound, TestTracer> =>
  withService((tracer) => tracer.getEvents(spanId, options))

/**
 * One event named `name` on the span: the first, or the `index`th (from 0). Fails with
 * {@link SpanNotFound}, listing the span's events, when there is no such event.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { TestTracer } from "@effect-http-testkit/effect4"
 * import { Effect } from "effect"
 *
 * it.effect("events", () =>
 *   Effect.gen(function* () {
 *     yield* Effect.withSpan(Effect.andThen(Effect.log("retry"), Effect.log("retry")), "call")
 *     const call = yield* TestTracer.findSpan("call")
 *     const second = yield* TestTracer.getEvent(call.spanId, "retry", { index: 1 })
 *     expect(second.name).toBe("retry")
 *   }).pipe(Effect.provide(TestTracer.layer))
 * )
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const getEvent = (
  spanId: string,
  name: string,
  options?: GetEventOptions
): Effect.Effect<SpanEvent, SpanNotFound, TestTracer> => withService((tracer) => tracer.getEvent(spanId, name, options))

/**
 * Whether the span has an event named `name`. A failed `expect(...).toBe(true)` only says
 * `false`: to see the events there are, assert on {@link getEvents} instead.
 *
 * @since 0.1.0
 * @category accessors
 */
export const hasEvent = (spanId: string, name: string): Effect.Effect<boolean, SpanNotFound, TestTracer> =>
  withService((tracer) => tracer.hasEvent(spanId, name))

/**
 * Whether any span of the app's work is still open: a span a request's handler, or a fiber
 * it forked, started (see {@link RecordedSpan.owner}).
 *
 * @since 0.1.0
 * @category accessors
 */
export const hasOpenSpans: Effect.Effect<boolean, never, TestTracer> = withService((tracer) => tracer.hasOpenSpans)

/**
 * The finished span tree as text (names, durations, failures, attributes and events) from
 * `rootId` or from every root. A server span sits under the client span whose trace headers
 * its request carried.
 *
 * @example
 * ```ts
 * import { TestTracer } from "@effect-http-testkit/effect4"
 * import { Effect } from "effect"
 *
 * const printTree = Effect.flatMap(TestTracer.render(), (tree) => Effect.log(`spans:\n${tree}`))
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const render = (rootId?: string): Effect.Effect<string, never, TestTracer> =>
  withService((tracer) => tracer.render(rootId))
