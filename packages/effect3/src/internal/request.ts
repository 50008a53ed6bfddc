import { Readable } from "node:stream"
import * as Cookies from "@effect/platform/Cookies"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Headers from "@effect/platform/Headers"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import type { HttpMethod } from "@effect/platform/HttpMethod"
import * as ServerError from "@effect/platform/HttpServerError"
import * as ServerRequest from "@effect/platform/HttpServerRequest"
import type * as Multipart from "@effect/platform/Multipart"
import type * as Path from "@effect/platform/Path"
import type * as Socket from "@effect/platform/Socket"
import * as UrlParams from "@effect/platform/UrlParams"
import * as NodeMultipart from "@effect/platform-node/NodeMultipart"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { foldLines } from "@effect-http-testkit/core"
import type * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import type { ReadonlyRecord } from "effect/Record"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Connection } from "./websocket.js"

/**
 * What the client sends: the in-process equivalent of the bytes on a socket.
 *
 * @internal
 */
export interface RequestSource {
  readonly method: string
  /** path and query, as Node's `IncomingMessage.url` gives them */
  readonly url: string
  readonly headers: Headers.Headers
  /** The header lines as the client sends them, in order (a socket transport writes these). */
  readonly lines: ReadonlyArray<readonly [string, string]>
  readonly body: RequestBody
  readonly remoteAddress: string
  readonly sink: ResponseSink
  /** For a WebSocket handshake: the connection the app's `request.upgrade` accepts. */
  readonly connection?: Connection | undefined
}

/** @internal */
export type RequestBody =
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Bytes"; readonly bytes: Uint8Array }
  | { readonly _tag: "Stream"; readonly stream: Stream.Stream<Uint8Array, unknown> }

/**
 * Where the server writes the response: the in-process equivalent of Node's `ServerResponse`.
 * `write` returns an effect only when the reader needs time to catch up (backpressure).
 *
 * @internal
 */
export interface ResponseSink {
  /** The request's `http.server` span, set when the response is written. */
  spanId: string
  readonly headersSent: boolean
  readonly ended: boolean
  /** `streaming`: more body is still to come (Stream, Readable, FormData), rather than all of it at once. */
  head(status: number, headers: Headers.Headers, setCookie: ReadonlyArray<string>, streaming: boolean): void
  write(chunk: Uint8Array): Effect.Effect<void> | undefined
  end(): void
  /** The app failed after the headers were sent: the body stops short of what was promised. */
  abort(): void
  /** The server destroyed the connection before responding (as platform-node does on an oversized body). */
  reset(reason: string): void
  /** Called when the server has written the whole response (not on an upgrade). */
  onEnd?: (() => void) | undefined
  /**
   * The failure that reached the server's own error handling (`toHandled`'s), recorded when a
   * middleware given to `serve` keeps it out of the handler fiber's exit.
   */
  failure: Cause.Cause<unknown> | undefined
}

/**
 * Whether a response with this status may carry a body. Node discards what is written for
 * the others (and for HEAD requests), and so do we.
 *
 * @internal
 */
export const bodyAllowed = (status: number): boolean => status !== 204 && status !== 304 && status >= 200

/**
 * Folds header lines into the record a Node server hands the app (the rules live in the
 * Effect-free core).
 *
 * @internal
 */
export const foldHeaderLines = (lines: ReadonlyArray<readonly [string, string]>): Headers.Headers =>
  Headers.unsafeFromRecord(foldLines(lines))

export { hasSurroundingWhitespace } from "@effect-http-testkit/core"

/**
 * The request object the app sees. It behaves as platform-node's request does (same `url`,
 * header folding, body caching, persisted multipart through the same parser), but reads its
 * body from memory or an Effect Stream instead of a socket.
 *
 * @internal
 */
export class InProcessRequest extends Inspectable.Class implements ServerRequest.HttpServerRequest {
  readonly [ServerRequest.TypeId]: ServerRequest.TypeId = ServerRequest.TypeId
  readonly [IncomingMessage.TypeId]: IncomingMessage.TypeId = IncomingMessage.TypeId

  constructor(
    readonly source: RequestSource,
    readonly url: string = source.url,
    private readonly headersOverride?: Headers.Headers,
    private readonly remoteAddressOverride?: string
  ) {
    super()
  }

