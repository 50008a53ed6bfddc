/**
 * Bad input, through the public API: every option and argument given a wrong type, NaN, a
 * negative number, CR/LF, `null` where an object or value is required... must fail with a
 * TAGGED error whose message names what to fix: never a defect, a hang, a silent coercion or
 * a silently wrong result. One test per case, so a failure names the case.
 */

import { describe, expect, it } from "@effect/vitest"
import { badClientOptions, badCookieOptions, badWebSocketOptions } from "@effect-http-testkit/core/scenarios"
import { TestClient, TestStream, type TestWebSocket } from "@effect-http-testkit/effect4"
import { Cause, Effect, Exit, Layer, Option, Result, Schema, type Scope, Stream } from "effect"
import { Cookies, HttpRouter, HttpServerResponse } from "effect/http"

const encoder = new TextEncoder()

const app = Layer.mergeAll(
  HttpRouter.add("GET", "/ok", HttpServerResponse.text("ok")),
  HttpRouter.add("POST", "/echo", (request) => Effect.map(request.text, (text) => HttpServerResponse.text(text))),
  HttpRouter.add("GET", "/ws", (request) =>
    Effect.gen(function* () {
      const socket = yield* request.upgrade
      const { write } = yield* socket.writer
      const { pull } = yield* socket.reader
      yield* Effect.forever(Effect.flatMap(pull, (frames) => Effect.forEach(frames, write, { discard: true }))).pipe(
        Effect.ignore
      )
      return HttpServerResponse.empty()
    })
  ),
  HttpRouter.add(
    "GET",
    "/stream",
    Effect.succeed(HttpServerResponse.stream(Stream.make("a", "b").pipe(Stream.map((s) => encoder.encode(s)))))
  )
)

type Run = Effect.Effect<unknown, unknown, TestClient.TestClient | Scope.Scope>

interface Case {
  readonly name: string
  /** Client options for this case's layer (default: none). */
  readonly client?: unknown
  readonly run: Run
  readonly tag: string
  /** The message must say this (the option or argument to fix). */
  readonly says: string | RegExp
}

/** A value of the wrong type, as a JavaScript caller or an `as any` would pass it. */
const bad = <T>(value: unknown): T => value as T

const get: Run = TestClient.get("/ok")
const ws = (f: (socket: TestWebSocket.TestWebSocket) => Run): Run => Effect.flatMap(TestClient.websocket("/ws"), f)
const stream = (f: (r: TestClient.StreamResponse) => Run): Run => Effect.flatMap(TestClient.stream("GET", "/stream"), f)
const circular: Record<string, unknown> = {}
circular.self = circular

// ---------------------------------------------------------------------------
// client options: the layer builds, every request fails naming the option
// ---------------------------------------------------------------------------

const clientOption = (name: string, client: unknown, says: string | RegExp): Case => ({
  name: `client options: ${name}`,
  client,
  run: get,
  tag: "InvalidRequest",
  says
})

const clientCases: ReadonlyArray<Case> = badClientOptions.map((c) => clientOption(c.name, c.input, c.says))

// ---------------------------------------------------------------------------
// requests: arguments and per-request options
// ---------------------------------------------------------------------------

const request = (name: string, run: Run, says: string | RegExp): Case => ({
  name: `request: ${name}`,
  run,
  tag: "InvalidRequest",
  says
})
const post = (options: unknown) => TestClient.post("/echo", bad(options))

