/**
 * Response body decoding: whole bodies and streamed ones, every coding the kit accepts.
 */
import { Readable } from "node:stream"
import * as Zlib from "node:zlib"
import { describe, expect, it } from "vitest"
import { codings, decodeBody, defaultAcceptEncoding, streamDecoder, unsupportedCoding } from "../src/index.js"

const text = "héllo, world ✓ ".repeat(200)
const plain = new TextEncoder().encode(text)
const zstdFrame = (bytes: Uint8Array): Uint8Array | undefined => {
  const compress = (Zlib as { zstdCompressSync?: (input: Uint8Array) => Buffer }).zstdCompressSync
  return compress === undefined ? undefined : compress(bytes)
}

/** Every coding the kit decodes, as an encoder of whole bodies. */
const encoders: Record<string, (bytes: Uint8Array) => Uint8Array> = {
  gzip: (bytes) => Zlib.gzipSync(bytes),
  "x-gzip": (bytes) => Zlib.gzipSync(bytes),
  deflate: (bytes) => Zlib.deflateSync(bytes),
  br: (bytes) => Zlib.brotliCompressSync(bytes)
}

const decodeStreamed = async (coding: string, body: Uint8Array, chunkSize: number): Promise<string> => {
  const make = streamDecoder(coding)
  if (make === undefined) throw new Error(`no decoder for ${coding}`)
  const chunks = Array.from({ length: Math.ceil(body.length / chunkSize) }, (_, i) =>
    body.subarray(i * chunkSize, (i + 1) * chunkSize)
  )
  const out: Array<Buffer> = []
  for await (const chunk of Readable.from(chunks).pipe(make())) out.push(chunk as Buffer)
  return Buffer.concat(out).toString("utf8")
}

describe("decodeBody", () => {
  for (const [coding, encode] of Object.entries(encoders)) {
    it(`undoes ${coding}`, () => {
      const result = decodeBody(coding, encode(plain))
      expect("bytes" in result && new TextDecoder().decode(result.bytes)).toBe(text)
    })
  }

  it("undoes zstd (Node's own decoder where it has one, fzstd before Node 22.15)", () => {
    // A zstd frame of "hi" (written by `zstd`): decodable on every Node version.
    const frame = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x02, 0x11, 0x00, 0x00, 0x68, 0x69])
    const result = decodeBody("zstd", frame)
    expect("bytes" in result && new TextDecoder().decode(result.bytes)).toBe("hi")
    const compressed = zstdFrame(plain)
    if (compressed !== undefined) {
      const whole = decodeBody("zstd", compressed)
      expect("bytes" in whole && new TextDecoder().decode(whole.bytes)).toBe(text)
    }
  })

  it("accepts raw deflate as browsers do", () => {
    const result = decodeBody("deflate", Zlib.deflateRawSync(plain))
    expect("bytes" in result && new TextDecoder().decode(result.bytes)).toBe(text)
  })

  it("undoes stacked codings in reverse order, skipping identity, names and case as sent", () => {
    const twice = Zlib.brotliCompressSync(Zlib.gzipSync(plain))
    const result = decodeBody("GZIP, identity, br", twice)
    expect("bytes" in result && new TextDecoder().decode(result.bytes)).toBe(text)
    expect(codings(" gzip ,identity,, BR")).toEqual(["gzip", "br"])
    expect(codings(undefined)).toEqual([])
  })

  it("an unknown coding or corrupt data is a problem naming the coding; an empty body is left alone", () => {
    expect(decodeBody("compress", plain)).toEqual({ problem: unsupportedCoding("compress") })
    expect(unsupportedCoding("compress")).toBe(
      'unsupported content-encoding "compress": the client decodes gzip, deflate, br and zstd'
    )
    const corrupt = decodeBody("gzip", plain)
    expect("problem" in corrupt && corrupt.problem).toMatch(/^corrupt gzip body: /)
    expect(decodeBody("gzip", new Uint8Array())).toEqual({ bytes: new Uint8Array() })
    expect(defaultAcceptEncoding).toBe("gzip, deflate, br, zstd")
  })
})

describe("streamDecoder", () => {
  for (const [coding, encode] of Object.entries(encoders)) {
    it(`undoes ${coding} chunk by chunk, one byte at a time too`, async () => {
      const body = encode(plain)
      expect(await decodeStreamed(coding, body, 1)).toBe(text)
      expect(await decodeStreamed(coding, body, 64)).toBe(text)
    })
  }

  it("undoes raw deflate and zstd chunk by chunk", async () => {
    expect(await decodeStreamed("deflate", Zlib.deflateRawSync(plain), 1)).toBe(text)
    const compressed =
      zstdFrame(plain) ?? Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x02, 0x11, 0x00, 0x00, 0x68, 0x69])
    const expected = zstdFrame(plain) === undefined ? "hi" : text
    expect(await decodeStreamed("zstd", compressed, 3)).toBe(expected)
  })

  it("has no decoder for a coding it does not know", () => {
    expect(streamDecoder("compress")).toBeUndefined()
  })
})
