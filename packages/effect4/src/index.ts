/**
 * effect-http-testkit for Effect 4.
 *
 * @since 0.1.0
 */
export * as TestClient from "./Client.js"
export * as TestTracer from "./Tracer.js"
