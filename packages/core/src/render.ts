/**
 * What a person reads when a test fails: the span tree as text, and the failure report of a
 * test's last exchanges. Effect-free: each edition turns its spans and exchanges into the
 * plain shapes below.
 */

/** A span as the tree shows it. */
export interface SpanLine {
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly name: string
  /** From start to end, in nanoseconds; `undefined` while the span is open. */
  readonly durationNanos: bigint | undefined
  /**
   * How the span ended when it did not succeed (`failed: <message>`, `died: <message>`,
   * `interrupted`, `failed`); `undefined` when it succeeded or is open.
   */
  readonly outcome: string | undefined
  readonly attributes: ReadonlyArray<readonly [string, unknown]>
  /** The names of its events, in order. */
  readonly events: ReadonlyArray<string>
}

/** A value as a span line shows it: strings as they are, the rest as JSON, cut at 60 characters. */
export const formatSpanValue = (value: unknown): string => {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value))
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}

const formatDuration = (nanos: bigint | undefined): string => {
  if (nanos === undefined) return "open"
  const millis = Number(nanos) / 1e6
  return millis < 1 ? `${(Number(nanos) / 1e3).toFixed(0)}µs` : `${millis.toFixed(millis < 10 ? 2 : 0)}ms`
}

/**
 * The span tree as text: one line per span with its duration and outcome, its attributes
 * (`·`) and events (`!`) indented below, children indented under their parent. A span whose
 * parent is not among `spans` is a root. With `rootId`, only that span's tree.
 */
export const renderSpanTree = (spans: ReadonlyArray<SpanLine>, rootId?: string): string => {
  const children = new Map<string | undefined, Array<SpanLine>>()
  const ids = new Set(spans.map((span) => span.spanId))
  for (const span of spans) {
    const parentId = span.parentSpanId
    const key = parentId !== undefined && ids.has(parentId) ? parentId : undefined
    const list = children.get(key) ?? []
    list.push(span)
    children.set(key, list)
  }
  const lines: Array<string> = []
  const walk = (span: SpanLine, depth: number) => {
    const indent = "  ".repeat(depth)
    const outcome = span.outcome === undefined ? "" : ` [${span.outcome}]`
    lines.push(`${indent}${span.name} (${formatDuration(span.durationNanos)})${outcome}`)
    const attributes = span.attributes.map(([key, value]) => `${key}=${formatSpanValue(value)}`)
    if (attributes.length > 0) lines.push(`${indent}  · ${attributes.join(" ")}`)
    for (const event of span.events) lines.push(`${indent}  ! ${event}`)
    for (const child of children.get(span.spanId) ?? []) walk(child, depth + 1)
  }
  const roots = rootId === undefined ? (children.get(undefined) ?? []) : spans.filter((span) => span.spanId === rootId)
  for (const root of roots) walk(root, 0)
  return lines.length === 0 ? "(no spans)" : lines.join("\n")
}

/** One thing a test did with the app, as the failure report shows it. */
export type ReportEntry =
  | {
      readonly _tag: "Response"
      readonly method: string
      readonly url: string
      readonly status: number
      readonly headers: Readonly<Record<string, string>>
      /** `""` when the exchange has no span. */
      readonly spanId: string
      /** The buffered body, for an excerpt, or `"streamed"` when the test read it as a stream. */
      readonly body: Uint8Array | "streamed"
    }
  | {
      readonly _tag: "Failure"
      readonly method: string
      readonly url: string
      readonly spanId: string
      readonly error: { readonly _tag: string; readonly message: string }
    }
  | { readonly _tag: "WebSocket"; readonly url: string; readonly spanId: string }

/** The report's bounds: entries shown, body excerpt, and the whole text. */
export const reportLimits = { entries: 5, bodyBytes: 400, headers: 20, messageLines: 12, characters: 12_000 } as const

/**
 * The failure report: the last entries (at most `reportLimits.entries`), each with its
 * headers, a body excerpt or the error message, and its span tree; then what is still in
 * flight. Cut at `reportLimits.characters`. `undefined` when there is nothing to report.
 */
export const formatReport = (
  entries: ReadonlyArray<ReportEntry>,
  inFlight: ReadonlyArray<string>,
  spanTree: (spanId: string) => string
): string | undefined => {
  if (entries.length === 0 && inFlight.length === 0) return undefined
  const shown = entries.slice(-reportLimits.entries)
  const sections = shown.map((entry) => {
    const spans =
      entry.spanId === ""
        ? "    (no span)"
        : spanTree(entry.spanId)
            .split("\n")
            .map((line) => `    ${line}`)
            .join("\n")
    return [`  ${title(entry)}`, ...details(entry), "  spans:", spans].join("\n")
  })
  const omitted = entries.length > reportLimits.entries ? ` (last ${reportLimits.entries} of ${entries.length})` : ""
  let text = `effect-http-testkit: the test failed; its exchanges${omitted}:\n${sections.join("\n\n")}`
  if (inFlight.length > 0) text += `\n\n  still in flight:\n${inFlight.map((what) => `    ${what}`).join("\n")}`
  const max = reportLimits.characters
  return text.length > max ? `${text.slice(0, max)}\n  … (report cut at ${max} characters)` : text
}

const title = (entry: ReportEntry): string => {
  switch (entry._tag) {
    case "Response":
      return `${entry.method} ${entry.url} -> ${entry.status}${entry.body === "streamed" ? " (streamed)" : ""}`
    case "Failure":
      return `${entry.method} ${entry.url} -> failed: ${entry.error._tag}`
    case "WebSocket":
      return `WebSocket ${entry.url} -> open`
  }
}

const details = (entry: ReportEntry): ReadonlyArray<string> => {
  switch (entry._tag) {
    case "Response":
      return [
        ...Object.entries(entry.headers)
          .slice(0, reportLimits.headers)
          .map(([name, value]) => `    ${name}: ${value}`),
        `    body: ${entry.body === "streamed" ? "(streamed to the test)" : excerpt(entry.body)}`
      ]
    case "Failure":
      return entry.error.message
        .split("\n")
        .slice(0, reportLimits.messageLines)
        .map((line) => `    ${line}`)
    case "WebSocket":
      return []
  }
}

/** The start of a body as text, or what it is when it is mostly not text. */
const excerpt = (body: Uint8Array): string => {
  if (body.length === 0) return "(empty)"
  const max = reportLimits.bodyBytes
  const text = new TextDecoder("utf-8", { fatal: false }).decode(body.subarray(0, max))
  // Mostly unprintable bytes: say what it is instead of printing noise.
  const unprintable = text.split("").filter((c) => c === "\uFFFD" || c.charCodeAt(0) < 9).length
  if (unprintable > text.length / 10) return `(${body.length} bytes of binary data)`
  return body.length > max ? `${text}… (${body.length} bytes)` : text
}
