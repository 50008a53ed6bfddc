/** Byte helpers shared by the tests. */

const encoder = new TextEncoder()

/** `text` as UTF-8 bytes. */
export const utf8 = (text: string): Uint8Array => encoder.encode(text)

/** The parts, one after the other, in one array. */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
