import { Transform, type TransformCallback } from "node:stream"
import * as Zlib from "node:zlib"
import * as Zstd from "fzstd"

/**
 * Decodes a whole `Content-Encoding`d body. Codings are undone in reverse order of
 * application; `identity` is skipped. Returns the decoded bytes, or a problem naming the
 * coding that is unknown or whose data is corrupt.
 */
export const decodeBody = (
  contentEncoding: string | undefined,
  body: Uint8Array
): { readonly bytes: Uint8Array } | { readonly problem: string } => {
  if (contentEncoding === undefined || body.length === 0) return { bytes: body }
  const list = codings(contentEncoding)
  let bytes = body
  for (let i = list.length - 1; i >= 0; i--) {
    const coding = list[i]
    const decoder = decoders[coding]
    if (decoder === undefined) {
      return { problem: unsupportedCoding(coding) }
    }
    try {
      bytes = decoder(bytes)
    } catch (cause) {
      return { problem: `corrupt ${coding} body: ${cause instanceof Error ? cause.message : String(cause)}` }
    }
  }
  return { bytes }
}

// Node decodes zstd natively from 22.15/23.8; before that the fzstd package does.
const nodeZstd = (Zlib as { zstdDecompressSync?: (buffer: Uint8Array) => Buffer }).zstdDecompressSync

const decoders: Record<string, (bytes: Uint8Array) => Uint8Array> = {
  // Node's gunzip reads every member of a multi-member gzip stream.
  gzip: (bytes) => Zlib.gunzipSync(bytes),
  "x-gzip": (bytes) => Zlib.gunzipSync(bytes),
  // "deflate" means zlib-wrapped data, but some servers send raw deflate: accept both, as browsers do.
  deflate: (bytes) =>
    (bytes[0] & 0x0f) === 8 && ((bytes[0] << 8) | bytes[1]) % 31 === 0
      ? Zlib.inflateSync(bytes)
      : Zlib.inflateRawSync(bytes),
  br: (bytes) => Zlib.brotliDecompressSync(bytes),
  zstd: (bytes) => (nodeZstd === undefined ? Zstd.decompress(bytes) : nodeZstd(bytes))
}

export const unsupportedCoding = (coding: string): string =>
  `unsupported content-encoding ${JSON.stringify(coding)}: the client decodes gzip, deflate, br and zstd`

export const defaultAcceptEncoding = "gzip, deflate, br, zstd"

/**
 * The Node Transforms that undo each coding incrementally, or `undefined` for an unknown one.
 */
export const streamDecoder = (coding: string): (() => Transform) | undefined => {
  switch (coding) {
    case "gzip":
    case "x-gzip":
      return () => new LazyDecoder(1, () => Zlib.createGunzip())
    case "deflate":
      // "deflate" means zlib-wrapped data, but some servers send raw deflate: the first two bytes tell.
      return () => new LazyDecoder(2, (head) => (isZlibHeader(head) ? Zlib.createInflate() : Zlib.createInflateRaw()))
    case "br":
      return () => new LazyDecoder(1, () => Zlib.createBrotliDecompress())
    case "zstd":
      return () => new LazyDecoder(1, () => (nodeZstdStream === undefined ? new FzstdTransform() : nodeZstdStream()))
    default:
      return undefined
  }
}

export const codings = (contentEncoding: string | undefined): ReadonlyArray<string> =>
  contentEncoding === undefined
    ? []
    : contentEncoding
        .split(",")
        .map((coding) => coding.trim().toLowerCase())
        .filter((coding) => coding !== "" && coding !== "identity")

const nodeZstdStream = (Zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress

const isZlibHeader = (bytes: Uint8Array) =>
  bytes.length >= 2 && (bytes[0] & 0x0f) === 8 && ((bytes[0] << 8) | bytes[1]) % 31 === 0

/**
 * Starts the real decoder only once there are enough bytes to choose it (`need`), so an
 * empty body decodes to nothing instead of "unexpected end of file", and "deflate" can tell
 * zlib-wrapped from raw data even when the first chunk is a single byte.
 */
class LazyDecoder extends Transform {
  private inner: Transform | undefined
  private pending: Array<Buffer> = []
  private pendingLength = 0

  constructor(
    private readonly need: number,
    private readonly make: (head: Buffer) => Transform
  ) {
    super()
  }

  private start(): Transform {
    const head = Buffer.concat(this.pending)
    const inner = this.make(head)
    inner.on("data", (data: Buffer) => this.push(data))
    inner.on("error", (error) => this.destroy(error))
    this.inner = inner
    this.pending = []
    inner.write(head)
    return inner
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.inner !== undefined) {
      this.inner.write(chunk, () => callback())
      return
    }
    if (chunk.length > 0) {
      this.pending.push(chunk)
      this.pendingLength += chunk.length
      if (this.pendingLength >= this.need) this.start()
    }
    callback()
  }

  override _flush(callback: TransformCallback): void {
    if (this.inner === undefined && this.pendingLength === 0) {
      callback()
      return
    }
    const inner = this.inner ?? this.start()
    inner.once("end", () => callback())
    inner.end()
  }
}

/** zstd for Node versions without it, on fzstd's streaming decoder. */
class FzstdTransform extends Transform {
  private readonly decoder = new Zstd.Decompress((data) => {
    this.push(data)
  })
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.push(chunk)
      callback()
    } catch (error) {
      callback(error as Error)
    }
  }
  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true)
      callback()
    } catch (error) {
      callback(error as Error)
    }
  }
}
