import type { SseEvent } from "../Stream.js"

/**
 * Splits a UTF-8 byte stream into lines ended by LF, CRLF or CR, whatever the chunk
 * boundaries: a multi-byte character or a CRLF pair split across chunks is put back together.
 * A leading BOM is dropped.
 *
 * @internal
 */
export class LineSplitter {
  private readonly decoder = new TextDecoder("utf-8")
  private rest = ""
  /** The last chunk ended with CR: a LF at the start of the next one belongs to it. */
  private pendingCR = false

  push(bytes: Uint8Array, out: Array<string>): void {
    this.scan(this.decoder.decode(bytes, { stream: true }), out)
  }

  /** The last, unterminated line, if any. */
  end(): string | undefined {
    const tail = this.decoder.decode()
    if (tail !== "") this.scan(tail, [])
    const last = this.rest
    this.rest = ""
    return last === "" ? undefined : last
  }

  private scan(text: string, out: Array<string>): void {
    if (text === "") return
    let start = 0
    if (this.pendingCR) {
      this.pendingCR = false
      if (text.charCodeAt(0) === 10) start = 1
    }
    const s = start === 0 && this.rest === "" ? text : start === 0 ? this.rest + text : this.rest + text.slice(start)
    start = 0
    const length = s.length
    let lf = s.indexOf("\n")
    let cr = s.indexOf("\r")
    while (lf !== -1 || cr !== -1) {
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        out.push(s.slice(start, lf))
        start = lf + 1
        lf = s.indexOf("\n", start)
        continue
      }
      out.push(s.slice(start, cr))
      if (cr + 1 === length) {
        this.pendingCR = true
        start = length
        break
      }
      if (s.charCodeAt(cr + 1) === 10) {
        start = cr + 2
        lf = s.indexOf("\n", start)
      } else {
        start = cr + 1
      }
      cr = s.indexOf("\r", start)
    }
    this.rest = start === 0 ? s : s.slice(start)
  }
}

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
  private readonly buffer: Array<string> = []
  private event: string | undefined = undefined
  private data: string | undefined = undefined
  private id: string | undefined = undefined
  private retry: number | undefined = undefined

  push(bytes: Uint8Array, out: Array<SseEvent>): void {
    const lines = this.buffer
    this.lines.push(bytes, lines)
    for (let i = 0; i < lines.length; i++) this.line(lines[i], out)
    lines.length = 0
  }

  private line(line: string, out: Array<SseEvent>): void {
    if (line === "") {
      if (this.event !== undefined || this.data !== undefined || this.id !== undefined || this.retry !== undefined) {
        const frame: { event?: string; data?: string; id?: string; retry?: number } = {}
        if (this.event !== undefined) frame.event = this.event
        if (this.data !== undefined) frame.data = this.data
        if (this.id !== undefined) frame.id = this.id
        if (this.retry !== undefined) frame.retry = this.retry
        out.push(frame)
        this.event = this.data = this.id = this.retry = undefined
      }
      return
    }
    const colon = line.indexOf(":")
    if (colon === 0) return
    let field: string
    let value: string
    if (colon === -1) {
      field = line
      value = ""
    } else {
      field = line.slice(0, colon)
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1)
    }
    switch (field) {
      case "data":
        this.data = this.data === undefined ? value : `${this.data}\n${value}`
        break
      case "event":
        this.event = value
        break
      case "id":
        if (!value.includes("\0")) this.id = value
        break
      case "retry":
        if (digitsRe.test(value)) this.retry = Number(value)
        break
    }
  }
}