const requestCases: ReadonlyArray<Case> = [
  request("options null", TestClient.get("/ok", bad(null)), "options must be an object"),
  request("options a string", TestClient.get("/ok", bad("json")), "options must be an object"),
  request("options a number", TestClient.request("GET", "/ok", bad(42)), "options must be an object"),
  request("options an unknown key", TestClient.get("/ok", bad({ header: { a: "1" } })), /unknown option "header"/),
  request("method a number", TestClient.request(bad(42), "/ok"), "method"),
  request("method not a token", TestClient.request("GET /", "/ok"), "method"),
  request("url a number", TestClient.get(bad(42)), "URL"),
  request("url null", TestClient.get(bad(null)), "URL"),
  request("url unparsable", TestClient.get("http://[::1"), "URL"),
  request("url ftp", TestClient.get("ftp://files.example.com/x"), /only http\(s\) URLs/),
  request("params a string", TestClient.get("/ok", { params: bad("a=1") }), "params"),
  request("params a function value", TestClient.get("/ok", { params: bad({ a: () => 1 }) }), /params.*"a"/),
  request("params NaN", TestClient.get("/ok", { params: { a: Number.NaN } }), /params.*"a"/),
  request("params null value", TestClient.get("/ok", { params: bad({ a: null }) }), /params.*"a"/),
  request("params an object in an array", TestClient.get("/ok", { params: bad({ a: [1, {}] }) }), /params.*"a"/),
  request("headers a string", TestClient.get("/ok", { headers: bad("x-a: 1") }), "headers"),
  request("headers null", TestClient.get("/ok", { headers: bad(null) }), "headers"),
  request("headers a value with LF", TestClient.get("/ok", { headers: { "x-a": "1\nx-b: 2" } }), '"x-a"'),
  request("headers a bad name", TestClient.get("/ok", { headers: { "x a": "1" } }), '"x a"'),
  request("headers a symbol value", TestClient.get("/ok", { headers: bad({ "x-a": Symbol("s") }) }), '"x-a"'),
  request("cookies a string", TestClient.get("/ok", { cookies: bad("a=1") }), "cookies"),
  request("cookies a number value", TestClient.get("/ok", { cookies: bad({ a: 1 }) }), 'cookie "a"'),
  request("cookies null", TestClient.get("/ok", { cookies: bad(null) }), "cookies"),
  request("cookies a name with '='", TestClient.get("/ok", { cookies: { "a=b": "1" } }), '"a=b"'),
  request(
    "two bodies",
    post({ json: 1, body: "x" }),
    "json and body were given: choose one of json, body, form and multipart"
  ),
  request("json a bigint", post({ json: 10n }), "json"),
  request("json circular", post({ json: circular }), "json"),
  request("json a function", post({ json: () => 1 }), "json"),
  request("form a string", post({ form: "a=1" }), "form"),
  request("form a symbol value", post({ form: { a: Symbol("s") } }), /form.*"a"/),
  request("multipart a string", post({ multipart: "a=1" }), "multipart"),
  request("multipart a number field", post({ multipart: { f: 1 } }), "multipart"),
  request("body a number", post({ body: 42 }), "body"),
  request("body null", post({ body: null }), "body"),
  request("body a Stream of strings", post({ body: Stream.make("not bytes") }), /body.*Uint8Array/),
  request("timeout NaN", TestClient.get("/ok", { timeout: Number.NaN }), "timeout"),
  request("timeout -1", TestClient.get("/ok", { timeout: -1 }), "timeout"),
  request('timeout "-5 seconds"', TestClient.get("/ok", { timeout: bad("-5 seconds") }), "timeout"),
  request("timeout 0", TestClient.get("/ok", { timeout: 0 }), "timeout"),
  request('timeout "soon"', TestClient.get("/ok", { timeout: bad("soon") }), "timeout"),
  request("maxRedirects -1", TestClient.get("/ok", { maxRedirects: -1 }), "maxRedirects"),
  request("maxRedirects 1.5", TestClient.get("/ok", { maxRedirects: 1.5 }), "maxRedirects"),
  request('maxRedirects "2"', TestClient.get("/ok", { maxRedirects: bad("2") }), "maxRedirects"),
  request('followRedirects "no"', TestClient.get("/ok", { followRedirects: bad("no") }), "followRedirects"),
  request("stream: options null", TestClient.stream("GET", "/stream", bad(null)), "options must be an object"),
  request("stream: timeout -1", TestClient.stream("GET", "/stream", { timeout: -1 }), "timeout"),
  request("stream: method a number", TestClient.stream(bad(42), "/stream"), "method")
]

// ---------------------------------------------------------------------------
// the cookie jar
// ---------------------------------------------------------------------------

const cookie = (name: string, run: Run, says: string | RegExp): Case => ({
  name: `setCookie: ${name}`,
  run,
  tag: "InvalidRequest",
  says
})
const setCookie = (options: unknown) => TestClient.setCookie("c", "1", bad(options))

const cookieCases: ReadonlyArray<Case> = [
  ...badCookieOptions.map((c) => cookie(c.name, setCookie(c.input), c.says)),
  cookie("name a number", TestClient.setCookie(bad(42), "1"), "cookie name"),
  cookie("name not a token", TestClient.setCookie("a b", "1"), '"a b"'),
  cookie("value a number", TestClient.setCookie("c", bad(42)), "string value"),
  cookie("value with CR/LF", TestClient.setCookie("c", "1\r\nSet-Cookie: x=1"), /value.*control/),
  {
    name: "cookieHeader: url a number",
    run: TestClient.cookieHeader(bad(42)),
    tag: "InvalidRequest",
    says: "url must be a string"
  },
  {
    name: "cookieHeader: url ftp",
    run: TestClient.cookieHeader("ftp://testserver/"),
    tag: "InvalidRequest",
    says: "scheme"
  }
]

