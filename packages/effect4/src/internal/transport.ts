/**
 * The transport options of the client's layers: `transport` (`"in-process"` or `"socket"`,
 * by default the environment variable `EFFECT_HTTP_TESTKIT_TRANSPORT`) and `port`. They are
 * taken out of the options before the client checks the rest, as the background-work ones.
 *
 * @internal
 */
import { describe } from "@effect-http-testkit/core"

/** How requests reach the app. */
export type Transport = "in-process" | "socket"

/** The environment variable that picks the transport of every client given no `transport` option. */
export const transportVariable = "EFFECT_HTTP_TESTKIT_TRANSPORT"

/** The transport options, checked, and the client's other options. */
export interface Split {
  readonly transport: Transport
  /** The port the socket transport listens on (0: a free one). */
  readonly port: number
  /** What is wrong with the transport options, if anything. */
  readonly problem: string | undefined
  readonly rest: unknown
}

/** Takes `transport` and `port` out of the client's options and checks them. */
export const splitTransport = (options: unknown): Split => {
  // Options that are no object are the client's to refuse; with none, the variable decides.
  if (options !== undefined && (options === null || typeof options !== "object" || Array.isArray(options))) {
    return { transport: "in-process", port: 0, problem: undefined, rest: options }
  }
  const { transport: given, port: givenPort, ...others } = (options ?? {}) as Record<string, unknown>
  const rest = options === undefined ? undefined : others
  const fromVariable = given === undefined
  const raw = fromVariable ? process.env[transportVariable] : given
  let transport: Transport = "in-process"
  const problems: Array<string> = []
  if (raw !== undefined && !(fromVariable && raw === "")) {
    if (raw === "in-process" || raw === "socket") transport = raw
    else {
      problems.push(
        fromVariable
          ? `the environment variable ${transportVariable} must be "in-process" or "socket", got ${describe(raw)}`
          : `transport must be "in-process" or "socket", got ${describe(raw)}`
      )
    }
  }
  let port = 0
  if (givenPort !== undefined) {
    if (typeof givenPort !== "number" || !Number.isInteger(givenPort) || givenPort < 0 || givenPort > 65535) {
      problems.push(`port must be a whole number from 0 (a free port) to 65535, got ${describe(givenPort)}`)
    } else if (transport !== "socket") {
      problems.push(
        'port applies to transport "socket" only (the in-process transport opens no socket): give transport: "socket" or drop port'
      )
    } else port = givenPort
  }
  const remoteAddress = others.remoteAddress
  if (transport === "socket" && remoteAddress !== undefined && remoteAddress !== "127.0.0.1") {
    problems.push(
      'remoteAddress cannot be set with transport "socket": the app sees the socket\'s real peer, 127.0.0.1; drop remoteAddress or use the in-process transport'
    )
  }
  return { transport, port, problem: problems.length === 0 ? undefined : problems.join("; "), rest }
}
