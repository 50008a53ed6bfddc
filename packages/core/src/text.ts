/**
 * One Server-Sent Event frame's fields (the public `TestStream.SseEvent` has this shape):
 * only the fields present in the frame.
 */
export interface SseEvent {
  readonly event?: string
  readonly data?: string
  readonly id?: string
  readonly retry?: number
}

/** How many bytes the UTF-8 sequence led by `lead` (a byte from 0xC0 up) spans, at most. */
const sequenceLength = (lead: number): number => (lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2)

/**
 * Decodes a UTF-8 byte stream chunk by chunk, as a streaming `TextDecoder` does (invalid
 * bytes become U+FFFD), and drops one leading BOM.
 *
 * Each chunk is decoded in one call without `stream: true`, which takes the decoder's fast path
 * (5x the speed of a streaming decoder on Node 20): a character left incomplete at the end of a chunk
 * (at most 3 bytes) is held back and decoded with the continuation bytes that open the next one.
 * Cutting there gives the same text as decoding the whole: a cut right before a byte that is
 * not a continuation byte, or after a lead byte and as many bytes as its sequence spans, falls
 * where a streaming decoder is between characters (a byte that cannot continue a sequence ends
 * it with one U+FFFD, as decoding a piece that ends there does).
 */
export class Utf8Text {
  // `ignoreBOM`: the BOM is dropped by hand, only at the very start of the stream. (Node 24's
  // streaming decoder, left to do it, also dropped a second BOM when the first one was split
  // across chunks.)
  private readonly decoder = new TextDecoder("utf-8", { ignoreBOM: true })
  /** Whether any text was decoded yet: only the very first character may be a BOM to drop. */
  private started = false
  /** The bytes of a character the last chunk ended in the middle of, led by its lead byte. */
  private carry: Uint8Array | undefined = undefined

  /** The text of `bytes`, less any character they leave incomplete; `""` if none. */
  decode(bytes: Uint8Array): string {
    const length = bytes.length
    let from = 0
    let head = ""
    const carry = this.carry
    if (carry !== undefined) {
      const need = sequenceLength(carry[0]) - carry.length
      while (from < need && from < length && (bytes[from] & 0xc0) === 0x80) from++
      const piece = new Uint8Array(carry.length + from)
      piece.set(carry)
      piece.set(bytes.subarray(0, from), carry.length)
      if (from === length && from < need) {
        // Still incomplete: all of `bytes` continues it.
        this.carry = piece
        return ""
      }
      this.carry = undefined
      head = this.decoder.decode(piece)
    }
    // Holds back a character the chunk ends in the middle of: a lead byte among the last 3
    // bytes with fewer bytes after it than its sequence spans.
    let to = length
    for (let at = length - 1; at >= from && at >= length - 3; at--) {
      const byte = bytes[at]
      if (byte < 0x80) break
      if (byte >= 0xc0) {
        if (length - at < sequenceLength(byte)) to = at
        break
      }
    }
    if (to < length) {
      // A copy (a Buffer's `slice` would not make one): the source may reuse its buffer.
      const carried = new Uint8Array(length - to)
      carried.set(bytes.subarray(to))
      this.carry = carried
    }
    const body = to === from ? "" : this.decoder.decode(from === 0 && to === length ? bytes : bytes.subarray(from, to))
    return this.withoutBom(head === "" ? body : head + body)
  }

  /** The text of a character left incomplete at the end of the stream (U+FFFD), if any. */
  end(): string {
    const carry = this.carry
    if (carry === undefined) return ""
    this.carry = undefined
    return this.withoutBom(this.decoder.decode(carry))
  }

  private withoutBom(text: string): string {
    if (this.started || text.length === 0) return text
    this.started = true
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  }
}

