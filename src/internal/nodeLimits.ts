/**
 * What Node's HTTP server refuses before any handler runs: a request target and headers
 * reaching its `maxHeaderSize` (431), a method its parser does not know or framing it
 * rejects (400), an `Expect` other than `100-continue` (417), and `CONNECT`, which its
 * server never routes to the request handler (the connection drops).
 * The kit refuses the same requests the same way, for every client.
 */
import { METHODS, maxHeaderSize } from "node:http"
import * as Headers from "@effect/platform/Headers"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type { ResponseSink } from "./request.js"

const expectationFailed = Headers.unsafeFromRecord({ "transfer-encoding": "chunked" })

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
 * - `CONNECT`: never routed to the request handler (the server emits `connect`, and with no
 *   listener — platform-node registers none — destroys the socket): the connection resets.
 *
 * @internal
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

/**
 * Applies {@link nodeRefusal} to one exchange: when Node would answer or drop the request
 * itself, the sink gets that outcome (the 400/431 head and an empty body, or a reset) and the
 * returned fiber, already done, stands for a handler that never ran. `undefined`: dispatch.
 *
 * To be called in `client.ts` `start`, right after the `server.closed` check:
 * `const refused = refuseAsNode(hop, lines, sink); if (refused !== undefined) return refused`.
 *
 * @internal
 */
export const refuseAsNode = (
  hop: { readonly method: string; readonly url: URL },
  lines: ReadonlyArray<readonly [string, string]>,
  sink: ResponseSink
): Fiber.RuntimeFiber<void> | undefined => {
  const refusal = nodeRefusal(hop.method, hop.url.pathname + hop.url.search, lines)
  if (refusal === undefined) return undefined
  if (refusal._tag === "Reset") {
    sink.reset(refusal.reason)
  } else {
    // A 417 is a response Node writes as any other (framed, chunked); a 400 or 431 is its
    // bare refusal, after which it closes the connection.
    sink.head(refusal.status, refusal.status === 417 ? expectationFailed : Headers.empty, [], false)
    sink.end()
  }
  return Effect.runFork(Effect.void)
}
