/**
 * The span tree and the failure report as text, from plain spans and entries.
 */
import { describe, expect, it } from "vitest"
import {
  formatReport,
  formatSpanValue,
  type ReportEntry,
  renderSpanTree,
  reportLimits,
  type SpanLine
} from "../src/index.js"

const span = (
  spanId: string,
  parentSpanId: string | undefined,
  name: string,
  more: Partial<SpanLine> = {}
): SpanLine => ({
  spanId,
  parentSpanId,
  name,
  durationNanos: 2_500_000n,
  outcome: undefined,
  attributes: [],
  events: [],
  ...more
})

describe("renderSpanTree", () => {
  const spans = [
    span("a", undefined, "http.server GET", {
      attributes: [
        ["http.route", "/users/:id"],
        ["http.status", 200]
      ]
    }),
    span("b", "a", "db.query", { durationNanos: 450_000n, events: ["cache miss"] }),
    span("c", "b", "db.connect", { durationNanos: 12_345_678_900n, outcome: "failed: refused" }),
    span("d", "gone", "orphan", { durationNanos: undefined }),
    span("e", "a", "render", { durationNanos: 25_000_000n, outcome: "interrupted" })
  ]

  it("nests children under their parent, with durations, outcomes, attributes and events", () => {
    expect(renderSpanTree(spans)).toBe(
      [
        "http.server GET (2.50ms)",
        "  · http.route=/users/:id http.status=200",
        "  db.query (450µs)",
        "    ! cache miss",
        "    db.connect (12346ms) [failed: refused]",
        "  render (25ms) [interrupted]",
        "orphan (open)"
      ].join("\n")
    )
  })

  it("with a root, only its tree; with nothing to show, says so", () => {
    expect(renderSpanTree(spans, "b")).toBe(
      ["db.query (450µs)", "  ! cache miss", "  db.connect (12346ms) [failed: refused]"].join("\n")
    )
    expect(renderSpanTree(spans, "nope")).toBe("(no spans)")
    expect(renderSpanTree([])).toBe("(no spans)")
  })

  it("values: strings as they are, the rest as JSON, cut at 60 characters", () => {
    expect(formatSpanValue("plain")).toBe("plain")
    expect(formatSpanValue({ a: [1, true] })).toBe('{"a":[1,true]}')
    expect(formatSpanValue(undefined)).toBe("undefined")
    expect(formatSpanValue("x".repeat(61))).toBe(`${"x".repeat(60)}…`)
  })
})

describe("formatReport", () => {
  const bytes = (text: string) => new TextEncoder().encode(text)
  const ok = (url: string, body: Uint8Array | "streamed" = bytes("{}")): ReportEntry => ({
    _tag: "Response",
    method: "GET",
    url,
    status: 200,
    headers: { "content-type": "application/json" },
    spanId: `span-${url}`,
    body
  })
  const tree = (spanId: string) => `http.server (1ms)\n  · id=${spanId}`

  it("shows each entry with its headers, a body excerpt or the error, and its span tree", () => {
    const entries: Array<ReportEntry> = [
      ok("/a"),
      ok("/feed", "streamed"),
      {
        _tag: "Failure",
        method: "POST",
        url: "/b",
        spanId: "",
        error: { _tag: "ServerError", message: "the handler died\nat line 2" }
      },
      { _tag: "WebSocket", url: "/ws", spanId: "ws" }
    ]
    expect(formatReport(entries, ["GET /slow (waiting for headers)"], tree)).toBe(
      [
        "effect-http-testkit: the test failed; its exchanges:",
        "  GET /a -> 200",
        "    content-type: application/json",
        "    body: {}",
        "  spans:",
        "    http.server (1ms)",
        "      · id=span-/a",
        "",
        "  GET /feed -> 200 (streamed)",
        "    content-type: application/json",
        "    body: (streamed to the test)",
        "  spans:",
        "    http.server (1ms)",
        "      · id=span-/feed",
        "",
        "  POST /b -> failed: ServerError",
        "    the handler died",
        "    at line 2",
        "  spans:",
        "    (no span)",
        "",
        "  WebSocket /ws -> open",
        "  spans:",
        "    http.server (1ms)",
        "      · id=ws",
        "",
        "  still in flight:",
        "    GET /slow (waiting for headers)"
      ].join("\n")
    )
  })

  it("shows the last entries only, bodies as excerpts, binary bodies by size", () => {
    const entries = Array.from({ length: 7 }, (_, i) => ok(`/n${i}`))
    const text = formatReport(entries, [], tree)!
    expect(text).toContain(`its exchanges (last ${reportLimits.entries} of 7):`)
    expect(text).not.toContain("GET /n1 ")
    expect(text).toContain("GET /n2 -> 200")
    const long = formatReport([ok("/long", bytes("y".repeat(1000)))], [], tree)!
    expect(long).toContain(`    body: ${"y".repeat(reportLimits.bodyBytes)}… (1000 bytes)`)
    expect(
      formatReport(
        [
          ok(
            "/bin",
            Uint8Array.from({ length: 64 }, (_, i) => i % 8)
          )
        ],
        [],
        tree
      )
    ).toContain("    body: (64 bytes of binary data)")
    expect(formatReport([ok("/empty", new Uint8Array())], [], tree)).toContain("    body: (empty)")
  })

  it("is cut at its character bound, and there is nothing to report without entries or work in flight", () => {
    const huge = formatReport([ok("/a")], [], () => "z".repeat(20_000))!
    expect(huge.length).toBeLessThan(reportLimits.characters + 60)
    expect(huge.endsWith(`\n  … (report cut at ${reportLimits.characters} characters)`)).toBe(true)
    expect(formatReport([], [], tree)).toBeUndefined()
  })
})
