import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { FindSpanOptions, RecordedSpan, Service, SpanEvent } from "../Tracer.js"
import { SpanNotFound } from "./errors.js"

/**
 * Decides, when a span starts, whether it belongs to the app's tracked work (a request
 * handler or a fiber it forked) and to which request. Set by the work tracker.
 *
 * @internal
 */
export type OwnerOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>) => string | undefined

let ids = 0
const prefix = Math.floor(Math.random() * 0xffffffff)
  .toString(16)
  .padStart(8, "0")
const nextId = (length: number) => `${prefix}${(++ids).toString(16).padStart(length - 8, "0")}`

/** @internal */
export class RecordedSpanImpl implements RecordedSpan {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  readonly sampled = true
  status: Tracer.SpanStatus
  readonly attributes = new Map<string, unknown>()
  readonly events: Array<SpanEvent> = []
  readonly links: Array<Tracer.SpanLink>

  constructor(
    private readonly recorder: Recorder,
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: Iterable<Tracer.SpanLink>,
    readonly startTime: bigint,
    readonly kind: Tracer.SpanKind,
    /** The request whose work created this span, when it belongs to the app's tracked work. */
    readonly owner: string | undefined,
    /** The request handler whose work opened this span, if any. */
    readonly root: Fiber.RuntimeFiber<unknown, unknown> | undefined
  ) {
    this.status = { _tag: "Started", startTime }
    this.traceId = parent._tag === "Some" ? parent.value.traceId : nextId(32)
    this.spanId = nextId(16)
    this.links = Array.from(links)
  }

  get parentSpanId(): string | undefined {
    return this.parent._tag === "Some" ? this.parent.value.spanId : undefined
  }

  get endTime(): bigint | undefined {
    return this.status._tag === "Ended" ? this.status.endTime : undefined
  }

  get exit(): Exit.Exit<unknown, unknown> | undefined {
    return this.status._tag === "Ended" ? this.status.exit : undefined
  }

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.status._tag === "Ended") return
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
    this.recorder.ended(this)
  }

  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }

  event(name: string, time: bigint, attributes?: Record<string, unknown>): void {
    this.events.push({ name, time, attributes: attributes ?? {} })
  }

  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }
}

/**
 * Records every span the tracer creates. Finished spans are kept in start order, bounded
 * (oldest dropped first) so a long-lived client does not grow without end.
 *
 * @internal
 */
export class Recorder {
  /** Started spans, in start order (finished and not). */
  private readonly started: Array<RecordedSpanImpl> = []
  readonly byId = new Map<string, RecordedSpanImpl>()
  /** Open spans that belong to the app's tracked work: `drainTasks` waits for them. */
  readonly openAppSpans = new Set<RecordedSpanImpl>()
  private readonly listeners = new Set<() => void>()
  ownerOf: OwnerOf = () => undefined
  /** The request handler a fiber's work descends from, if any. */
  rootOf: (fiber: Fiber.RuntimeFiber<unknown, unknown>) => Fiber.RuntimeFiber<unknown, unknown> | undefined = () =>
    undefined

  constructor(readonly limit: number = 10_000) {}

  readonly tracer: Tracer.Tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const fiber = Fiber.getCurrentFiber()
      const owner = Option.isSome(fiber) ? this.ownerOf(fiber.value) : undefined
      const root = owner !== undefined && Option.isSome(fiber) ? this.rootOf(fiber.value) : undefined
      const span = new RecordedSpanImpl(this, name, parent, context, links, startTime, kind, owner, root)
      this.started.push(span)
      this.byId.set(span.spanId, span)
      if (owner !== undefined) this.openAppSpans.add(span)
      if (this.started.length > this.limit) this.evict()
      return span
    },
    context: (f) => f()
  })

  ended(span: RecordedSpanImpl): void {
    if (this.openAppSpans.delete(span)) for (const listener of this.listeners) listener()
  }

  /** Finished spans, in start order. */
  finished(): ReadonlyArray<RecordedSpanImpl> {
    return this.started.filter((span) => span.status._tag === "Ended")
  }

  /** Runs `listener` whenever an app span ends; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Whether `span` is `rootId` or lies below it. */
  isWithin(span: RecordedSpanImpl, rootId: string): boolean {
    let current: Tracer.AnySpan | undefined = span
    while (current !== undefined) {
      if (current.spanId === rootId) return true
      current = current._tag === "Span" && current.parent._tag === "Some" ? current.parent.value : undefined
    }
    return false
  }

  private evict(): void {
    // Drop the oldest finished spans; open ones stay, they are still being written.
    const keep = Math.floor(this.limit * 0.9)
    let drop = this.started.length - keep
    const kept: Array<RecordedSpanImpl> = []
    for (const span of this.started) {
      if (drop > 0 && span.status._tag === "Ended") {
        drop--
        this.byId.delete(span.spanId)
      } else {
        kept.push(span)
      }
    }
    this.started.length = 0
    this.started.push(...kept)
  }
}

const formatDuration = (span: RecordedSpanImpl): string => {
  if (span.status._tag !== "Ended") return "open"
  const nanos = span.status.endTime - span.status.startTime
  const millis = Number(nanos) / 1e6
  return millis < 1 ? `${(Number(nanos) / 1e3).toFixed(0)}µs` : `${millis.toFixed(millis < 10 ? 2 : 0)}ms`
}

const formatValue = (value: unknown): string => {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value))
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}