// ---------------------------------------------------------------------------
// WebSockets
// ---------------------------------------------------------------------------

const websocket = (name: string, run: Run, says: string | RegExp, tag = "InvalidRequest"): Case => ({
  name: `websocket: ${name}`,
  run,
  tag,
  says
})
const connect = (options: unknown) => TestClient.websocket("/ws", bad(options))

const websocketCases: ReadonlyArray<Case> = [
  ...badWebSocketOptions.map((c) => websocket(c.name, connect(c.input), c.says)),
  websocket("url a number", TestClient.websocket(bad(42)), "URL"),
  websocket("url ftp", TestClient.websocket("ftp://testserver/ws"), "scheme"),
  websocket(
    "send a number",
    ws((s) => s.send(bad(42))),
    /send takes a string.*or a Uint8Array/,
    "WebSocketMessageError"
  ),
  websocket(
    "send null",
    ws((s) => s.send(bad(null))),
    /send takes a string.*or a Uint8Array/,
    "WebSocketMessageError"
  ),
  websocket(
    "sendJson a bigint",
    ws((s) => s.sendJson(10n)),
    "serialise",
    "WebSocketMessageError"
  ),
  websocket(
    "close(999)",
    ws((s) => s.close(999)),
    /close code 999/,
    "WebSocketMessageError"
  ),
  websocket(
    "close(1005)",
    ws((s) => s.close(1005)),
    /close code 1005/,
    "WebSocketMessageError"
  ),
  websocket(
    "close(1006)",
    ws((s) => s.close(1006)),
    /close code 1006/,
    "WebSocketMessageError"
  ),
  websocket(
    "close(1015)",
    ws((s) => s.close(1015)),
    /close code 1015/,
    "WebSocketMessageError"
  ),
  websocket(
    "close(2999)",
    ws((s) => s.close(2999)),
    /close code 2999/,
    "WebSocketMessageError"
  ),
  websocket(
    "close(5000)",
    ws((s) => s.close(5000)),
    /close code 5000.*3000/,
    "WebSocketMessageError"
  ),
  websocket(
    "close(1000.5)",
    ws((s) => s.close(1000.5)),
    /close code 1000.5/,
    "WebSocketMessageError"
  ),
  websocket(
    "close(NaN)",
    ws((s) => s.close(Number.NaN)),
    /close code/,
    "WebSocketMessageError"
  ),
  websocket(
    'close("1000")',
    ws((s) => s.close(bad("1000"))),
    /close code/,
    "WebSocketMessageError"
  ),
  websocket(
    "close reason over 123 bytes",
    ws((s) => s.close(1000, "x".repeat(124))),
    /124 bytes.*123/,
    "WebSocketMessageError"
  ),
  websocket(
    "close reason of 62 two-byte characters (124 UTF-8 bytes)",
    ws((s) => s.close(4000, "é".repeat(62))),
    /124 bytes/,
    "WebSocketMessageError"
  ),
  websocket(
    "close reason a number",
    ws((s) => s.close(1000, bad(42))),
    /reason/,
    "WebSocketMessageError"
  ),
  websocket(
    "receiveJson with something that is not a Schema",
    ws((s) => s.receiveJson(bad<typeof Schema.Unknown>("not a schema"))),
    /Schema/,
    "WebSocketMessageError"
  )
]

// ---------------------------------------------------------------------------
// streamed bodies and stream operators
// ---------------------------------------------------------------------------

const streamCases: ReadonlyArray<Case> = [
  // A body read twice fails with Effect 4's HttpClientError (its reason a DecodeError), as the
  // platform's own response readers fail; Streaming.test.ts shows who read it first.
  {
    name: "stream: r.stream read a second time",
    run: stream((r) => Effect.andThen(Stream.runDrain(r.stream), Stream.runDrain(r.stream))),
    tag: "HttpClientError",
    says: "already read"
  },
  {
    name: "stream: r.text after r.stream consumed the body",
    run: stream((r) => Effect.andThen(Stream.runDrain(r.stream), r.text)),
    tag: "HttpClientError",
    says: "already read"
  },
  {
    name: "stream: r.stream after r.text",
    run: stream((r) => Effect.andThen(r.text, Stream.runDrain(r.stream))),
    tag: "HttpClientError",
    says: "already read"
  },
  {
    name: "stream: r.events after r.stream",
    run: stream((r) => Effect.andThen(Stream.runDrain(r.stream), Stream.runDrain(r.events))),
    tag: "HttpClientError",
    says: "already read"
  },
  {
    name: "TestStream.ndjson: a line that is not JSON",
    run: Stream.runDrain(TestStream.ndjson(Stream.make(encoder.encode('{"a":1}\n{nope\n')))),
    tag: "NdjsonParseError",
    says: "line 2"
  },
  {
    name: "TestStream.ndjsonSchema: a line the Schema rejects",
    run: Stream.make(encoder.encode('{"a":"one"}\n')).pipe(
      TestStream.ndjsonSchema(Schema.Struct({ a: Schema.Number })),
      Stream.runDrain
    ),
    tag: "SchemaError",
    says: "Expected number"
  }
]

