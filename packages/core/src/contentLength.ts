/**
 * A `Content-Length` the test gives itself, checked against the body it sends. A real client
 * sends such a request as it is, and the server then reads it wrongly: a body longer than
 * its header is cut short (Node hands the app the declared bytes and reads the rest as the
 * next request), one shorter leaves the server waiting for bytes that never come. The kit
 * fails the request with `InvalidRequest` instead, saying how to fix it. Effect-free: shared
 * by every edition of the kit.
 */

/**
 * The length one `content-length` line declares (names in lower case, as the editions keep
 * them); `undefined` when there is none, several, or one that is not all digits (Node's
 * server refuses those itself: see `nodeRefusal`).
 */
export const declaredLength = (lines: ReadonlyArray<readonly [string, string]>): number | undefined => {
  let declared: string | undefined
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]![0] !== "content-length") continue
    if (declared !== undefined) return undefined
    declared = lines[i]![1]
  }
  return declared === undefined || !/^\d+$/.test(declared) ? undefined : Number(declared)
}

/** What is wrong with a whole body of `actual` bytes sent under `lines`, or `undefined`. */
export const lengthMismatch = (lines: ReadonlyArray<readonly [string, string]>, actual: number): string | undefined => {
  const declared = declaredLength(lines)
  if (declared === undefined || declared === actual) return undefined
  return (
    `the content-length header says ${declared} but the body is ${actual} bytes: drop the header (the kit sets ` +
    "the right one) or make it match"
  )
}

const streamFix = "drop the header (a Stream body is then sent chunked) or make it match"

/**
 * Counts a Stream body's bytes against its declared length as they are produced: `add` says
 * what is wrong once the body has gone past it, `end` once the body ended short of it.
 */
export class StreamLength {
  private sent = 0
  constructor(readonly declared: number) {}

  add(bytes: number): string | undefined {
    this.sent += bytes
    return this.sent > this.declared
      ? `the content-length header says ${this.declared} but the Stream body gave more (${this.sent} bytes so far): ${streamFix}`
      : undefined
  }

  end(): string | undefined {
    return this.sent < this.declared
      ? `the content-length header says ${this.declared} but the Stream body ended after ${this.sent} bytes: ${streamFix}`
      : undefined
  }
}
