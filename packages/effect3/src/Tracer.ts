/**
 * `TestTracer`: an Effect `Tracer` that records every span the app and the test create,
 * with accessors to assert on them.
 *
 * Every accessor is both a method of the service (`yield* TestTracer.TestTracer`) and a
 * function of this module that needs the service. A span is visible once it has ended; a
 * missing one fails with {@link SpanNotFound}. The recorder keeps the last 10,000 spans,
 * dropping the oldest finished ones first.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Tracer from "effect/Tracer"
import { SpanNotFound } from "./internal/errors.js"
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
  /** Nanoseconds, from the `Clock` service (TestClock under `it.scoped`). */
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
  readonly parentSpanId: string | undefined
  readonly startTime: bigint
  /** `undefined` while the span is open. */
  readonly endTime: bigint | undefined
  /**
   * How the span's effect ended; `undefined` while it is open. A failure keeps its `Cause`;
   * a success is `Exit.void`: the recorder does not keep the value (for a request's span,
   * the whole response).
   */
  readonly exit: Exit.Exit<unknown, unknown> | undefined
  /** The request whose handler (or background work) created the span, if any. */
  readonly owner: string | undefined
}

/**
 * Where {@link findSpan} and {@link findSpans} look: `rootId` limits the search to that
 * span's subtree (e.g. one request's, `response.spanId`), `parentId` to that span's direct
 * children. Both may be given.
 *
 * @since 0.2.0
 * @category models
 */
export interface FindSpanOptions {
  readonly rootId?: string | undefined
  readonly parentId?: string | undefined
}

/**
 * Which of the span's events named `name` {@link getEvent} returns: `index` counts from 0
 * (the default, the first one).
 *
 * @since 0.2.0
 * @category models
 */
export interface GetEventOptions {
  readonly index?: number | undefined
}

/**
 * No finished span matches: the message lists the finished spans and the ones still open.
 *
 * @since 0.1.0
 * @category errors
 */