  get method(): HttpMethod {
    return this.source.method as HttpMethod
  }

  get originalUrl(): string {
    return this.source.url
  }

  get headers(): Headers.Headers {
    return this.headersOverride ?? this.source.headers
  }

  get remoteAddress(): Option.Option<string> {
    return Option.some(this.remoteAddressOverride ?? this.source.remoteAddress)
  }

  private cachedCookies: ReadonlyRecord<string, string> | undefined
  get cookies(): ReadonlyRecord<string, string> {
    this.cachedCookies ??= Cookies.parseHeader(this.headers.cookie ?? "")
    return this.cachedCookies
  }

  modify(options: {
    readonly url?: string | undefined
    readonly headers?: Headers.Headers | undefined
    readonly remoteAddress?: string | undefined
  }): ServerRequest.HttpServerRequest {
    return new InProcessRequest(
      this.source,
      options.url ?? this.url,
      options.headers ?? this.headersOverride,
      options.remoteAddress ?? this.remoteAddressOverride
    )
  }

  private decodeError(cause: unknown, description?: string): ServerError.RequestError {
    return new ServerError.RequestError({
      request: this,
      reason: "Decode",
      cause,
      ...(description === undefined ? {} : { description })
    })
  }

  get stream(): Stream.Stream<Uint8Array, ServerError.RequestError> {
    const body = this.source.body
    if (body._tag === "Empty") return Stream.empty
    if (body._tag === "Bytes") return Stream.fromIterable(socketChunks(body.bytes))
    return Stream.mapError(socketSized(body.stream), (cause) => this.decodeError(cause))
  }

  private bytesEffect: Effect.Effect<Uint8Array, ServerError.RequestError> | undefined
  /** The whole body, read once and cached as Node's request caches `text`. */
  private get bytes(): Effect.Effect<Uint8Array, ServerError.RequestError> {
    if (this.bytesEffect) return this.bytesEffect
    const body = this.source.body
    const read: Effect.Effect<Uint8Array, ServerError.RequestError> =
      body._tag === "Empty"
        ? Effect.succeed(new Uint8Array(0))
        : body._tag === "Bytes"
          ? Effect.succeed(body.bytes)
          : Effect.map(Stream.runCollect(this.stream), concatChunks)
    const limited = Effect.flatMap(IncomingMessage.MaxBodySize, (max) =>
      Effect.flatMap(read, (bytes) =>
        Option.isSome(max) && bytes.length > Number(max.value)
          ? Effect.fail(this.bodyTooLarge(max.value))
          : Effect.succeed(bytes)
      )
    )
    this.bytesEffect = Effect.runSync(Effect.cached(limited))
    return this.bytesEffect
  }

  // platform-node destroys the request stream when MaxBodySize is exceeded, which closes the
  // socket: the client never sees the app's answer. The in-process connection is reset too.
  private bodyTooLarge(max: unknown): ServerError.RequestError {
    const reason = `the request body exceeds the app's MaxBodySize of ${String(max)} bytes`
    this.source.sink.reset(`${reason}; platform-node destroys the connection then, so no response is sent`)
    return this.decodeError(undefined, reason)
  }

  get text(): Effect.Effect<string, ServerError.RequestError> {
    return Effect.map(this.bytes, (bytes) => utf8.decode(bytes))
  }

