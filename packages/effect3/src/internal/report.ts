import type * as Headers from "@effect/platform/Headers"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type { Config } from "./config.js"
import { currentTest } from "./runner.js"
import type { InProcessServer } from "./server.js"
import { type Recorder, render } from "./tracer.js"

const maxEntries = 5
const keptEntries = 20
const maxBody = 400
const maxReport = 12_000

/**
 * One thing the test did with the app, kept as it came (text is made only when a report is
 * printed: recording sits on every request's path).
 */
type Entry =
  | {
      readonly _tag: "Response"
      readonly method: string
      readonly url: string
      readonly status: number
      readonly headers: Headers.Headers
      readonly spanId: string
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

/**
 * What a person needs to see when a test fails: the last exchanges of every kind (buffered
 * requests, streams, WebSockets, the platform HttpClient's), the requests that failed and
 * why, the requests still in flight, and the span tree of each. Printed to stderr, bounded
 * in size:
 * - under vitest, when the current test fails (also for a client shared by `it.layer`,
 *   whose own scope closes successfully), with what happened during that test;
 * - otherwise when the scope that owns the client closes with a failure.
 *
 * @internal
 */
export class Reporter {
  private readonly entries: Array<Entry> = []
  private count = 0
  private hooked: object | undefined = undefined
  /** The test whose report the scope close already printed (the test's failure need not again). */
  private printedFor: object | undefined = undefined

  constructor(
    private readonly config: Config,
    private readonly recorder: Recorder,
    private readonly server: () => InProcessServer | undefined
  ) {}

  /** Records a response that arrived (its body, if buffered, for an excerpt). */
  response(
    method: string,
    url: string,
    status: number,
    headers: Headers.Headers,
    spanId: string,
    body: Uint8Array | "streamed"
  ): void {
    this.push({ _tag: "Response", method, url, status, headers, spanId, body })
  }

  /** Records a request that failed, with the error the test got. */
  failure(
    method: string,
    url: string,
    spanId: string,
    error: { readonly _tag: string; readonly message: string }
  ): void {
    this.push({ _tag: "Failure", method, url, spanId, error })
  }

  /** Records an opened WebSocket. */
  websocket(url: string, spanId: string): void {
    this.push({ _tag: "WebSocket", url, spanId })
  }

  private push(entry: Entry): void {
    if (this.config.report === "never") return
    if (this.entries.length >= keptEntries) this.entries.shift()
    this.entries.push(entry)
    this.count++
    this.hookCurrentTest()
  }

  /** Under vitest: print when the current test fails, with what it did (once per test). */
  private hookCurrentTest(): void {
    const test = currentTest()
    if (test === undefined || test === this.hooked) return
    this.hooked = test
    const from = this.count - 1
    test.onFailed ??= []
    test.onFailed.push(() => {
      if (this.printedFor !== test) this.print(from)
    })
  }

  /** At scope close: print on failure (and tell the failing test it need not print again). */
  onScopeClose(exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> {
    return Effect.sync(() => {
      if (exit._tag === "Success" || this.config.report === "never") return
      this.printedFor = currentTest()
      this.print(0)
    })
  }

  private print(fromCount: number): void {
    const skipped = this.count - this.entries.length
    const since = this.entries.slice(Math.max(0, fromCount - skipped))
    const inFlight = this.server()?.inFlight() ?? []
    if (since.length === 0 && inFlight.length === 0) return
    const finished = this.recorder.finished()
    const shown = since.slice(-maxEntries)
    const sections = shown.map((entry) => {
      const spans =
        entry.spanId === ""
          ? "    (no span)"
          : render(finished, entry.spanId)
              .split("\n")
              .map((line) => `    ${line}`)
              .join("\n")
      return [`  ${title(entry)}`, ...details(entry), "  spans:", spans].join("\n")
    })
    const omitted = since.length > maxEntries ? ` (last ${maxEntries} of ${since.length})` : ""
    let text = `effect-http-testkit: the test failed; its exchanges${omitted}:\n${sections.join("\n\n")}`
    if (inFlight.length > 0) text += `\n\n  still in flight:\n${inFlight.map((what) => `    ${what}`).join("\n")}`
    if (text.length > maxReport) text = `${text.slice(0, maxReport)}\n  … (report cut at ${maxReport} characters)`
    console.error(text)
  }
}

const title = (entry: Entry): string => {
  switch (entry._tag) {
    case "Response":
      return `${entry.method} ${entry.url} -> ${entry.status}${entry.body === "streamed" ? " (streamed)" : ""}`
    case "Failure":
      return `${entry.method} ${entry.url} -> failed: ${entry.error._tag}`
    case "WebSocket":
      return `WebSocket ${entry.url} -> open`
  }
}

const details = (entry: Entry): ReadonlyArray<string> => {
  switch (entry._tag) {
    case "Response":
      return [
        ...Object.entries(entry.headers)
          .slice(0, 20)
          .map(([name, value]) => `    ${name}: ${value}`),
        `    body: ${entry.body === "streamed" ? "(streamed to the test)" : excerpt(entry.body)}`
      ]
    case "Failure":
      return entry.error.message
        .split("\n")
        .slice(0, 12)
        .map((line) => `    ${line}`)
    case "WebSocket":
      return []
  }
}

const excerpt = (body: Uint8Array): string => {
  if (body.length === 0) return "(empty)"
  const text = new TextDecoder("utf-8", { fatal: false }).decode(body.subarray(0, maxBody))
  // Mostly unprintable bytes: say what it is instead of printing noise.
  const unprintable = text.split("").filter((c) => c === "\uFFFD" || c.charCodeAt(0) < 9).length
  if (unprintable > text.length / 10) return `(${body.length} bytes of binary data)`
  return body.length > maxBody ? `${text}… (${body.length} bytes)` : text
}
