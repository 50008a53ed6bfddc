/**
 * The app's request: the members platform-node's server request has, over an in-memory Node
 * `IncomingMessage`. The body is read by platform-node's own `NodeHttpIncomingMessage` (so
 * `json` of an empty body is `null`, `stream` of no body is empty, `MaxBodySize` answers 413,
 * multipart goes through `NodeMultipart`), the headers keep the order they were sent in, and
 * the peer is `127.0.0.1`.
 *
 * @internal
 */

import type * as Http from "node:http"
import { Readable } from "node:stream"
import { NodeHttpIncomingMessage } from "@effect/platform-node/NodeHttpIncomingMessage"
import * as NodeMultipart from "@effect/platform-node/NodeMultipart"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Effect from "effect/Effect"
import type * as FileSystem from "effect/FileSystem"
import {
  Cookies,
  Headers,
  HttpIncomingMessage,
  HttpServerError,
  HttpServerRequest,
  type HttpServerResponse,
  UrlParams
} from "effect/http"
import type * as Multipart from "effect/http/Multipart"
import type * as Option from "effect/Option"
import type * as Path from "effect/Path"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as Socket from "effect/socket/Socket"

/** The address the app sees its client at, as a loopback client's. */
export const remoteAddress = "127.0.0.1"

/** The peer Node reports for a loopback client; another address gets its own. */
const loopback = { remoteAddress, remotePort: 80, encrypted: false }

/** The size of one read from a TCP socket in Node. */
const socketRead = 64 * 1024

/** A request body: whole, or read chunk by chunk as the client produces it. */
type Body = Uint8Array | { readonly read: () => Promise<Uint8Array | undefined> } | undefined

/**
 * The in-memory message: a Readable with the members of Node's `IncomingMessage` set in its
 * constructor (one shape for every request; assigning them afterwards costs more).
 */
class InMemoryMessage extends Readable {
  private offset = 0
  readonly httpVersion = "1.1"
  readonly httpVersionMajor = 1
  readonly httpVersionMinor = 1
  readonly complete = true
  readonly rawHeaders: Array<string> = []
  readonly socket: { readonly remoteAddress: string; readonly remotePort: number; readonly encrypted: boolean }
  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: Readonly<Record<string, string>>,
    private readonly body: Body,
    peer: string
  ) {
    super()
    for (const name in headers) this.rawHeaders.push(name, headers[name]!)
    this.socket = peer === remoteAddress ? loopback : { remoteAddress: peer, remotePort: 80, encrypted: false }
  }

  override _read(): void {
    const body = this.body
    if (body !== undefined && !(body instanceof Uint8Array)) {
      body.read().then(
        (chunk) => this.push(chunk === undefined ? null : chunk),
        (error: unknown) =>
          this.destroy(
            Object.assign(new Error("aborted: the client's request body failed"), {
              code: "ECONNRESET",
              cause: error
            })
          )
      )
      return
    }
    if (body === undefined || this.offset >= body.length) {
      this.push(null)
      return
    }
    const end = this.offset + socketRead
    this.push(body.subarray(this.offset, end))
    this.offset = end
  }
}

/** A Node `IncomingMessage` as the server's parser hands it over, its body already received. */
export const incomingMessage = (
  method: string,
  url: string,
  headers: Readonly<Record<string, string>>,
  body: Body,
  peer: string = remoteAddress
): Http.IncomingMessage =>
  // In the pieces a socket hands Node's parser (64 KiB reads), one a read, so body limits and
  // multipart limits are checked between pieces as in production. A body the client is still
  // producing arrives chunk by chunk as the app reads it; one that fails destroys the message,
  // as a connection reset mid-body does.
  new InMemoryMessage(method, url, headers, body, peer) as unknown as Http.IncomingMessage

/** The upgrade side of a handshake request, as platform-node's upgrade handler keeps it. */
export interface Upgrade {
  /** Answers the app's `upgrade`: a WebSocket connection, or a failure saying why there is none. */
  readonly upgradeWith: (
    request: HttpServerRequest.HttpServerRequest,
    headers: Headers.Headers
  ) => Effect.Effect<Socket.Socket, HttpServerError.HttpServerError>
  /** Once upgraded: the response middleware sees (a 101); the app's own response goes nowhere. */
  readonly upgradedResponse: HttpServerResponse.HttpServerResponse | undefined
}

