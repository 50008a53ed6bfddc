/**
 * The socket transport's words, shared by every edition: why a client has no socket to offer.
 */

/** Why the socket transport has no socket: it could not listen, the client is in process, or its options are invalid. */
export type SocketUnavailableReason = "Listen" | "InProcess" | "InvalidOptions"

/**
 * The message of a `SocketUnavailable` error: what was tried (`target`: `127.0.0.1:8080`, or
 * the call that needed the socket) and what to change.
 */
export const socketUnavailableMessage = (reason: SocketUnavailableReason, target: string, cause: unknown): string => {
  if (reason === "InvalidOptions") {
    return `${target}: no socket was opened, because the client's options are invalid: ${String(cause)}`
  }
  if (reason === "InProcess") {
    return (
      `${target}: this client's transport is in-process, which opens no socket, so there is no address to ` +
      'hand to another tool. Give the layer transport: "socket" (or set EFFECT_HTTP_TESTKIT_TRANSPORT=socket).'
    )
  }
  const code = (cause as { code?: unknown } | undefined)?.code
  const detail = cause instanceof Error ? cause.message : String(cause)
  return (
    `${target}: the socket transport's server could not listen (${detail}). ` +
    (code === "EADDRINUSE"
      ? "The port is in use: pass port: 0 (the default) for a free one, or stop what holds it."
      : code === "EACCES"
        ? "The port needs privileges: use one above 1023, or port: 0 for a free one."
        : "Check the port option; port: 0 (the default) picks a free one.")
  )
}
