/**
 * Bad input as data: option bags a test might pass by mistake (a wrong type, NaN, a negative
 * number, CR/LF, `null`, a typo) and what the kit's message must say, so the tagged error
 * names what to fix. Plain data with no imports, so every edition of the kit can run the same
 * tables: each case is passed as it is (as a JavaScript caller or an `as any` would pass it)
 * and must fail with `InvalidRequest`, never a defect, a hang or a silent coercion.
 */

export interface BadInputCase {
  readonly name: string
  /** The bad value, passed as it is. */
  readonly input: unknown
  /** What the error's message must say: the option or argument to fix. */
  readonly says: string | RegExp
}

/** Client options (`TestClient.layer(app, input)`): the layer builds, and every request fails naming the option. */
export const badClientOptions: ReadonlyArray<BadInputCase> = [
  { name: "null", input: null, says: "client options must be an object" },
  { name: "a string", input: "fast", says: "client options must be an object" },
  { name: "an array", input: [], says: "client options must be an object" },
  { name: "an unknown key (a typo)", input: { timout: "1 second" }, says: /unknown (client )?option "timout"/ },
  { name: "baseUrl a number", input: { baseUrl: 42 }, says: "baseUrl" },
  { name: "baseUrl not a URL", input: { baseUrl: "not a url" }, says: "baseUrl" },
  { name: "baseUrl ftp", input: { baseUrl: "ftp://files.example.com" }, says: "baseUrl" },
  { name: "baseUrl with a query", input: { baseUrl: "http://testserver/api?x=1" }, says: /baseUrl.*query/ },
  { name: "headers a string", input: { headers: "x-a: 1" }, says: "headers" },
  { name: "headers null", input: { headers: null }, says: "headers" },
  { name: "headers an array of pairs", input: { headers: [["x-a", "1"]] }, says: "headers" },
  { name: "headers a bad name", input: { headers: { "bad name": "1" } }, says: '"bad name"' },
  { name: "headers a number value", input: { headers: { "x-a": 1 } }, says: '"x-a"' },
  { name: "headers a value with CR/LF", input: { headers: { "x-a": "1\r\nx-b: 2" } }, says: '"x-a"' },
  { name: "cookies a string", input: { cookies: "a=1" }, says: "cookies" },
  { name: "cookies null", input: { cookies: null }, says: "cookies" },
  { name: "cookies a number value", input: { cookies: { a: 1 } }, says: 'cookie "a"' },
  { name: "cookies a bad name", input: { cookies: { "a b": "1" } }, says: '"a b"' },
  { name: "cookies a value with CR/LF", input: { cookies: { a: "1\r\nb" } }, says: 'cookie "a"' },
  { name: "timeout NaN", input: { timeout: Number.NaN }, says: "timeout" },
  { name: "timeout -1", input: { timeout: -1 }, says: "timeout" },
  { name: 'timeout "-5 seconds"', input: { timeout: "-5 seconds" }, says: "timeout" },
  { name: 'timeout "soon"', input: { timeout: "soon" }, says: "timeout" },
  { name: "timeout 0", input: { timeout: 0 }, says: /timeout.*positive/ },
  { name: "timeout an object", input: { timeout: {} }, says: "timeout" },
  { name: "timeout [1, NaN]", input: { timeout: [1, Number.NaN] }, says: "timeout" },
  { name: "timeout a negative bigint", input: { timeout: -1n }, says: "timeout" },
  { name: "timeout a boolean", input: { timeout: true }, says: "timeout" },
  { name: "drainTimeout -1", input: { drainTimeout: -1 }, says: "drainTimeout" },
  { name: 'drainTimeout "forever"', input: { drainTimeout: "forever" }, says: "drainTimeout" },
  { name: "drainTimeout NaN", input: { drainTimeout: Number.NaN }, says: "drainTimeout" },
  { name: 'serverErrors "Fail"', input: { serverErrors: "Fail" }, says: /serverErrors.*"fail" or "respond"/ },
  { name: "serverErrors true", input: { serverErrors: true }, says: "serverErrors" },
  { name: "remoteAddress a number", input: { remoteAddress: 127001 }, says: "remoteAddress" },
  { name: "remoteAddress not an IP", input: { remoteAddress: "client-1" }, says: "remoteAddress" },
  { name: "remoteAddress with CR/LF", input: { remoteAddress: "10.0.0.1\r\n" }, says: "remoteAddress" },
  { name: 'followRedirects "false"', input: { followRedirects: "false" }, says: "followRedirects" },
  { name: "followRedirects 0", input: { followRedirects: 0 }, says: "followRedirects" },
  { name: "maxRedirects 1.5", input: { maxRedirects: 1.5 }, says: "maxRedirects" },
  { name: "maxRedirects -1", input: { maxRedirects: -1 }, says: "maxRedirects" },
  { name: 'maxRedirects "3"', input: { maxRedirects: "3" }, says: "maxRedirects" },
  { name: "maxRedirects NaN", input: { maxRedirects: Number.NaN }, says: "maxRedirects" },
  { name: "acceptEncoding with CR/LF", input: { acceptEncoding: "gzip\r\nx-injected: 1" }, says: "acceptEncoding" },
  { name: "acceptEncoding a number", input: { acceptEncoding: 5 }, says: "acceptEncoding" },
  { name: "exchangeLimit NaN", input: { exchangeLimit: Number.NaN }, says: "exchangeLimit" },
  { name: "exchangeLimit -1", input: { exchangeLimit: -1 }, says: "exchangeLimit" },
  { name: 'exchangeLimit "100"', input: { exchangeLimit: "100" }, says: "exchangeLimit" },
  { name: "spanLimit -1", input: { spanLimit: -1 }, says: "spanLimit" },
  { name: "spanLimit 2.5", input: { spanLimit: 2.5 }, says: "spanLimit" },
  { name: 'report "always"', input: { report: "always" }, says: /report.*"onFailure" or "never"/ },
  { name: "report false", input: { report: false }, says: "report" }
]

