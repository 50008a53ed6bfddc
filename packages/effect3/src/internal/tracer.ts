import { formatSpanValue, renderSpanTree, type SpanLine } from "@effect-http-testkit/core"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
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
const hexDigits = Array.from("0123456789abcdef", (digit) => digit.charCodeAt(0))
/** Character codes of a span id (16) and a trace id (32): the prefix, then the counter's digits. */
const idCodes = (length: number) => [
  ...Array.from(prefix, (digit) => digit.charCodeAt(0)),
  ...Array(length - 8).fill(48)
]
const spanIdCodes = idCodes(16)
const traceIdCodes = idCodes(32)

/**
 * A fresh id: the process's random prefix, then a counter in hex. Built as one flat string
 * (concatenation would keep a chain of pieces alive for as long as the span is kept).
 */
const nextId = (codes: Array<number>): string => {
  let n = ++ids
  for (let i = codes.length - 1; i >= 8; i--) {
    codes[i] = hexDigits[n % 16]
    n = Math.floor(n / 16)
  }
  return String.fromCharCode.apply(null, codes)
}

/** The sequence number of a span id this module made, or -1. */
const sequenceOf = (spanId: string): number =>
  spanId.length === 16 && spanId.startsWith(prefix) ? Number.parseInt(spanId.slice(8), 16) : -1

const noEvents: ReadonlyArray<SpanEvent> = Object.freeze([])
const noLinks: ReadonlyArray<Tracer.SpanLink> = Object.freeze([])
const noValues: ReadonlyArray<unknown> = Object.freeze([])

/**
 * A span's attribute keys, in insertion order. Spans share them as V8 objects share their
 * shapes: a span holds the list of the keys it has so far, and a new key moves it to the
 * list one key longer, found from the one before.
 */
interface KeyList {
  readonly keys: Array<string>
  /** Shared lists never change; an unshared one belongs to one span, which appends to it. */
  readonly shared: boolean
  /** The lists one key longer, by that key. */
  next: Map<string, KeyList> | undefined
  /** The key added last from here and where it led: spans of one kind add the same keys in the same order. */
  hotKey: string | undefined
  hot: KeyList | undefined
  /** The values of the last span that ended with these keys. */
  last: ReadonlyArray<unknown>
}

const keyList = (keys: Array<string>, shared: boolean): KeyList => ({
  keys,
  shared,
  next: undefined,
  hotKey: undefined,
  hot: undefined,
  last: noValues
})

/**
 * What a recorder's spans share: their attribute key lists, and the strings they have in
 * common (names, owners, attribute values). Cheap comparisons first (with the last span
 * that had the same keys), a lookup only for what differs. Every table is bounded, so
 * unique keys and values cost no more than unshared ones.
 *
 * @internal
 */
export class Shared {
  readonly empty: KeyList = keyList([], true)
  private lists = 0
  private readonly strings = new Map<string, string>()
  private lastName = ""
  private lastOwner = ""

  /** The first copy seen of a short string. */
  string(text: string): string {
    if (text.length > 64) return text
    const known = this.strings.get(text)
    if (known !== undefined) return known
    if (this.strings.size >= 4096) this.strings.clear()
    this.strings.set(text, text)
    return text
  }

  name(name: string): string {
    if (name !== this.lastName) this.lastName = this.string(name)
    return this.lastName
  }

  owner(owner: string): string {
    if (owner !== this.lastOwner) this.lastOwner = this.string(owner)
    return this.lastOwner
  }

  /** The list of `list`'s keys and then `key`, which it does not have. */
  extend(list: KeyList, key: string): KeyList {
    if (!list.shared) {
      list.keys.push(this.string(key))
      return list
    }
    if (key === list.hotKey) return list.hot as KeyList
    let next = list.next?.get(key)
    if (next === undefined) {
      const keys = [...list.keys, this.string(key)]
      // Keys made up per span (an id in the key) would grow the tree: past a bound, stop sharing.
      if (this.lists >= 1024) return keyList(keys, false)
      this.lists++
      next = keyList(keys, true)
      list.next ??= new Map()
      list.next.set(key, next)
    }
    list.hotKey = next.keys[next.keys.length - 1]
    list.hot = next
    return next
  }
}

/**
 * A recorded span. While open it is what the app writes to; once ended it is compacted to
 * what a test asserts on: it lets go of the fiber that opened it and of its success value
 * (`exit` becomes `Exit.void`; a failure keeps its `Cause`), and shares its attribute keys
 * and common strings with the recorder's other spans (see `Shared`).
 *
 * @internal
 */
