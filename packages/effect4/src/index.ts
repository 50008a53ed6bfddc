/**
 * effect-http-testkit for Effect 4.
 *
 * @since 0.1.0
 */
export * as TestClient from "./Client.js"
/**
 * WebSocket connections to the app, in process: the test's end and its errors.
 *
 * @since 0.1.0
 */
export * as TestWebSocket from "./WebSocket.js"
