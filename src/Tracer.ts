/**
 * `TestTracer`: an Effect `Tracer` that records every span the app and the test create,
 * with accessors to assert on them.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Tracer from "effect/Tracer"
import { SpanNotFound } from "./internal/errors.js"
import { type RecordedSpanImpl, Recorder, render as renderTree } from "./internal/tracer.js"

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
  /** How the span's effect ended; `undefined` while it is open. */
  readonly exit: Exit.Exit<unknown, unknown> | undefined
  /** The request whose handler (or background work) created the span, if any. */
  readonly owner: string | undefined
}

/**
 * No finished span matches: the message lists the finished spans and the ones still open.
 *
 * @since 0.1.0
 * @category errors
 */
export { SpanNotFound }

/**
 * The service: the recorder behind the tracer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** @internal */
  readonly recorder: Recorder
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TestTracer extends Context.Tag("effect-http-testkit/TestTracer")<TestTracer, Service>() {}

/**
 * A fresh recording tracer, installed as the Effect tracer for what the layer is provided
 * to. `TestClient.layer` includes one; use this one for code that is not HTTP.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<TestTracer> = Layer.unwrapEffect(
  Effect.sync(() => {
    const recorder = new Recorder()
    return Layer.merge(Layer.succeed(TestTracer, { recorder }), Layer.setTracer(recorder.tracer))
  })
)

const withRecorder = <A, E>(f: (recorder: Recorder) => Effect.Effect<A, E>): Effect.Effect<A, E, TestTracer> =>
  Effect.flatMap(TestTracer, (service) => f(service.recorder))

const notFound = (recorder: Recorder, query: string) =>
  new SpanNotFound({
    query,
    known: recorder.finished().map((span) => span.name),
    open: Array.from(recorder.openAppSpans, (span) => `"${span.name}"`)
  })

const lookup = (recorder: Recorder, id: string): Effect.Effect<RecordedSpanImpl, SpanNotFound> => {
  const span = recorder.byId.get(id)
  if (span !== undefined && span.status._tag === "Ended") return Effect.succeed(span)
  return Effect.fail(
    notFound(
      recorder,
      id === ""
        ? 'with id "" (the response carries no span id: tracing was disabled for that request)'
        : span === undefined
          ? `with id ${id}`
          : `with id ${id}: "${span.name}" is still open`
    )
  )
}

/**
 * Every finished span, in start order.
 *
 * @since 0.1.0
 * @category accessors
 */
export const spans: Effect.Effect<ReadonlyArray<RecordedSpan>, never, TestTracer> = withRecorder((recorder) =>
  Effect.sync(() => recorder.finished())
)

/**
 * The finished span with this id (e.g. `response.spanId`, the request's `http.server` span).
 *
 * @since 0.1.0
 * @category accessors
 */
export const getSpan = (spanId: string): Effect.Effect<RecordedSpan, SpanNotFound, TestTracer> =>
  withRecorder((recorder) => lookup(recorder, spanId))

/**
 * The first finished span named `name`, in start order. `rootId` limits the search to that
 * span's subtree (e.g. one request's), `parentId` to that span's direct children.
 *
 * @since 0.1.0
 * @category accessors
 */
export const findSpan = (
  name: string,
  options?: { readonly rootId?: string | undefined; readonly parentId?: string | undefined }
): Effect.Effect<RecordedSpan, SpanNotFound, TestTracer> =>
  withRecorder((recorder) =>
    Effect.suspend(() => {
      const rootId = options?.rootId
      const parentId = options?.parentId
      const found = recorder
        .finished()
        .find(
          (span) =>
            span.name === name &&
            (parentId === undefined || span.parentSpanId === parentId) &&
            (rootId === undefined || recorder.isWithin(span, rootId))
        )
      if (found !== undefined) return Effect.succeed(found)
      const scope = [
        rootId === undefined ? "" : ` under ${rootId}`,
        parentId === undefined ? "" : ` with parent ${parentId}`
      ]
      return Effect.fail(notFound(recorder, `named "${name}"${scope.join("")}`))
    })
  )

/**
 * Whether the span has the attribute (with this value, compared with `Object.is` or, for
 * objects, structurally by JSON).
 *
 * @since 0.1.0
 * @category accessors
 */
export const hasAttribute = (
  spanId: string,
  key: string,
  value?: unknown
): Effect.Effect<boolean, SpanNotFound, TestTracer> =>
  withRecorder((recorder) =>
    Effect.map(lookup(recorder, spanId), (span) => {
      if (!span.attributes.has(key)) return false
      if (value === undefined) return true
      const actual = span.attributes.get(key)
      return Object.is(actual, value) || JSON.stringify(actual) === JSON.stringify(value)
    })
  )

/**
 * The span's events, optionally only those named `name`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const getEvents = (
  spanId: string,
  options?: { readonly name?: string | undefined }
): Effect.Effect<ReadonlyArray<SpanEvent>, SpanNotFound, TestTracer> =>
  withRecorder((recorder) =>
    Effect.map(lookup(recorder, spanId), (span) =>
      options?.name === undefined ? span.events : span.events.filter((event) => event.name === options.name)
    )
  )

/**
 * The `index`th (default first) event named `name` on the span.
 *
 * @since 0.1.0
 * @category accessors
 */
export const getEvent = (spanId: string, name: string, index = 0): Effect.Effect<SpanEvent, SpanNotFound, TestTracer> =>
  withRecorder((recorder) =>
    Effect.flatMap(lookup(recorder, spanId), (span) => {
      const event = span.events.filter((e) => e.name === name)[index]
      return event !== undefined
        ? Effect.succeed(event)
        : Effect.fail(
            new SpanNotFound({
              query: `event "${name}" #${index} on span "${span.name}" (${spanId})`,
              known: span.events.map((e) => `event "${e.name}"`),
              open: []
            })
          )
    })
  )

/**
 * Whether the span has an event named `name`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const hasEvent = (spanId: string, name: string): Effect.Effect<boolean, SpanNotFound, TestTracer> =>
  withRecorder((recorder) => Effect.map(lookup(recorder, spanId), (span) => span.events.some((e) => e.name === name)))

/**
 * Whether any span of the app's tracked work is still open.
 *
 * @since 0.1.0
 * @category accessors
 */
export const hasOpenSpans: Effect.Effect<boolean, never, TestTracer> = withRecorder((recorder) =>
  Effect.sync(() => recorder.openAppSpans.size > 0)
)

/**
 * The finished span tree as text — names, durations, failures, attributes and events —
 * from `rootId` (e.g. `response.spanId`) or from every root.
 *
 * @since 0.1.0
 * @category accessors
 */
export const render = (rootId?: string): Effect.Effect<string, never, TestTracer> =>
  withRecorder((recorder) => Effect.sync(() => renderTree(recorder.finished(), rootId)))