/**
 * Splits a UTF-8 byte stream into lines ended by LF, CRLF or CR, whatever the chunk
 * boundaries: a multi-byte character or a CRLF pair split across chunks is put back together.
 * A leading BOM is dropped.
 *
 * Linear in the input: each chunk's text is scanned once for line ends, from where the last
 * line ended; the unterminated part of a line is kept as a list of pieces and joined once,
 * when its line end arrives. (Prepending it to every new chunk and scanning again from the
 * start made a long line arriving in many chunks quadratic: 76 s for 100 MB in 64 KiB chunks.)
 */
export class LineSplitter {
  private readonly utf8 = new Utf8Text()
  /** The pieces of the line in progress, each from an earlier chunk; never empty strings. */
  private pending: Array<string> = []
  /** The last chunk ended with CR: a LF at the start of the next one belongs to it. */
  private pendingCR = false

  /**
   * Calls `onLine(text, start, end)` for each complete line: the line is
   * `text.slice(start, end)`, left to the caller to cut only what it needs.
   */
  push(bytes: Uint8Array, onLine: (text: string, start: number, end: number) => void): void {
    this.scan(this.utf8.decode(bytes), onLine)
  }

  /** The last, unterminated line, if any. */
  end(): string | undefined {
    const tail = this.utf8.end()
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

/** A frame with only `data`, the common one: always this one shape, for V8's sake. */
const dataOnly = (data: string): SseEvent => ({ data })

/**
 * Event-stream framing per the WHATWG HTML "server-sent events" parsing rules, reporting raw
 * frames: the fields present in each frame (event, data joined with LF, id, retry when all
 * digits); comments and unknown fields ignored; a frame with none of the fields, or left
 * unterminated at the end of the stream, yields nothing.
 *
 * It splits lines itself, by the rules of {@link LineSplitter} (CRLF put back together across
 * chunks, the unterminated part of a line kept as pieces joined once), so that the common
 * frame, a `data:` line and a blank line, both LF-ended, with no field before them, is reported
 * straight from the decoded text: one search for the next LF, one cut, one object per event.
 */
export class SseParser {
  private readonly utf8 = new Utf8Text()
  /** The pieces of the line in progress, each from an earlier chunk; never empty strings. */
  private pending: Array<string> = []
  /** The last chunk ended with CR: a LF at the start of the next one belongs to it. */
  private pendingCR = false
  /** Whether the frame in progress has any field set (then the fast path is off). */
  private open = false
  private event: string | undefined = undefined
  private data: string | undefined = undefined
  private id: string | undefined = undefined
  private retry: number | undefined = undefined

  /** Parses `bytes`, pushing the frames they complete to `out`. */
  push(bytes: Uint8Array, out: Array<SseEvent>): void {
    const text = this.utf8.decode(bytes)
    if (text.length !== 0) this.scan(text, out)
  }

  private scan(text: string, out: Array<SseEvent>): void {
    const length = text.length
    let start = 0
    if (this.pendingCR) {
      this.pendingCR = false
      if (text.charCodeAt(0) === 10) {
        if (length === 1) return
        start = 1
      }
    }
    // The next LF and CR at or after `start`; -1 once there is none left in this text. Each
    // search starts past the previous find, so the text is scanned at most once per character.
    let lf = text.indexOf("\n", start)
    let cr = text.indexOf("\r", start)
    if (this.pending.length !== 0) {
      if (lf === -1 && cr === -1) {
        this.pending.push(start === 0 ? text : text.slice(start))
        return
      }
      // The one place a line is built from pieces: those from earlier chunks and this chunk's head.
      const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr
      if (end > start) this.pending.push(text.slice(start, end))
      const line = this.pending.length === 1 ? this.pending[0] : this.pending.join("")
      this.pending = []
      this.field(line, 0, line.length)
      start = this.after(text, end)
      if (lf !== -1 && lf < start) lf = text.indexOf("\n", start)
      if (cr !== -1 && cr < start) cr = text.indexOf("\r", start)
    }
    while (lf !== -1 || cr !== -1) {
      let end: number
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        // Fast path: `data:` at the start of a frame, its line ended by LF and followed by a
        // blank line ended by LF, the whole frame in this text. (A CR in it would have come first.)
        if (
          !this.open &&
          text.charCodeAt(lf + 1) === 10 &&
          text.charCodeAt(start + 4) === 58 &&
          text.charCodeAt(start) === 100 &&
          text.charCodeAt(start + 1) === 97 &&
          text.charCodeAt(start + 2) === 116 &&
          text.charCodeAt(start + 3) === 97 &&
          start + 4 < lf
        ) {
          out.push(dataOnly(text.slice(text.charCodeAt(start + 5) === 32 ? start + 6 : start + 5, lf)))
          start = lf + 2
          lf = text.indexOf("\n", start)
          continue
        }
        end = lf
      } else {
        end = cr
      }
      if (end === start) this.dispatch(out)
      else this.field(text, start, end)
      start = this.after(text, end)
      if (lf !== -1 && lf < start) lf = text.indexOf("\n", start)
      if (cr !== -1 && cr < start) cr = text.indexOf("\r", start)
    }
    if (start < length) this.pending.push(start === 0 ? text : text.slice(start))
  }

  /** Where the next line starts after the line end at `end`; a CR ending the text may have its LF in the next one. */
  private after(text: string, end: number): number {
    if (text.charCodeAt(end) === 10) return end + 1
    if (end + 1 === text.length) {
      this.pendingCR = true
      return end + 1
    }
    return text.charCodeAt(end + 1) === 10 ? end + 2 : end + 1
  }

  /** The blank line: reports the frame in progress, if it has any field. */
  private dispatch(out: Array<SseEvent>): void {
    if (!this.open) return
    this.open = false
    const { event, data, id, retry } = this
    if (event === undefined && id === undefined && retry === undefined) {
      out.push(dataOnly(data as string))
      this.data = undefined
      return
    }
    const frame: { event?: string; data?: string; id?: string; retry?: number } = {}
    if (event !== undefined) frame.event = event
    if (data !== undefined) frame.data = data
    if (id !== undefined) frame.id = id
    if (retry !== undefined) frame.retry = retry
    out.push(frame)
    this.event = this.data = this.id = this.retry = undefined
  }

  /** A non-blank line, `s.slice(start, end)`: only a known field's value is ever cut out of `s`. */
  private field(s: string, start: number, end: number): void {
    if (s.charCodeAt(start) === 58) return
    // The colon is looked for within the line only (`s` may hold many more lines after it), and
    // only as far as a known field's name reaches: a name of 6 characters or more is ignored.
    const limit = end - start > 6 ? start + 6 : end
    let colon = -1
    for (let i = start + 1; i < limit; i++) {
      if (s.charCodeAt(i) === 58) {
        colon = i
        break
      }
    }
    if (colon === -1) {
      if (limit < end) return
      colon = end
    }
    const valueStart = colon === end ? end : s.charCodeAt(colon + 1) === 32 && colon + 1 < end ? colon + 2 : colon + 1
    switch (colon - start) {
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
          this.open = true
        }
        break
      case 5:
        if (s.startsWith("event", start)) {
          this.event = s.slice(valueStart, end)
          this.open = true
        } else if (s.startsWith("retry", start) && valueStart < end) {
          for (let i = valueStart; i < end; i++) {
            const c = s.charCodeAt(i)
            if (c < 48 || c > 57) return
          }
          this.retry = Number(s.slice(valueStart, end))
          this.open = true
        }
        break
      case 2:
        if (s.charCodeAt(start) === 105 && s.charCodeAt(start + 1) === 100) {
          const value = s.slice(valueStart, end)
          if (value.includes("\0")) return
          this.id = value
          this.open = true
        }
        break
    }
  }
}

/**
 * Newline-delimited JSON: one JSON value per line, whatever the chunk boundaries; blank and
 * whitespace-only lines are skipped. Parsing stops at the first line that is not JSON, which
 * is kept in `failure` (its 1-based number counts every line, blank ones included).
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
