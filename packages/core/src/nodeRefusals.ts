/**
 * What Node's HTTP server does with a request before any app sees it, as a client observes
 * it. Effect-free: shared by every edition of the kit.
 */
import { METHODS, maxHeaderSize } from "node:http"

/** Methods Node's parser accepts and its server routes to the request handler. */
const routedMethods: ReadonlySet<string> = new Set(METHODS.filter((method) => method !== "CONNECT"))

/**
 * What Node's HTTP server does with a request before the app can see it, as a client
 * observes it:
 * - a method its parser does not know (`FOO`): `400 Bad Request`, empty body;
 * - a request line and headers over `maxHeaderSize` (16 KiB by default): `431 Request Header
 *   Fields Too Large`, empty body. Node counts the bytes of the request target and of every
 *   header name and value (not the method, separators or line ends), and refuses when the
 *   count reaches the limit;
 * - framing its strict parser rejects (a `Content-Length` with a `Transfer-Encoding`,
 *   several `Content-Length`s, one not all digits, a `Transfer-Encoding` not ending in
 *   `chunked`): `400 Bad Request`, empty body;
 * - `CONNECT`: never routed to the request handler (the server emits `connect`, and with no
 *   listener — platform-node registers none — destroys the socket): the connection resets;
 * - an `Expect` other than `100-continue`: `417 Expectation Failed`, the handler never runs.
 */
export const nodeRefusal = (
  method: string,
  target: string,
  lines: ReadonlyArray<readonly [string, string]>
):
  | { readonly _tag: "Respond"; readonly status: 400 | 417 | 431 }
  | { readonly _tag: "Reset"; readonly reason: string }
  | undefined => {
  if (method !== "CONNECT" && !routedMethods.has(method)) return { _tag: "Respond", status: 400 }
  let size = target.length
  // Node counts the bytes of the latin1 header string: one per character.
  for (let i = 0; i < lines.length; i++) size += lines[i][0].length + lines[i][1].length
  if (size >= maxHeaderSize) return { _tag: "Respond", status: 431 }
  if (badFraming(lines)) return { _tag: "Respond", status: 400 }
  if (method === "CONNECT") {
    return {
      _tag: "Reset",
      reason:
        "Node's HTTP server never routes CONNECT to the app: it emits 'connect', and with no listener (platform-node " +
        "registers none) it destroys the socket"
    }
  }
  // Node answers an expectation it does not know itself (no `checkExpectation` listener:
  // platform-node registers none); `100-continue` it meets and routes the request.
  const expect = lines.find(([name]) => name === "expect")
  if (expect !== undefined && !continueExpression.test(expect[1])) return { _tag: "Respond", status: 417 }
  return undefined
}

const continueExpression = /(?:^|\W)100-continue(?:$|\W)/i

/**
 * What Node's strict parser rejects in a request's framing (400, connection closed): a
 * `Content-Length` with a `Transfer-Encoding`, more than one `Content-Length`, one that is
 * not all digits, or a `Transfer-Encoding` whose last coding is not `chunked`.
 */
const badFraming = (lines: ReadonlyArray<readonly [string, string]>): boolean => {
  let lengths = 0
  let encoding: string | undefined
  for (const [name, value] of lines) {
    if (name === "content-length") {
      lengths++
      if (!/^\d+$/.test(value)) return true
    } else if (name === "transfer-encoding") {
      encoding = encoding === undefined ? value : `${encoding}, ${value}`
    }
  }
  if (lengths > 1 || (lengths === 1 && encoding !== undefined)) return true
  if (encoding === undefined) return false
  const codings = encoding.split(",")
  return codings[codings.length - 1].trim().toLowerCase() !== "chunked"
}