/** The options of `TestClient.setCookie("c", "1", input)`: the call fails and the jar is unchanged. */
export const badCookieOptions: ReadonlyArray<BadInputCase> = [
  { name: "options a string", input: "path=/", says: "options must be an object" },
  { name: "options null", input: null, says: "options must be an object" },
  { name: "an unknown option", input: { maxage: 10 }, says: /unknown option "maxage"/ },
  { name: 'path "/; Secure" (attribute injection)', input: { path: "/; Secure" }, says: /path.*";"/ },
  { name: "path with CR/LF", input: { path: "/a\r\nSet-Cookie: x=1" }, says: "path" },
  { name: "path without a leading slash", input: { path: "admin" }, says: /path.*start with "\/"/ },
  { name: "path a number", input: { path: 42 }, says: "path" },
  { name: 'domain "example.com; Secure"', input: { domain: "testserver; Secure" }, says: "domain" },
  { name: "domain with a space", input: { domain: "test server" }, says: "domain" },
  { name: "domain a number", input: { domain: 42 }, says: "domain" },
  { name: 'maxAge "nonsense"', input: { maxAge: "nonsense" }, says: "maxAge" },
  { name: "maxAge -1", input: { maxAge: -1 }, says: "maxAge" },
  { name: "maxAge NaN", input: { maxAge: Number.NaN }, says: "maxAge" },
  { name: "maxAge Infinity", input: { maxAge: Number.POSITIVE_INFINITY }, says: "maxAge" },
  { name: "expires a string", input: { expires: "2030-01-01" }, says: "expires" },
  { name: "expires an Invalid Date", input: { expires: new Date("nope") }, says: "expires" },
  { name: 'secure "yes"', input: { secure: "yes" }, says: "secure" },
  { name: "httpOnly 1", input: { httpOnly: 1 }, says: "httpOnly" },
  { name: 'sameSite "loose"', input: { sameSite: "loose" }, says: "sameSite" },
  { name: "url a number", input: { url: 42 }, says: "url" },
  { name: "url ftp", input: { url: "ftp://testserver/" }, says: "url" }
]

