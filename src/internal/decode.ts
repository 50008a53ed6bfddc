import * as Zlib from "node:zlib"
import * as Zstd from "fzstd"

/**
 * Decodes a whole `Content-Encoding`d body. Codings are undone in reverse order of
 * application; `identity` is skipped. Returns the decoded bytes, or a problem naming the
 * coding that is unknown or whose data is corrupt.
 *
 * @internal
 */
export const decodeBody = (
  contentEncoding: string | undefined,
  body: Uint8Array
): { readonly bytes: Uint8Array } | { readonly problem: string } => {
  if (contentEncoding === undefined || body.length === 0) return { bytes: body }
  const codings = contentEncoding
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "" && coding !== "identity")
  let bytes = body
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i]
    const decoder = decoders[coding]
    if (decoder === undefined) {
      return { problem: `unsupported content-encoding ${JSON.stringify(coding)}: the client decodes ${supported}` }
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

const supported = "gzip, deflate, br and zstd"

/** @internal */
export const defaultAcceptEncoding = "gzip, deflate, br, zstd"
