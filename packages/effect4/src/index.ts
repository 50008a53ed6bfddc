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
 * A recording tracer: assert on the spans a request produced.
 *
 * @since 0.1.0
 */
export * as TestTracer from "./Tracer.js"
