/**
 * What a person needs to see when a test fails: the last exchanges of every kind (buffered
 * requests, streams, WebSockets, the platform HttpClient's), the requests that failed and
 * why, the requests still in flight, and the span tree of each. Printed to stderr, bounded
 * in size (see `formatReport`):
 * - under vitest, when the current test fails (also for a client shared by `it.layer`, whose
 *   own scope closes successfully), with what happened during that test;
 * - otherwise when the scope that owns the client closes with a failure (`closed(true)`):
 *   outside vitest, or for a test that did nothing with this client. Under vitest, a scope
 *   that fails inside a test that then passes (a layer provided to one request whose failure
 *   the test expects) prints nothing: the test's own failure is what prints.
 */
import { formatReport, type ReportEntry } from "./render.js"
import { currentTest } from "./runner.js"

/** How many entries a client keeps for its report (it shows the last few of them). */
const keptEntries = 20

export class FailureReporter {
  /** What the test did with the app, kept as it came (text is made only when a report is printed). */
  private readonly entries: Array<ReportEntry> = []
  private count = 0
  private hooked: object | undefined = undefined
  /** The test whose report the scope close already printed (the test's failure need not again). */
  private printedFor: object | undefined = undefined
  /** What was in flight when the owning scope closed (its close ends them before a test's report prints). */
  private inFlightAtClose: ReadonlyArray<string> | undefined = undefined

  constructor(
    private readonly enabled: boolean,
    /** The span tree under a span, as text. */
    private readonly spanTree: (spanId: string) => string,
    /** What is still in flight, one line each. */
    private readonly inFlight: () => ReadonlyArray<string> = () => []
  ) {}

  /** Records a response that arrived (its body, if buffered, for an excerpt). */
  response(
    method: string,
    url: string,
    status: number,
    headers: Readonly<Record<string, string>>,
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

  private push(entry: ReportEntry): void {
    if (!this.enabled) return
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

  /** The owning scope closed: print if it failed (and tell the failing test it need not print again). */
  closed(failed: boolean): void {
    if (!this.enabled) return
    this.inFlightAtClose = this.inFlight()
    if (!failed) return
    const test = currentTest()
    // The current test's failure prints what it did; a test that passes needs no report.
    if (test !== undefined && test === this.hooked) return
    this.printedFor = test
    this.print(0)
  }

  private print(fromCount: number): void {
    const skipped = this.count - this.entries.length
    const since = this.entries.slice(Math.max(0, fromCount - skipped))
    const text = formatReport(since, this.inFlightAtClose ?? this.inFlight(), this.spanTree)
    if (text !== undefined) console.error(text)
  }
}
