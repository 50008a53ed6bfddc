/**
 * What Node's HTTP server refuses before any handler runs: a request target and headers
 * reaching its `maxHeaderSize` (431), a method its parser does not know or framing it
 * rejects (400), an `Expect` other than `100-continue` (417), and `CONNECT`, which its
 * server never routes to the request handler (the connection drops).
 * The kit refuses the same requests the same way, for every client.
 */
import * as Headers from "@effect/platform/Headers"
import { nodeRefusal } from "@effect-http-testkit/core"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type { RequestSource } from "./request.js"

const expectationFailed = Headers.unsafeFromRecord({ "transfer-encoding": "chunked" })

/**
 * Applies {@link nodeRefusal} to one exchange: when Node would answer or drop the request
 * itself, the sink gets that outcome (the 400/431 head and an empty body, or a reset) and the
 * returned fiber, already done, stands for a handler that never ran. `undefined`: dispatch.
 * The in-process server applies it as it dispatches; over a socket Node's server refuses
 * by itself.
 *
 * @internal
 */
export const refuseAsNode = (
  source: Pick<RequestSource, "method" | "url" | "lines" | "sink">
): Fiber.RuntimeFiber<void> | undefined => {
  const sink = source.sink
  const refusal = nodeRefusal(source.method, source.url, source.lines)
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