export { SpanNotFound }

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
 * import { Effect } from "effect"
 * import { TestTracer } from "effect-http-testkit"
 *
 * it.effect("the service's methods", () =>
 *   Effect.gen(function* () {
 *     const tracer = yield* TestTracer.TestTracer
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
  /** Whether any span of the app's tracked work is still open. See {@link hasOpenSpans}. */
  readonly hasOpenSpans: Effect.Effect<boolean>
  /** The finished span tree as text. See {@link render}. */
  readonly render: (rootId?: string) => Effect.Effect<string>
}

/**
 * The service tag. Every `TestClient` layer provides it; {@link layer} provides it alone.
 *
 * @since 0.1.0
 * @category tags
 */
export class TestTracer extends Context.Tag("effect-http-testkit/TestTracer")<TestTracer, Service>() {}

// ---------------------------------------------------------------------------
// layers
// ---------------------------------------------------------------------------

/**
 * A fresh recording tracer, installed as the Effect tracer for what the layer is provided
 * to. `TestClient.layer` includes one; use this one for code that is not HTTP.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { Effect, Option } from "effect"
 * import { TestTracer } from "effect-http-testkit"
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
export const layer: Layer.Layer<TestTracer> = Layer.unwrapEffect(
  Effect.sync(() => {
    const recorder = new internal.Recorder()
    return Layer.merge(Layer.succeed(TestTracer, internal.makeService(recorder)), Layer.setTracer(recorder.tracer))
  })
)

// ---------------------------------------------------------------------------
// accessors
// ---------------------------------------------------------------------------

/**
 * Every finished span, in start order.
 *
 * @since 0.1.0
 * @category accessors
 */
export const spans: Effect.Effect<ReadonlyArray<RecordedSpan>, never, TestTracer> = Effect.flatMap(
  TestTracer,
  (tracer) => tracer.spans
)

/**
 * The finished span with this id (e.g. `response.spanId`, the request's `http.server` span).
 * Fails with {@link SpanNotFound} when there is none, or while the span is still open.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServerResponse } from "@effect/platform"
 * import { expect, it } from "@effect/vitest"
 * import { Effect, Option } from "effect"
 * import { TestClient, TestTracer } from "effect-http-testkit"
 *
 * const app = HttpRouter.empty.pipe(HttpRouter.get("/users/:id", HttpServerResponse.text("Ada")))
 *
 * it.scoped("the request's server span", () =>
 *   Effect.gen(function* () {
 *     const r = yield* TestClient.get("/users/1")
 *     const span = yield* TestTracer.getSpan(r.spanId)
 *     expect(span.name).toBe("http.server GET")
 *     expect(yield* TestTracer.getAttribute(r.spanId, "http.route")).toEqual(Option.some("/users/:id"))
 *   }).pipe(Effect.provide(TestClient.layer(app)))
 * )
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const getSpan = (spanId: string): Effect.Effect<RecordedSpan, SpanNotFound, TestTracer> =>
  Effect.flatMap(TestTracer, (tracer) => tracer.getSpan(spanId))

/**
 * The first finished span named `name`, in start order, within `options` (see
 * {@link FindSpanOptions}). Fails with {@link SpanNotFound}, listing the finished spans and
 * the ones still open, when none matches. To assert on how many match, use
 * {@link findSpans}.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServerResponse } from "@effect/platform"
 * import { expect, it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { TestClient, TestTracer } from "effect-http-testkit"
 *
 * const app = HttpRouter.empty.pipe(
 *   HttpRouter.get("/users", Effect.as(Effect.withSpan(Effect.void, "db.query"), HttpServerResponse.text("[]")))
 * )
 *
 * it.scoped("the query runs inside the request", () =>
 *   Effect.gen(function* () {
 *     const r = yield* TestClient.get("/users")
 *     const query = yield* TestTracer.findSpan("db.query", { rootId: r.spanId })
 *     expect(query.parentSpanId).toBe(r.spanId)
 *   }).pipe(Effect.provide(TestClient.layer(app)))
 * )
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const findSpan = (
  name: string,
  options?: FindSpanOptions
): Effect.Effect<RecordedSpan, SpanNotFound, TestTracer> =>
  Effect.flatMap(TestTracer, (tracer) => tracer.findSpan(name, options))

/**
 * Every finished span named `name`, in start order, within `options` (see
 * {@link FindSpanOptions}); an empty array when none matches, so a failed assertion shows
 * what was found.
 *
 * @example
 * ```ts
 * import { HttpRouter, HttpServerResponse } from "@effect/platform"
 * import { expect, it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { TestClient, TestTracer } from "effect-http-testkit"
 *
 * const query = Effect.withSpan(Effect.void, "db.query")
 * const app = HttpRouter.empty.pipe(
 *   HttpRouter.get("/page", Effect.as(Effect.zipRight(query, query), HttpServerResponse.text("ok")))
 * )
 *
 * it.scoped("one page, two queries", () =>
 *   Effect.gen(function* () {
 *     const r = yield* TestClient.get("/page")
 *     const queries = yield* TestTracer.findSpans("db.query", { rootId: r.spanId })
 *     expect(queries).toHaveLength(2)
 *   }).pipe(Effect.provide(TestClient.layer(app)))
 * )
 * ```
 *
 * @since 0.2.0
 * @category accessors
 */
export const findSpans = (
  name: string,
  options?: FindSpanOptions
): Effect.Effect<ReadonlyArray<RecordedSpan>, never, TestTracer> =>
  Effect.flatMap(TestTracer, (tracer) => tracer.findSpans(name, options))

/**
 * The value of the span's attribute `key`, `Option.none()` when it is not set. Meant for
 * assertions: `expect(...).toEqual(Option.some("/users/:id"))` shows the actual value when
 * it differs.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { Effect, Option } from "effect"
 * import { TestTracer } from "effect-http-testkit"
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
 * @since 0.2.0
 * @category accessors
 */
export const getAttribute = (
  spanId: string,
  key: string
): Effect.Effect<Option.Option<unknown>, SpanNotFound, TestTracer> =>
  Effect.flatMap(TestTracer, (tracer) => tracer.getAttribute(spanId, key))

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
): Effect.Effect<boolean, SpanNotFound, TestTracer> =>
  Effect.flatMap(TestTracer, (tracer) => tracer.hasAttribute(spanId, key, value))

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
  Effect.flatMap(TestTracer, (tracer) => tracer.getEvents(spanId, options))

/**
 * One event named `name` on the span: the first, or the `index`th (from 0). Fails with
 * {@link SpanNotFound}, listing the span's events, when there is no such event.
 *
 * @example
 * ```ts
 * import { expect, it } from "@effect/vitest"
 * import { Effect } from "effect"
 * import { TestTracer } from "effect-http-testkit"
 *
 * it.effect("events", () =>
 *   Effect.gen(function* () {
 *     yield* Effect.withSpan(Effect.zipRight(Effect.log("retry"), Effect.log("retry")), "call")
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
export const getEvent: {
  (spanId: string, name: string, options?: GetEventOptions): Effect.Effect<SpanEvent, SpanNotFound, TestTracer>
  /**
   * @deprecated Since 0.2.0: pass the index as an option, `getEvent(id, name, { index })`.
   */
  (spanId: string, name: string, index: number): Effect.Effect<SpanEvent, SpanNotFound, TestTracer>
} = (
  spanId: string,
  name: string,
  options?: GetEventOptions | number
): Effect.Effect<SpanEvent, SpanNotFound, TestTracer> =>
  Effect.flatMap(TestTracer, (tracer) =>
    tracer.getEvent(spanId, name, typeof options === "number" ? { index: options } : options)
  )

/**
 * Whether the span has an event named `name`. A failed `expect(...).toBe(true)` only says
 * `false`: to see the events there are, assert on {@link getEvents} instead.
 *
 * @since 0.1.0
 * @category accessors
 */
export const hasEvent = (spanId: string, name: string): Effect.Effect<boolean, SpanNotFound, TestTracer> =>
  Effect.flatMap(TestTracer, (tracer) => tracer.hasEvent(spanId, name))

/**
 * Whether any span of the app's tracked work (its handlers and the fibers they forked) is
 * still open.
 *
 * @since 0.1.0
 * @category accessors
 */
export const hasOpenSpans: Effect.Effect<boolean, never, TestTracer> = Effect.flatMap(
  TestTracer,
  (tracer) => tracer.hasOpenSpans
)

/**
 * The finished span tree as text — names, durations, failures, attributes and events —
 * from `rootId` (e.g. `response.spanId`) or from every root.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { TestTracer } from "effect-http-testkit"
 *
 * const printTree = Effect.flatMap(TestTracer.render(), (tree) => Effect.log(`spans:\n${tree}`))
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const render = (rootId?: string): Effect.Effect<string, never, TestTracer> =>
  Effect.flatMap(TestTracer, (tracer) => tracer.render(rootId))
