/**
 * `@effect-http-testkit/core/scenarios`: the behaviours every edition of the kit must show,
 * as plain data (no imports): bad option bags and what their errors must say, cookie cases,
 * redirect cases, event-stream format cases with a reference interpreter, and the request list
 * the editions compare with production. Each edition runs the same tables through its own API.
 */
export * from "./badInput.js"
export * from "./cookies.js"
export * from "./parity.js"
export * from "./redirects.js"
export * from "./sse.js"