const cases: ReadonlyArray<Case> = [...clientCases, ...requestCases, ...cookieCases, ...websocketCases, ...streamCases]

/** A tagged failure, no defect anywhere in the cause, and a message saying what to fix. */
const expectTaggedFailure = (exit: Exit.Exit<unknown, unknown>, c: Case) => {
  if (Exit.isSuccess(exit)) throw new Error(`${c.name}: succeeded with ${String(exit.value)}`)
  const cause = exit.cause
  if (Cause.hasDies(cause)) throw new Error(`${c.name}: a defect\n${Cause.pretty(cause)}`)
  expect(Cause.hasInterruptsOnly(cause)).toBe(false)
  expect(cause.reasons.every(Cause.isFailReason)).toBe(true)
  const error = Result.getOrThrow(Cause.findError(cause)) as { _tag?: unknown; message?: unknown }
  expect(error._tag).toBe(c.tag)
  expect(String(error.message)).toMatch(c.says)
}

describe("bad input fails with a tagged error saying what to fix", () => {
  it("covers at least 40 bad inputs, each named once", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40)
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length)
  })

  for (const c of cases) {
    it.effect(c.name, () =>
      Effect.gen(function* () {
        const layer = c.client === undefined ? TestClient.layer(app) : TestClient.layer(app, bad(c.client))
        const exit = yield* Effect.exit(Effect.scoped(c.run).pipe(Effect.provide(layer)))
        expectTaggedFailure(exit, c)
      })
    )
  }
})

describe("what the rejections protect", () => {
  it.effect("a path that smuggles an attribute leaves the jar unchanged; a valid cookie still works", () =>
    Effect.gen(function* () {
      yield* Effect.flip(TestClient.setCookie("c", "1", { path: "/; Secure" }))
      yield* Effect.flip(TestClient.setCookie("c", "1", { path: "/\r\nSet-Cookie: x=1" }))
      expect(yield* TestClient.cookieHeader("/")).toBe("")
      yield* TestClient.setCookie("c", "1", { path: "/", sameSite: "strict" })
      expect(yield* TestClient.cookieHeader("/")).toBe("c=1")
      const stored = Option.getOrThrow(Cookies.get(yield* TestClient.cookies, "c"))
      expect(stored.options?.sameSite).toBe("strict")
    }).pipe(Effect.provide(TestClient.layer(app)))
  )

  it.effect("valid edge values still work: an infinite timeout, maxRedirects 0, exchangeLimit 0, an IPv6 address", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/ok", { timeout: Number.POSITIVE_INFINITY, maxRedirects: 0 })
      expect(yield* r.text).toBe("ok")
      expect(yield* TestClient.exchanges).toEqual([])
    }).pipe(
      Effect.provide(
        TestClient.layer(app, {
          timeout: Number.POSITIVE_INFINITY,
          drainTimeout: [1, 0],
          exchangeLimit: 0,
          remoteAddress: "::1",
          serverErrors: "respond",
          report: "never",
          followRedirects: false
        })
      )
    )
  )
})

describe("bad client options, all at once", () => {
  it.effect("a bad client option fails every request, naming each bad option, while the layer still builds", () =>
    Effect.gen(function* () {
      const first = yield* Effect.flip(TestClient.get("/ok"))
      const second = yield* Effect.flip(TestClient.post("/echo", { body: "x" }))
      for (const error of [first, second]) {
        expect(error._tag).toBe("InvalidRequest")
        expect(error.message).toContain("timeout")
        expect(error.message).toContain("serverErrors")
        expect(error.message).toContain("drainTimeout")
      }
    }).pipe(Effect.provide(TestClient.layer(app, bad({ timeout: -1, serverErrors: "Fail", drainTimeout: "soon" }))))
  )

  it.effect("a misspelt background-work option gets a did-you-mean", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(TestClient.get("/ok"))
      expect(error.message).toContain("drainTimeout")
    }).pipe(Effect.provide(TestClient.layer(app, bad({ drainTimout: "1 second" }))))
  )
})
