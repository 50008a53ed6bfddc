/**
 * effect-http-testkit for Effect 4.
 *
 * @since 0.1.0
 */
export * as TestClient from "./Client.js"
/**
 * Background work that outlives a response. Production code imports the same module from
 * `"@effect-http-testkit/effect4/TaskQueue"`, which needs only `effect`.
 *
 * @since 0.1.0
 */
export * as TaskQueue from "./TaskQueue.js"