export class RecordedSpanImpl implements RecordedSpan {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  readonly sampled = true
  status: Tracer.SpanStatus
  name: string
  events: ReadonlyArray<SpanEvent> = noEvents
  links: ReadonlyArray<Tracer.SpanLink>
  /** The attribute keys; `values` holds their values, in the same order. */
  private list: KeyList
  private values: ReadonlyArray<unknown> = noValues
  /** The attributes as a `Map`, once `attributes` has been read: then the only copy. */
  private map: Map<string, unknown> | undefined = undefined
  /** The request whose work created this span, when it belongs to the app's tracked work. */
  owner: string | undefined
  /** The request handler whose work opened this span, while the span is open. */
  root: Fiber.RuntimeFiber<unknown, unknown> | undefined

  constructor(
    private readonly recorder: Recorder,
    name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: Iterable<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    owner: string | undefined,
    root: Fiber.RuntimeFiber<unknown, unknown> | undefined
  ) {
    this.name = name
    this.owner = owner
    this.root = root
    this.list = recorder.shared.empty
    this.status = { _tag: "Started", startTime }
    this.traceId = parent._tag === "Some" ? parent.value.traceId : nextId(traceIdCodes)
    this.spanId = nextId(spanIdCodes)
    this.links = Array.isArray(links) && links.length === 0 ? noLinks : Array.from(links)
  }

  get startTime(): bigint {
    return this.status.startTime
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

  get attributes(): ReadonlyMap<string, unknown> {
    if (this.map === undefined) {
      const map = new Map<string, unknown>()
      const keys = this.list.keys
      for (let i = 0; i < keys.length; i++) map.set(keys[i], this.values[i])
      this.map = map
      this.list = this.recorder.shared.empty
      this.values = noValues
    }
    return this.map
  }

  /** Whether the attribute is set, without building the `Map`. */
  hasAttribute(key: string): boolean {
    return this.map !== undefined ? this.map.has(key) : this.list.keys.indexOf(key) !== -1
  }

  /** The attribute's value, without building the `Map`. */
  getAttribute(key: string): unknown {
    return this.map !== undefined ? this.map.get(key) : this.values[this.list.keys.indexOf(key)]
  }

  /** The attributes as `[key, value]` pairs, in insertion order, without building the `Map`. */
  attributeEntries(): Array<readonly [string, unknown]> {
    return this.map !== undefined
      ? Array.from(this.map)
      : this.list.keys.map((key, i) => [key, this.values[i]] as const)
  }

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.status._tag === "Ended") return
    this.status = {
      _tag: "Ended",
      startTime: this.status.startTime,
      endTime,
      exit: exit._tag === "Success" ? Exit.void : exit
    }
    this.root = undefined
    this.compact(this.recorder.shared)
    this.recorder.ended(this)
  }

  /** Shares what other spans have too; called once the span has ended. */
  private compact(shared: Shared): void {
    this.name = shared.name(this.name)
    if (this.owner !== undefined) this.owner = shared.owner(this.owner)
    if (this.values.length === 0) return
    const list = this.list
    const last = list.last
    // A copy of the exact size (the one written to has room to grow), with the strings the
    // last span with these keys had where they are the same, or else the shared ones.
    this.values = this.values.map((value, i) =>
      typeof value !== "string" ? value : value === last[i] ? last[i] : shared.string(value)
    )
    if (list.shared) list.last = this.values
  }

  attribute(key: string, value: unknown): void {
    if (this.map !== undefined) {
      this.map.set(key, value)
      return
    }
    const list = this.list
    // The key the last span added next cannot be one this list has already.
    if (key !== list.hotKey) {
      const index = list.keys.indexOf(key)
      if (index !== -1) {
        ;(this.values as Array<unknown>)[index] = value
        return
      }
    }
    this.list = this.recorder.shared.extend(list, key)
    if (this.values.length === 0) this.values = [value]
    else (this.values as Array<unknown>).push(value)
  }

  event(name: string, time: bigint, attributes?: Record<string, unknown>): void {
    const events = this.events === noEvents ? [] : (this.events as Array<SpanEvent>)
    events.push({ name, time, attributes: attributes ?? {} })
    this.events = events
  }

  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    if (links.length > 0) this.links = [...this.links, ...links]
  }
}

