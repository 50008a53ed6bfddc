/**
 * `@effect-http-testkit/core`: the rules every edition of effect-http-testkit shares, with
 * nothing from `effect` or `@effect/*` in them. The cookie jar (RFC 6265 over tough-cookie),
 * response body decoding, header-line folding, Node's request refusals, redirect hops, the
 * Server-Sent Events, line and NDJSON parsers, and the rules for values a test gives.
 *
 * Each edition (`effect-http-testkit` for Effect 3) wraps these in its own Effect API; users
 * install an edition, not this package.
 */
export * from "./contentLength.js"
export * from "./cookieJar.js"
export * from "./decode.js"
export * from "./headerLines.js"
export * from "./nodeRefusals.js"
export * from "./redirect.js"
export * from "./render.js"
export * from "./report.js"
export * from "./ring.js"
export * from "./runner.js"
export * from "./text.js"
export * from "./transport.js"
export * from "./values.js"
export * from "./websocket.js"
