import type { SseEvent } from "../Stream.js"

/**
 * Splits a UTF-8 byte stream into lines ended by LF, CRLF or CR, whatever the chunk
 * boundaries: a multi-byte character or a CRLF pair split across chunks is put back together.
 * A leading BOM is dropped.
 *
 * Linear in the input: each chunk's text is scanned once for line ends, from where the last
 * line ended; the unterminated part of a line is kept as a list of pieces and joined once,
 * when its line end arrives. (Prepending it to every new chunk and scanning again from the
 * start made a long line arriving in many chunks quadratic: 76 s for 100 MB in 64 KiB chunks.)
 *
 * @internal
 */
export class LineSplitter {
  // The BOM is dropped by hand: Node 24's decoder, left to do it, also drops a second BOM
  // when the first one is split across chunks (Node 20's keeps it, as the Encoding standard says).
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true })
  /** Whether any text was decoded yet: only the very first character may be a BOM to drop. */
  private started = false
  /** The pieces of the line in progress, each from an earlier chunk; never empty strings. */
  private pending: Array<string> = []
  /** The last chunk ended with CR: a LF at the start of the next one belongs to it. */
  private pendingCR = false

  /**
   * Calls `onLine(text, start, end)` for each complete line: the line is
   * `text.slice(start, end)`, left to the caller to cut only what it needs.
   */
  push(bytes: Uint8Array, onLine: (text: string, start: number, end: number) => void): void {
    this.scan(this.withoutBom(this.decoder.decode(bytes, { stream: true })), onLine)
  }

  private withoutBom(text: string): string {
    if (this.started || text.length === 0) return text
    this.started = true
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  }

  /** The last, unterminated line, if any. */
  end(): string | undefined {
    const tail = this.withoutBom(this.decoder.decode())
    if (tail !== "") this.scan(tail, ignore)
    const pending = this.pending
    if (pending.length === 0) return undefined
    this.pending = []
    return pending.length === 1 ? pending[0] : pending.join("")
  }

  private scan(text: string, onLine: (text: string, start: number, end: number) => void): void {
    const length = text.length
    if (length === 0) return
    let start = 0
    if (this.pendingCR) {
      this.pendingCR = false
      if (text.charCodeAt(0) === 10) start = 1
    }
    // The next LF and CR at or after `start`; -1 once there is none left in this text. Each
    // search starts past the previous find, so the text is scanned at most once per character.
    let lf = text.indexOf("\n", start)
    let cr = text.indexOf("\r", start)
    while (lf !== -1 || cr !== -1) {
      let end: number
      let next: number
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        end = lf
        next = lf + 1
      } else {
        end = cr
        if (cr + 1 === length) {
          this.pendingCR = true
          next = length
        } else {
          next = text.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1
        }
      }
      if (this.pending.length === 0) {
        onLine(text, start, end)
      } else {
        // The one place a line is built: the pieces from earlier chunks and this chunk's head.
        if (end > start) this.pending.push(text.slice(start, end))
        const line = this.pending.join("")
        this.pending = []
        onLine(line, 0, line.length)
      }
      start = next
      if (lf !== -1 && lf < start) lf = text.indexOf("\n", start)
      if (cr !== -1 && cr < start) cr = text.indexOf("\r", start)
    }
    if (start < length) this.pending.push(start === 0 ? text : text.slice(start))
  }
}

const ignore = () => {}

const digitsRe = /^[0-9]+$/

/**
 * Event-stream framing per the WHATWG HTML "server-sent events" parsing rules, reporting raw
 * frames: the fields present in each frame (event, data joined with LF, id, retry when all
 * digits); comments and unknown fields ignored; a frame with none of the fields, or left
 * unterminated at the end of the stream, yields nothing.
 *
 * @internal
 */
export class SseParser {
  private readonly lines = new LineSplitter()
  private out: Array<SseEvent> = []
  private event: string | undefined = undefined
  private data: string | undefined = undefined
  private id: string | undefined = undefined
  private retry: number | undefined = undefined
  push(bytes: Uint8Array, out: Array<SseEvent>): void {
    this.out = out
    this.lines.push(bytes, this.line)
  }

  // Works on the decoded text in place: only a field's value is ever cut out of it.
  private readonly line = (s: string, start: number, end: number): void => {
    if (start === end) {
      const { event, data, id, retry } = this
      if (event === undefined && id === undefined && retry === undefined) {
        // The common frame, `data` alone, as one literal: a stable object shape for V8.
        if (data !== undefined) {
          this.out.push({ data })
          this.data = undefined
        }
        return
      }
      const frame: { event?: string; data?: string; id?: string; retry?: number } = {}
      if (event !== undefined) frame.event = event
      if (data !== undefined) frame.data = data
      if (id !== undefined) frame.id = id
      if (retry !== undefined) frame.retry = retry
      this.out.push(frame)
      this.event = this.data = this.id = this.retry = undefined
      return
    }
    if (s.charCodeAt(start) === 58) return
    // The colon is looked for within the line only: `s` may hold many more lines after it, and
    // searching the rest of `s` from every colon-less line would be quadratic in a chunk.
    let colon = -1
    for (let i = start + 1; i < end; i++) {
      if (s.charCodeAt(i) === 58) {
        colon = i
        break
      }
    }
    const fieldEnd = colon === -1 ? end : colon
    const valueStart = colon === -1 ? end : colon + 1 < end && s.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1
    switch (fieldEnd - start) {
      case 4:
        // "data", compared by char codes: the hottest line of an event stream.
        if (
          s.charCodeAt(start) === 100 &&
          s.charCodeAt(start + 1) === 97 &&
          s.charCodeAt(start + 2) === 116 &&
          s.charCodeAt(start + 3) === 97
        ) {
          const value = s.slice(valueStart, end)
          this.data = this.data === undefined ? value : `${this.data}\n${value}`
        }
        break
      case 5:
        if (s.startsWith("event", start)) {
          this.event = s.slice(valueStart, end)
        } else if (s.startsWith("retry", start)) {
          const value = s.slice(valueStart, end)
          if (digitsRe.test(value)) this.retry = Number(value)
        }
        break
      case 2:
        if (s.startsWith("id", start)) {
          const value = s.slice(valueStart, end)
          if (!value.includes("\0")) this.id = value
        }
        break
    }
  }
}

/**
 * Newline-delimited JSON: one JSON value per line, whatever the chunk boundaries; blank and
 * whitespace-only lines are skipped. Parsing stops at the first line that is not JSON, which
 * is kept in `failure` (its 1-based number counts every line, blank ones included).
 *
 * @internal
 */
export class NdjsonParser {
  private readonly lines = new LineSplitter()
  private out: Array<unknown> = []
  private count = 0
  failure: { readonly line: number; readonly text: string; readonly cause: unknown } | undefined = undefined

  /** Parses the lines `bytes` completes into `out`; nothing once a line has failed. */
  push(bytes: Uint8Array, out: Array<unknown>): void {
    if (this.failure !== undefined) return
    this.out = out
    this.lines.push(bytes, this.line)
  }

  /** Parses the last, unterminated line, if any, into `out`. */
  end(out: Array<unknown>): void {
    if (this.failure !== undefined) return
    const last = this.lines.end()
    if (last === undefined) return
    this.out = out
    this.line(last, 0, last.length)
  }

  private readonly line = (s: string, start: number, end: number): void => {
    this.count++
    if (this.failure !== undefined) return
    const text = s.slice(start, end)
    if (text.trim() === "") return
    try {
      this.out.push(JSON.parse(text))
    } catch (cause) {
      this.failure = { line: this.count, text, cause }
    }
  }
}
