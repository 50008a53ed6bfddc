/**
 * The recording tracer behind `TestTracer`: an Effect 4 `Tracer` whose spans are kept, in
 * start order and bounded, with what a test looks them up by.
 *
 * @internal
 */
import {
  describe,
  formatSpanValue,
  isOptionBag,
  renderSpanTree,
  type SpanLine,
  unknownKeys
} from "@effect-http-testkit/core"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { HttpServerRequest } from "effect/http"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import type { FindSpanOptions, Options, RecordedSpan, Service, SpanEvent } from "../Tracer.js"

/**
 * No finished span matches a query: the message lists the finished spans and the open ones.
 *
 * @internal
 */
export class SpanNotFound extends Data.TaggedError("SpanNotFound")<{
  readonly query: string
  /** Names of the finished spans that were searched, to help spot a typo. */
  readonly known: ReadonlyArray<string>
  /** The spans still open, quoted, as the message lists them. */
  readonly open: ReadonlyArray<string>
}> {
  override get message(): string {
    const known = this.known.length === 0 ? "none" : Array.from(new Set(this.known)).slice(0, 20).join(", ")
    const open =
      this.open.length === 0
        ? ""
        : ` Still open (a span is visible only once it has ended): ${this.open.slice(0, 20).join(", ")}.`
    return `no finished span ${this.query}. Finished spans: ${known}.${open}`
  }
}

/**
 * `TestTracer.layerWith` was given options it cannot use: the message says which and why.
 *
 * @internal
 */
export class InvalidOptions extends Data.TaggedError("InvalidOptions")<{
  readonly reason: string
}> {
  override get message(): string {
    return `TestTracer.layerWith: ${this.reason}`
  }
}

const defaultSpanLimit = 10_000
const optionNames = ["spanLimit"]

/** The span limit the options ask for, or what is wrong with them. */
export const spanLimitOf = (input: unknown): number | InvalidOptions => {
  if (input === undefined) return defaultSpanLimit
  if (!isOptionBag(input)) {
    return new InvalidOptions({
      reason: `options must be an object such as { spanLimit: 500 }, got ${describe(input)}`
    })
  }
  const unknown = unknownKeys(input, optionNames, "option")
  if (unknown !== undefined) return new InvalidOptions({ reason: unknown })
  const limit = (input as Options).spanLimit
  if (limit === undefined) return defaultSpanLimit
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) {
    return new InvalidOptions({
      reason: `spanLimit must be a whole number >= 1 (how many spans the tracer keeps), got ${describe(limit)}`
    })
  }
  return limit
}

// ---------------------------------------------------------------------------------------------
// Span ids
// ---------------------------------------------------------------------------------------------

let ids = 0
const prefix = Math.floor(Math.random() * 0xffffffff)
  .toString(16)
  .padStart(8, "0")
const hexDigits = Array.from("0123456789abcdef", (digit) => digit.charCodeAt(0))
/** Character codes of a span id (16) and a trace id (32): the prefix, then the counter's digits. */
const idCodes = (length: number) => [
  ...Array.from(prefix, (digit) => digit.charCodeAt(0)),
  ...Array<number>(length - 8).fill(48)
]
const spanIdCodes = idCodes(16)
const traceIdCodes = idCodes(32)

/**
 * A fresh id in lower-case hex, as W3C trace context and B3 carry it: the process's random
 * prefix, then a counter. The counter tells how old a span is, so a lookup of a dropped span
 * can say it was dropped.
 */
const nextId = (codes: Array<number>): string => {
  let n = ++ids
  for (let i = codes.length - 1; i >= 8; i--) {
    codes[i] = hexDigits[n % 16]!
    n = Math.floor(n / 16)
  }
  return String.fromCharCode.apply(null, codes)
}

/** The sequence number of a span id this module made, or -1. */
const sequenceOf = (spanId: string): number =>
  spanId.length === 16 && spanId.startsWith(prefix) ? Number.parseInt(spanId.slice(8), 16) : -1

// ---------------------------------------------------------------------------------------------
// Spans
// ---------------------------------------------------------------------------------------------

const noEvents: ReadonlyArray<SpanEvent> = Object.freeze([])
const noLinks: ReadonlyArray<Tracer.SpanLink> = Object.freeze([])

/** The request a fiber serves (`GET /users/1`), when it is a handler or a fiber one forked. */
const requestOfCurrentFiber = (): string | undefined => {
  const fiber = Fiber.getCurrent()
  if (fiber === undefined) return undefined
  const request = Context.getOrUndefined(fiber.context, HttpServerRequest.HttpServerRequest)
  return request === undefined ? undefined : `${request.method} ${request.url}`
}

/**
 * A recorded span. Like Effect 4's own spans, it ignores attributes, events and links that
 * arrive after it has ended.
 *
 * @internal
 */
