/**
 * What Node's HTTP server refuses before any handler runs: a request target and headers
 * reaching its `maxHeaderSize` (431), a method its parser does not know (400), and
 * `CONNECT`, which its server never routes to the request handler (the connection drops).
 * The kit refuses the same requests the same way, for every client.
 */
import { METHODS, maxHeaderSize } from "node:http"
import * as Headers from "@effect/platform/Headers"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type { ResponseSink } from "./request.js"

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
  | { readonly _tag: "Respond"; readonly status: 400 | 431 }
  | { readonly _tag: "Reset"; readonly reason: string }
  | undefined => {
  if (method !== "CONNECT" && !routedMethods.has(method)) return { _tag: "Respond", status: 400 }
  let size = target.length
  // Node counts the bytes of the latin1 header string: one per character.
  for (let i = 0; i < lines.length; i++) size += lines[i][0].length + lines[i][1].length
  if (size >= maxHeaderSize) return { _tag: "Respond", status: 431 }
  if (method === "CONNECT") {
    return {
      _tag: "Reset",
      reason:
        "Node's HTTP server never routes CONNECT to the app: it emits 'connect', and with no listener (platform-node " +
        "registers none) it destroys the socket"
    }
  }
  return undefined
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
    sink.head(refusal.status, Headers.empty, [], false)
    sink.end()
  }
  return Effect.runFork(Effect.void)
}