/** @internal */
export class ServerRequest
  extends NodeHttpIncomingMessage<HttpServerError.HttpServerError>
  implements HttpServerRequest.HttpServerRequest
{
  readonly [HttpServerRequest.TypeId] = HttpServerRequest.TypeId
  protected override readonly destroyOnOverflow = false
  protected override readonly closeOnDone = false
  private cachedHeaders: Headers.Headers | undefined
  private cachedCookies: Record<string, string> | undefined
  private cachedMultipart:
    | Effect.Effect<Multipart.Persisted, Multipart.MultipartError, Scope.Scope | FileSystem.FileSystem | Path.Path>
    | undefined

  constructor(
    source: Http.IncomingMessage,
    readonly upgradeWith_: Upgrade | undefined,
    readonly url: string,
    headersOverride: Headers.Headers | undefined,
    remoteAddressOverride: Option.Option<string> | undefined,
    readonly peerAddressOverride: Option.Option<string> | undefined,
    readonly protocol: "http" | "https" | undefined
  ) {
    super(
      source,
      (cause) =>
        new HttpServerError.HttpServerError({
          reason: new HttpServerError.RequestParseError({
            request: this,
            reason: cause instanceof NodeStream.MaxBytesError ? "BodyTooLarge" : "Parse",
            cause
          })
        }),
      remoteAddressOverride
    )
    this.cachedHeaders = headersOverride
  }

  override get headers(): Headers.Headers {
    this.cachedHeaders ??= Headers.fromInput(this.source.headers as Record<string, string>)
    return this.cachedHeaders
  }

  get method(): string {
    return this.source.method!.toUpperCase()
  }

  get originalUrl(): string {
    const url = this.source.url!
    const host = this.source.headers.host
    return url[0] !== "/" || host === undefined ? url : `http://${host}${url}`
  }

  get peerAddress(): Option.Option<string> {
    return this.peerAddressOverride ?? this.remoteAddress
  }

  get cookies(): Record<string, string> {
    this.cachedCookies ??= Cookies.parseHeader(this.headers.cookie ?? "")
    return this.cachedCookies
  }

  get multipart(): Effect.Effect<
    Multipart.Persisted,
    Multipart.MultipartError,
    Scope.Scope | FileSystem.FileSystem | Path.Path
  > {
    this.cachedMultipart ??= Effect.runSync(
      Effect.cached(Effect.suspend(() => NodeMultipart.persisted(this.source, this.source.headers)))
    )
    return this.cachedMultipart
  }

  get multipartStream(): Stream.Stream<Multipart.Part, Multipart.MultipartError> {
    return Stream.suspend(() => NodeMultipart.stream(this.source, this.source.headers))
  }

  get upgrade(): Effect.Effect<Socket.Socket, HttpServerError.HttpServerError> {
    return this.upgradeWith({})
  }

  upgradeWith(options: { readonly headers?: Headers.Input | undefined }) {
    const upgrade = this.upgradeWith_
    if (upgrade === undefined) {
      return Effect.fail(
        new HttpServerError.HttpServerError({
          reason: new HttpServerError.RequestParseError({
            request: this,
            description: "not an upgradeable ServerRequest"
          })
        })
      )
    }
    return upgrade.upgradeWith(this, Headers.fromInput(options.headers))
  }

  /** The response reported to middleware once the connection is upgraded. */
  get upgradedResponse(): HttpServerResponse.HttpServerResponse | undefined {
    return this.upgradeWith_?.upgradedResponse
  }

  modify(options: {
    readonly url?: string
    readonly headers?: Headers.Headers
    readonly remoteAddress?: Option.Option<string>
    readonly peerAddress?: Option.Option<string>
    readonly protocol?: "http" | "https"
  }): HttpServerRequest.HttpServerRequest {
    return new ServerRequest(
      this.source,
      this.upgradeWith_,
      options.url ?? this.url,
      options.headers ?? this.cachedHeaders,
      "remoteAddress" in options ? options.remoteAddress : this.remoteAddressOverride,
      options.peerAddress ?? this.peerAddressOverride,
      options.protocol ?? this.protocol
    )
  }

  override toString(): string {
    return `ServerRequest(${this.method} ${UrlParams.redactUrl(this.url)})`
  }

  override toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "HttpServerRequest",
      method: this.method,
      url: UrlParams.redactUrl(this.originalUrl)
    })
  }
}

/** The app's request for one in-process request. */
export const make = (
  method: string,
  url: string,
  headers: Readonly<Record<string, string>>,
  body: Uint8Array | { readonly read: () => Promise<Uint8Array | undefined> } | undefined,
  upgrade?: Upgrade,
  peer?: string
): HttpServerRequest.HttpServerRequest =>
  new ServerRequest(
    incomingMessage(method, url, headers, body, peer),
    upgrade,
    url,
    undefined,
    undefined,
    undefined,
    undefined
  )
