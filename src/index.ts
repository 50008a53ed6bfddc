/**
 * effect-http-testkit: test Effect HTTP apps in process.
 *
 * @since 0.1.0
 */

/**
 * Send requests to an app in process and assert on the responses.
 *
 * @since 0.1.0
 */
export * as TestClient from "./Client.js"

/**
 * Operators that parse byte streams: Server-Sent Events, lines, NDJSON.
 *
 * @since 0.1.0
 */
export * as TestStream from "./Stream.js"