export class RecordedSpanImpl implements RecordedSpan {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId: string
  status: Tracer.SpanStatus
  events: ReadonlyArray<SpanEvent> = noEvents
  /**
   * The attributes as `[key, value, key, value, ...]` until `attributes` is first read (then
   * the Map is kept): a Map per span weighs about three times as much, and a long suite's
   * spans are mostly never read.
   */
  private attributeList: Array<unknown> | undefined = []
  private attributeMap: Map<string, unknown> | undefined = undefined
  links: ReadonlyArray<Tracer.SpanLink>

  constructor(
    private readonly recorder: Recorder,
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly annotations: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    readonly sampled: boolean,
    readonly owner: string | undefined
  ) {
    this.status = { _tag: "Started", startTime }
    this.traceId = parent._tag === "Some" ? parent.value.traceId : nextId(traceIdCodes)
    this.spanId = nextId(spanIdCodes)
    this.links = links.length === 0 ? noLinks : Array.from(links)
  }

  get attributes(): Map<string, unknown> {
    if (this.attributeMap === undefined) {
      const map = new Map<string, unknown>()
      const list = this.attributeList!
      for (let i = 0; i < list.length; i += 2) map.set(list[i] as string, list[i + 1])
      this.attributeMap = map
      this.attributeList = undefined
    }
    return this.attributeMap
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

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    if (this.status._tag === "Ended") return
    // A success keeps no value: a server span's is the whole response.
    this.status = {
      _tag: "Ended",
      startTime: this.status.startTime,
      endTime,
      exit: Exit.isSuccess(exit) ? Exit.void : exit
    }
    // Kept at its size: the list grew by pushes, with room to spare.
    if (this.attributeList !== undefined) this.attributeList = this.attributeList.slice()
    this.recorder.ended(this)
  }

  attribute(key: string, value: unknown): void {
    if (this.status._tag === "Ended") return
    if (this.attributeMap !== undefined) {
      this.attributeMap.set(key, value)
      return
    }
    // As Map.set: a key given again keeps its place and takes the new value.
    const list = this.attributeList!
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === key) {
        list[i + 1] = value
        return
      }
    }
    list.push(key, value)
  }

  event(name: string, startTime: bigint, attributes?: Record<string, unknown>): void {
    if (this.status._tag === "Ended") return
    const events = this.events === noEvents ? [] : (this.events as Array<SpanEvent>)
    events.push({ name, time: startTime, attributes: attributes ?? {} })
    this.events = events
  }

  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    if (this.status._tag === "Ended" || links.length === 0) return
    this.links = [...this.links, ...links]
  }
}

/**
 * Records every span its tracer creates. Spans are kept in start order, bounded: past
 * `limit`, the oldest finished ones are dropped, so a long suite sharing one tracer does not
 * grow without end.
 *
 * @internal
 */
export class Recorder {
  /** Started spans, in start order (finished and not). */
  private readonly started: Array<RecordedSpanImpl> = []
  readonly byId = new Map<string, RecordedSpanImpl>()
  /** Open spans of the app's work (a request handler's, or of a fiber it forked). */
  readonly openAppSpans = new Set<RecordedSpanImpl>()
  /** Whether a server span was ever recorded: the app's spans reach this tracer. */
  sawServerSpan = false
  /** How many finished spans were dropped, and the newest of them (its id's sequence number). */
  dropped = 0
  private droppedUpTo = -1

  constructor(readonly limit: number = defaultSpanLimit) {}

  readonly tracer: Tracer.Tracer = Tracer.make({
    span: (options) => {
      const parent = options.parent
      const owner =
        requestOfCurrentFiber() ?? (parent._tag === "Some" ? this.byId.get(parent.value.spanId)?.owner : undefined)
      const span = new RecordedSpanImpl(
        this,
        options.name,
        parent,
        options.annotations,
        options.links,
        options.startTime,
        options.kind,
        options.sampled,
        owner
      )
      this.started.push(span)
      this.byId.set(span.spanId, span)
      if (owner !== undefined) this.openAppSpans.add(span)
      if (options.kind === "server") this.sawServerSpan = true
      if (this.started.length > this.limit) this.evict()
      return span
    }
  })

  ended(span: RecordedSpanImpl): void {
    this.openAppSpans.delete(span)
  }

  /** Finished spans, in start order. */
  finished(): ReadonlyArray<RecordedSpanImpl> {
    return this.started.filter((span) => span.status._tag === "Ended")
  }

  /** Open spans, in start order. */
  open(): ReadonlyArray<RecordedSpanImpl> {
    return this.started.filter((span) => span.status._tag !== "Ended")
  }