const formatExit = (span: RecordedSpanImpl): string => {
  const exit = span.exit
  if (exit === undefined) return ""
  if (exit._tag === "Success") return ""
  const cause = exit.cause
  const failure = Cause.failureOption(cause)
  const defect = Cause.dieOption(cause)
  const reason = Option.isSome(failure)
    ? `failed: ${formatValue(failure.value instanceof Error ? failure.value.message : failure.value)}`
    : Option.isSome(defect)
      ? `died: ${formatValue(defect.value instanceof Error ? defect.value.message : defect.value)}`
      : Cause.isInterruptedOnly(cause)
        ? "interrupted"
        : "failed"
  return ` [${reason}]`
}

/**
 * The span tree as text: one line per span with its duration and outcome, its attributes
 * and events indented below.
 *
 * @internal
 */
export const render = (spans: ReadonlyArray<RecordedSpanImpl>, rootId?: string): string => {
  const children = new Map<string | undefined, Array<RecordedSpanImpl>>()
  const ids = new Set(spans.map((span) => span.spanId))
  for (const span of spans) {
    const parentId = span.parentSpanId
    const key = parentId !== undefined && ids.has(parentId) ? parentId : undefined
    const list = children.get(key) ?? []
    list.push(span)
    children.set(key, list)
  }
  const lines: Array<string> = []
  const walk = (span: RecordedSpanImpl, depth: number) => {
    const indent = "  ".repeat(depth)
    lines.push(`${indent}${span.name} (${formatDuration(span)})${formatExit(span)}`)
    const attributes = Array.from(span.attributes, ([key, value]) => `${key}=${formatValue(value)}`)
    if (attributes.length > 0) lines.push(`${indent}  · ${attributes.join(" ")}`)
    for (const event of span.events) lines.push(`${indent}  ! ${event.name}`)
    for (const child of children.get(span.spanId) ?? []) walk(child, depth + 1)
  }
  const roots = rootId === undefined ? (children.get(undefined) ?? []) : spans.filter((span) => span.spanId === rootId)
  for (const root of roots) walk(root, 0)
  return lines.length === 0 ? "(no spans)" : lines.join("\n")
}

// ---------------------------------------------------------------------------------------------
// The TestTracer service
// ---------------------------------------------------------------------------------------------

const notFound = (recorder: Recorder, query: string): SpanNotFound =>
  new SpanNotFound({
    query,
    known: recorder.finished().map((span) => span.name),
    open: Array.from(recorder.openAppSpans, (span) => `"${span.name}"`)
  })

const lookup = (recorder: Recorder, id: string): Effect.Effect<RecordedSpanImpl, SpanNotFound> =>
  Effect.suspend(() => {
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
  })

const matching = (recorder: Recorder, name: string, options: FindSpanOptions | undefined) => {
  const rootId = options?.rootId
  const parentId = options?.parentId
  return (span: RecordedSpanImpl): boolean =>
    span.name === name &&
    (parentId === undefined || span.parentSpanId === parentId) &&
    (rootId === undefined || recorder.isWithin(span, rootId))
}

const describeQuery = (name: string, options: FindSpanOptions | undefined): string =>
  `named "${name}"${options?.rootId === undefined ? "" : ` under ${options.rootId}`}${
    options?.parentId === undefined ? "" : ` with parent ${options.parentId}`
  }`

/** Whether an attribute value equals the expected one: `Object.is`, or the same JSON. */
const sameValue = (actual: unknown, expected: unknown): boolean =>
  Object.is(actual, expected) || JSON.stringify(actual) === JSON.stringify(expected)

/**
 * The `TestTracer` service over a recorder. `Layer.ts` builds one per client with the
 * recorder it gives the work tracker and the report; `TestTracer.layer` one of its own.
 *
 * @internal
 */
export const makeService = (recorder: Recorder): Service => {
  const getSpan = (spanId: string): Effect.Effect<RecordedSpan, SpanNotFound> => lookup(recorder, spanId)
  return {
    spans: Effect.sync(() => recorder.finished()),
    getSpan,
    findSpan: (name, options) =>
      Effect.suspend(() => {
        const found = recorder.finished().find(matching(recorder, name, options))
        return found !== undefined
          ? Effect.succeed(found)
          : Effect.fail(notFound(recorder, describeQuery(name, options)))
      }),
    findSpans: (name, options) => Effect.sync(() => recorder.finished().filter(matching(recorder, name, options))),
    getAttribute: (spanId, key) =>
      Effect.map(lookup(recorder, spanId), (span) =>
        span.attributes.has(key) ? Option.some(span.attributes.get(key)) : Option.none()
      ),
    hasAttribute: (spanId, key, value) =>
      Effect.map(
        lookup(recorder, spanId),
        (span) => span.attributes.has(key) && (value === undefined || sameValue(span.attributes.get(key), value))
      ),
    getEvents: (spanId, options) =>
      Effect.map(lookup(recorder, spanId), (span) =>
        options?.name === undefined ? [...span.events] : span.events.filter((event) => event.name === options.name)
      ),
    getEvent: (spanId, name, options) =>
      Effect.flatMap(lookup(recorder, spanId), (span) => {
        const index = options?.index ?? 0
        const named = span.events.filter((event) => event.name === name)
        const event = Number.isInteger(index) && index >= 0 ? named[index] : undefined
        if (event !== undefined) return Effect.succeed(event)
        return Effect.fail(
          new SpanNotFound({
            query:
              `event "${name}" at index ${index} on span "${span.name}" (${spanId}): the span has ` +
              `${named.length} event${named.length === 1 ? "" : "s"} of that name (indexes count from 0)`,
            known: span.events.map((event) => `event "${event.name}"`),
            open: []
          })
        )
      }),
    hasEvent: (spanId, name) =>
      Effect.map(lookup(recorder, spanId), (span) => span.events.some((event) => event.name === name)),
    hasOpenSpans: Effect.sync(() => recorder.openAppSpans.size > 0),
    render: (rootId) => Effect.sync(() => render(recorder.finished(), rootId))
  }
}