  get json(): Effect.Effect<unknown, ServerError.RequestError> {
    return textToJson(this.text, (cause) => this.decodeError(cause))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, ServerError.RequestError> {
    return textToUrlParams(this.text, (cause) => this.decodeError(cause))
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, ServerError.RequestError> {
    return Effect.map(this.bytes, toArrayBuffer)
  }

  /** A Node Readable over the body, for platform-node's own multipart parser. */
  private readable(): Readable {
    const body = this.source.body
    switch (body._tag) {
      case "Empty":
        return Readable.from([])
      case "Bytes":
        return Readable.from(socketChunks(body.bytes))
      case "Stream":
        return NodeStream.toReadableNever(socketSized(body.stream))
    }
  }

  private multipartEffect:
    | Effect.Effect<Multipart.Persisted, Multipart.MultipartError, Scope.Scope | FileSystem.FileSystem | Path.Path>
    | undefined
  get multipart(): Effect.Effect<
    Multipart.Persisted,
    Multipart.MultipartError,
    Scope.Scope | FileSystem.FileSystem | Path.Path
  > {
    this.multipartEffect ??= Effect.runSync(
      Effect.cached(NodeMultipart.persisted(this.readable(), nodeHeaders(this.source.headers)))
    )
    return this.multipartEffect
  }

  get multipartStream(): Stream.Stream<Multipart.Part, Multipart.MultipartError> {
    return NodeMultipart.stream(this.readable(), nodeHeaders(this.source.headers))
  }

  get upgrade(): Effect.Effect<Socket.Socket, ServerError.RequestError> {
    return (
      this.source.connection?.upgrade ?? Effect.fail(this.decodeError(undefined, "not an upgradeable ServerRequest"))
    )
  }

  override toString(): string {
    return `ServerRequest(${this.method} ${this.url})`
  }

  toJSON(): unknown {
    return IncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpServerRequest",
      method: this.method,
      url: this.originalUrl
    })
  }
}

const utf8 = new TextDecoder()

/**
 * The most a Node server reads off a socket at once (its stream's 64 KiB high-water mark).
 * The app's body arrives in pieces no larger, as from a socket: parsers with limits (busboy's
 * `maxFileSize`) only check them between pieces.
 *
 * @internal
 */
export const socketChunkSize = 64 * 1024

const socketChunks = (bytes: Uint8Array): Array<Uint8Array> => {
  if (bytes.length <= socketChunkSize) return [bytes]
  const out: Array<Uint8Array> = []
  for (let offset = 0; offset < bytes.length; offset += socketChunkSize) {
    out.push(bytes.subarray(offset, offset + socketChunkSize))
  }
  return out
}

const socketSized = <E>(stream: Stream.Stream<Uint8Array, E>): Stream.Stream<Uint8Array, E> =>
  Stream.mapChunks(stream, (chunk) =>
    Chunk.some(chunk, (bytes) => bytes.length > socketChunkSize)
      ? Chunk.flatMap(chunk, (bytes) => Chunk.unsafeFromArray(socketChunks(bytes)))
      : chunk
  )

/**
 * A body's text as JSON (an empty body is `null`), as platform's incoming messages read it;
 * shared by the app's request and the test's responses.
 *
 * @internal
 */
export const textToJson = <E>(
  text: Effect.Effect<string, E>,
  onError: (cause: unknown) => E
): Effect.Effect<unknown, E> =>
  Effect.flatMap(text, (text) => Effect.try({ try: () => parseJsonText(text), catch: onError }))

/** A body's text as JSON: an empty body is `null`, as the platform's own clients read it. @internal */
export const parseJsonText = (text: string): unknown => (text === "" ? null : (JSON.parse(text) as unknown))

/** A body's text as URL-encoded parameters. @internal */
export const textToUrlParams = <E>(
  text: Effect.Effect<string, E>,
  onError: (cause: unknown) => E
): Effect.Effect<UrlParams.UrlParams, E> =>
  Effect.flatMap(text, (text) =>
    Effect.try({ try: () => UrlParams.fromInput(new URLSearchParams(text)), catch: onError })
  )

/**
 * An ArrayBuffer holding exactly these bytes. Node Buffers are often views into a shared
 * pool, and `Buffer#slice` does not copy, so the copy is explicit.
 *
 * @internal
 */
export const toArrayBuffer = (bytes: Uint8Array): ArrayBuffer => {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) {
    return bytes.buffer
  }
  const copy = new Uint8Array(bytes.byteLength)
  copy.set(bytes)
  return copy.buffer
}

/** @internal */
export const concatChunks = (chunks: Chunk.Chunk<Uint8Array>, knownLength?: number): Uint8Array => {
  const size = Chunk.size(chunks)
  if (size === 0) return new Uint8Array(0)
  if (size === 1) return Chunk.unsafeHead(chunks)
  let length = knownLength ?? 0
  if (knownLength === undefined) for (const chunk of chunks) length += chunk.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

// busboy-based parsing in platform-node reads `IncomingHttpHeaders`; ours is a plain record.
const nodeHeaders = (headers: Headers.Headers) => headers as unknown as Record<string, string>