/** The options of `TestClient.websocket("/ws", input)`: the connection is refused before any handshake. */
export const badWebSocketOptions: ReadonlyArray<BadInputCase> = [
  { name: "options null", input: null, says: "options must be an object" },
  { name: "options a string", input: "chat", says: "options must be an object" },
  { name: "an unknown option", input: { protocol: ["chat"] }, says: /unknown option "protocol"/ },
  { name: "protocols a string", input: { protocols: "chat" }, says: /protocols.*array/ },
  { name: "protocols duplicated", input: { protocols: ["chat", "chat"] }, says: /"chat".*more than once/ },
  { name: "protocols not a token", input: { protocols: ["chat v1"] }, says: /"chat v1".*token/ },
  { name: "protocols empty string", input: { protocols: [""] }, says: "token" },
  { name: "protocols a number", input: { protocols: [1] }, says: "token" },
  { name: "headers a string", input: { headers: "x-a: 1" }, says: "headers" },
  { name: "headers a value with CR/LF", input: { headers: { "x-a": "1\r\n" } }, says: '"x-a"' },
  { name: "timeout -1", input: { timeout: -1 }, says: "timeout" },
  { name: "params a string", input: { params: "a=1" }, says: "params" },
  { name: "cookies a string", input: { cookies: "a=1" }, says: "cookies" }
]

/** A request body as data: each edition builds it with its own API (a Stream of the chunks' UTF-8 bytes). */
export type ContentLengthBody =
  | { readonly _tag: "None" }
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "Multipart"; readonly fields: Readonly<Record<string, string>> }
  | { readonly _tag: "Stream"; readonly chunks: ReadonlyArray<string> }

/**
 * A `content-length` header the test gives that contradicts its body: each request (a POST)
 * must fail with `InvalidRequest` saying both lengths and how to fix it, over every transport.
 */
export const contentLengthMismatches: ReadonlyArray<{
  readonly name: string
  readonly contentLength: string
  readonly body: ContentLengthBody
  readonly says: string
}> = [
  {
    name: "a longer body",
    contentLength: "1",
    body: { _tag: "Text", text: "hi" },
    says: "says 1 but the body is 2 bytes"
  },
  { name: "no body", contentLength: "3", body: { _tag: "None" }, says: "says 3 but the body is 0 bytes" },
  {
    name: "a multipart body",
    contentLength: "5",
    body: { _tag: "Multipart", fields: { name: "ada" } },
    says: "says 5 but the body is"
  },
  {
    name: "a Stream body going past it",
    contentLength: "1",
    body: { _tag: "Stream", chunks: ["A", "B"] },
    says: "says 1 but the Stream body gave more (2 bytes so far)"
  },
  {
    name: "a Stream body ending short of it",
    contentLength: "3",
    body: { _tag: "Stream", chunks: ["A"] },
    says: "says 3 but the Stream body ended after 1 bytes"
  }
]

/** A case's request options, its Stream body made by `stream` (an edition's Stream of the chunks' UTF-8 bytes). */
export const contentLengthOptions = <S>(
  { contentLength, body }: (typeof contentLengthMismatches)[number],
  stream: (chunks: ReadonlyArray<string>) => S
): {
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string | S
  readonly multipart?: Readonly<Record<string, string>>
} => {
  const headers = { "content-length": contentLength }
  switch (body._tag) {
    case "None":
      return { headers }
    case "Text":
      return { headers, body: body.text }
    case "Multipart":
      return { headers, multipart: body.fields }
    case "Stream":
      return { headers, body: stream(body.chunks) }
  }
}
