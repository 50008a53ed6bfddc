/**
 * effect-http-testkit for Effect 4.
 *
 * @since 0.1.0
 */
export * as TestClient from "./Client.js"
/**
 * Pipeable operators that turn any byte stream into Server-Sent Events, lines or NDJSON values.
 *
 * @since 0.1.0
 */
export * as TestStream from "./Stream.js"
/**
 * Background work that outlives a response. Production code imports the same module from
 * `"@effect-http-testkit/effect4/TaskQueue"`, which needs only `effect`.
 *
 * @since 0.1.0
 */
export * as TaskQueue from "./TaskQueue.js"
/**
 * One handler run against a request built in memory, with no router or server: the route
 * context and search params it would get when routed, and readers for its response body.
 *
 * @since 0.1.0
 */
export * as TestRequest from "./TestRequest.js"
/**
 * A recording tracer: assert on the spans a request produced.
 *
 * @since 0.1.0
 */
export * as TestTracer from "./Tracer.js"
/**
 * WebSocket connections to the app, in process: the test's end and its errors.
 *
 * @since 0.1.0
 */
export * as TestWebSocket from "./WebSocket.js"