/**
 * Records every span the tracer creates. Finished spans are kept in start order, bounded:
 * past `limit` spans, the oldest finished ones are dropped, so a long-lived client does not
 * grow without end.
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
  readonly shared = new Shared()
  /** How many finished spans were dropped, and the newest of them (its id's sequence number). */
  dropped = 0
  private droppedUpTo = -1
  ownerOf: OwnerOf = () => undefined
  /** The request handler a fiber's work descends from, if any. */
  rootOf: (fiber: Fiber.RuntimeFiber<unknown, unknown>) => Fiber.RuntimeFiber<unknown, unknown> | undefined = () =>
    undefined

  constructor(readonly limit: number = 10_000) {}

  readonly tracer: Tracer.Tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const fiber = Fiber.getCurrentFiber()
      const owner = fiber._tag === "Some" ? this.ownerOf(fiber.value) : undefined
      const root = owner !== undefined && fiber._tag === "Some" ? this.rootOf(fiber.value) : undefined
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

  /** Whether the span with this id may have been dropped: this recorder dropped spans as new or newer. */
  mayHaveDropped(spanId: string): boolean {
    const sequence = sequenceOf(spanId)
    return sequence !== -1 && sequence <= this.droppedUpTo
  }

  /** What a failed search should say when spans were dropped, or "". */
  droppedNote(): string {
    if (this.dropped === 0) return ""
    const count = (n: number) => n.toLocaleString("en-US")
    return (
      ` (the tracer keeps the last ${count(this.limit)} spans: it has dropped the ${count(this.dropped)} oldest ` +
      "finished ones; look a request's spans up soon after it, or raise the client's spanLimit option)"
    )
  }

  private evict(): void {
    // Drop the oldest finished spans, in place; open ones stay, they are still being written.
    const started = this.started
    let drop = started.length - Math.floor(this.limit * 0.9)
    let kept = 0
    let newest: RecordedSpanImpl | undefined
    for (let i = 0; i < started.length; i++) {
      const span = started[i]
      if (drop > 0 && span.status._tag === "Ended") {
        drop--
        this.dropped++
        this.byId.delete(span.spanId)
        newest = span
      } else {
        started[kept++] = span
      }
    }
    started.length = kept
    if (newest !== undefined) this.droppedUpTo = Math.max(this.droppedUpTo, sequenceOf(newest.spanId))
  }
}

/** How a span ended when it did not succeed, as the span tree shows it; `undefined` otherwise. */
const outcome = (span: RecordedSpanImpl): string | undefined => {
  const exit = span.exit
  if (exit === undefined || exit._tag === "Success") return undefined
  const cause = exit.cause
  const failure = Cause.failureOption(cause)
  const defect = Cause.dieOption(cause)
  return Option.isSome(failure)
    ? `failed: ${formatSpanValue(failure.value instanceof Error ? failure.value.message : failure.value)}`
    : Option.isSome(defect)
      ? `died: ${formatSpanValue(defect.value instanceof Error ? defect.value.message : defect.value)}`
      : Cause.isInterruptedOnly(cause)
        ? "interrupted"
        : "failed"
}

const spanLine = (span: RecordedSpanImpl): SpanLine => ({
  spanId: span.spanId,
  parentSpanId: span.parentSpanId,
  name: span.name,
  durationNanos: span.status._tag === "Ended" ? span.status.endTime - span.status.startTime : undefined,
  outcome: outcome(span),
  attributes: span.attributeEntries(),
  events: span.events.map((event) => event.name)
})

/**
 * The span tree as text (the core's rendering): one line per span with its duration and
 * outcome, its attributes and events indented below.
 *
 * @internal
 */
export const render = (spans: ReadonlyArray<RecordedSpanImpl>, rootId?: string): string =>
  renderSpanTree(spans.map(spanLine), rootId)

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
          : span !== undefined
            ? `with id ${id}: "${span.name}" is still open`
            : recorder.mayHaveDropped(id)
              ? `with id ${id}: it was probably dropped${recorder.droppedNote()}`
              : `with id ${id}`
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
          : Effect.fail(notFound(recorder, `${describeQuery(name, options)}${recorder.droppedNote()}`))
      }),
    findSpans: (name, options) => Effect.sync(() => recorder.finished().filter(matching(recorder, name, options))),
    getAttribute: (spanId, key) =>
      Effect.map(lookup(recorder, spanId), (span) =>
        span.hasAttribute(key) ? Option.some(span.getAttribute(key)) : Option.none()
      ),
    hasAttribute: (spanId, key, value) =>
      Effect.map(
        lookup(recorder, spanId),
        (span) => span.hasAttribute(key) && (value === undefined || sameValue(span.getAttribute(key), value))
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
