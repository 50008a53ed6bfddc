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
 * The types naming what the TestClient layers provide (`Outputs`, `Provided`) and leave to
 * the user (`AppRequirements`, `ServerRequirements`). Named `TestLayer`, not `Layer`, so it
 * never shadows effect's `Layer` in a test that imports both.
 *
 * @since 0.2.0
 */
export * as TestLayer from "./Layer.js"

/**
 * Operators that parse byte streams: Server-Sent Events, lines, NDJSON.
 *
 * @since 0.1.0
 */
export * as TestStream from "./Stream.js"
/**
 * Background work that outlives a response, tracked under test. Production code imports
 * the same module from `"effect-http-testkit/TaskQueue"`, which needs only `effect`.
 *
 * @since 0.1.0
 */
export * as TaskQueue from "./TaskQueue.js"
/**
 * Run one handler against an in-memory request, without routing or a server.
 *
 * @since 0.2.0
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