  /**
   * Whether `span` is `rootId` or lies below it. A parent known only by the id a request's
   * trace headers carried (the client span of the test's `HttpClient`) is followed to the
   * recorded span of that id.
   */
  isWithin(span: RecordedSpanImpl, rootId: string): boolean {
    // Trace headers could name a span below this one: each recorded span is passed once.
    const seen = new Set<Tracer.AnySpan>()
    let current: Tracer.AnySpan | undefined = span
    while (current !== undefined && !seen.has(current)) {
      if (current.spanId === rootId) return true
      seen.add(current)
      if (current._tag === "ExternalSpan") current = this.byId.get(current.spanId)
      else current = current.parent._tag === "Some" ? current.parent.value : undefined
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
      "finished ones; look a request's spans up soon after it, or raise the TestClient layer's spanLimit option " +
      "(TestTracer.layerWith's for a tracer of your own))"
    )
  }

  private evict(): void {
    // Drop the oldest finished spans, in place; open ones stay, they are still being written.
    const started = this.started
    let drop = started.length - Math.floor(this.limit * 0.9)
    let kept = 0
    let newest: RecordedSpanImpl | undefined
    for (let i = 0; i < started.length; i++) {
      const span = started[i]!
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

// ---------------------------------------------------------------------------------------------
// The span tree
// ---------------------------------------------------------------------------------------------

const messageOf = (value: unknown): string =>
  formatSpanValue(value instanceof Error && value.message !== "" ? value.message : value)

/** How a span ended when it did not succeed, as the span tree shows it; `undefined` otherwise. */
const outcome = (span: RecordedSpanImpl): string | undefined => {
  const exit = span.exit
  if (exit === undefined || Exit.isSuccess(exit)) return undefined
  const cause = exit.cause
  const failure = Cause.findErrorOption(cause)
  if (Option.isSome(failure)) return `failed: ${messageOf(failure.value)}`
  const defect = cause.reasons.find(Cause.isDieReason)
  if (defect !== undefined) return `died: ${messageOf(defect.defect)}`
  return Cause.hasInterruptsOnly(cause) ? "interrupted" : "failed"
}

const spanLine = (span: RecordedSpanImpl): SpanLine => ({
  spanId: span.spanId,
  parentSpanId: span.parentSpanId,
  name: span.name,
  durationNanos: span.status._tag === "Ended" ? span.status.endTime - span.status.startTime : undefined,
  outcome: outcome(span),
  attributes: Array.from(span.attributes),
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

const httpMethods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"])

const notFound = (recorder: Recorder, query: string): SpanNotFound =>
  new SpanNotFound({
    query,
    known: recorder.finished().map((span) => span.name),
    open: recorder.open().map((span) => `"${span.name}"`)
  })

const lookup = (recorder: Recorder, id: string): Effect.Effect<RecordedSpanImpl, SpanNotFound> =>
  Effect.suspend(() => {
    const span = recorder.byId.get(id)
    if (span !== undefined && span.status._tag === "Ended") return Effect.succeed(span)
    return Effect.fail(
      notFound(
        recorder,
        id === ""
          ? 'with id "" (an empty id names no span: was tracing disabled for that request?)'
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
  const kind = options?.kind
  return (span: RecordedSpanImpl): boolean =>
    span.name === name &&
    (kind === undefined || span.kind === kind) &&
    (parentId === undefined || span.parentSpanId === parentId) &&
    (rootId === undefined || recorder.isWithin(span, rootId))
}

const describeQuery = (recorder: Recorder, name: string, options: FindSpanOptions | undefined): string => {
  const scope =
    `named "${name}"${options?.kind === undefined ? "" : ` of kind ${options.kind}`}` +
    `${options?.rootId === undefined ? "" : ` under ${options.rootId}`}` +
    `${options?.parentId === undefined ? "" : ` with parent ${options.parentId}`}`
  // The app's spans go to the tracer its server was built with: provided the other way
  // round, the test records its own spans only.
  const hint =
    !recorder.sawServerSpan && (options?.kind === "server" || httpMethods.has(name))
      ? " (no server span was ever recorded: this TestTracer is not the one the app's server was built with. " +
        "The TestClient layers bring theirs: read it through them, without providing another TestTracer " +
        "inside them; for a server of your own, provide TestTracer.layer to its layer, " +
        "e.g. server.pipe(Layer.provideMerge(TestTracer.layer)))"
      : ""
  return `${scope}${hint}`
}

/** Whether an attribute value equals the expected one: `Object.is`, or the same JSON. */
const sameValue = (actual: unknown, expected: unknown): boolean =>
  Object.is(actual, expected) || JSON.stringify(actual) === JSON.stringify(expected)

/**
 * The `TestTracer` service over a recorder.
 *
 * @internal
 */
export const makeService = (recorder: Recorder): Service => ({
  spans: Effect.sync(() => recorder.finished()),
  getSpan: (spanId) => lookup(recorder, spanId),
  findSpan: (name, options) =>
    Effect.suspend(() => {
      const found = recorder.finished().find(matching(recorder, name, options))
      return found !== undefined
        ? Effect.succeed(found)
        : Effect.fail(notFound(recorder, `${describeQuery(recorder, name, options)}${recorder.droppedNote()}`))
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
            `event "${name}" at index ${describe(index)} on span "${span.name}" (${spanId}): the span has ` +
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
})
