/**
 * The parity request list as data: requests an edition sends both in process and to the same
 * app on a real Node HTTP server (over a socket, with the platform's HTTP client), expecting
 * the same status, headers and body. The app that answers them is each edition's own (its
 * routes are named here by path); this list is what every edition must send. Plain data with
 * no imports.
 */

/** The entity tag of `/catalogue`: an `If-None-Match` with it gets a 304. */
export const catalogueEtag = '"catalogue-v7"'

/** A file part of a multipart body. */
export interface ParityFile {
  readonly content: string
  readonly filename: string
  readonly type: string
}

export type ParityBody =
  | { readonly _tag: "Json"; readonly value: unknown }
  | { readonly _tag: "Form"; readonly fields: ReadonlyArray<readonly [string, string]> }
  /** Sent as `multipart/form-data`, the parts in order. */
  | { readonly _tag: "Multipart"; readonly parts: ReadonlyArray<readonly [string, string | ParityFile]> }
  | { readonly _tag: "Text"; readonly text: string; readonly contentType: string }
  /** Sent chunked (no content-length), chunk by chunk. */
  | { readonly _tag: "Stream"; readonly chunks: ReadonlyArray<string>; readonly contentType: string }

export interface ParityRequest {
  readonly name: string
  readonly method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS"
  readonly path: string
  /** Query parameters appended to `path`'s own query. */
  readonly params?: ReadonlyArray<readonly [string, string]>
  /** Header lines; a name given twice is sent as two lines. */
  readonly headers?: ReadonlyArray<readonly [string, string]>
  /** Sent as one `cookie` header (`a=1; b=2`). Simple token values only. */
  readonly cookies?: Readonly<Record<string, string>>
  readonly body?: ParityBody
}

/** A ~200 KiB JSON document. */
export const largeDocument = {
  items: Array.from({ length: 2_000 }, (_, i) => ({
    id: i,
    name: `item-${i}`,
    description: "x".repeat(64),
    tags: ["a", "b", "c"]
  }))
}

/** Two fields (one repeated) and a CSV file. */
const uploadParts: ReadonlyArray<readonly [string, string | ParityFile]> = [
  ["title", "quarterly report"],
  ["tag", "finance"],
  ["tag", "q3"],
  ["attachment", { content: "col1,col2\n1,2\n3,4\n", filename: "report.csv", type: "text/csv" }]
]

export const parityRequests: ReadonlyArray<ParityRequest> = [
  { name: "GET text", method: "GET", path: "/text" },
  { name: "GET json (HttpServerResponse.json)", method: "GET", path: "/json" },
  { name: "GET json (unsafeJson + custom header)", method: "GET", path: "/unsafe-json" },
  {
    name: "POST json echo",
    method: "POST",
    path: "/echo/json",
    body: { _tag: "Json", value: { a: 1, b: [true, null] } }
  },
  {
    name: "POST text body echo",
    method: "POST",
    path: "/echo/text",
    body: { _tag: "Text", text: "plain words, ünïcödé", contentType: "text/plain; charset=utf-8" }
  },
  {
    name: "POST json: request headers the app sees",
    method: "POST",
    path: "/echo/headers",
    headers: [["x-trace", "abc"]],
    body: { _tag: "Json", value: { ping: "pong" } }
  },
  { name: "GET: request headers the app sees", method: "GET", path: "/echo/headers" },
  {
    name: "POST chunked (streamed) request body",
    method: "POST",
    path: "/echo/headers",
    body: { _tag: "Stream", chunks: ['{"part":', '"one",', '"more":2}'], contentType: "application/json" }
  },
  {
    name: "POST urlencoded form",
    method: "POST",
    path: "/form",
    body: {
      _tag: "Form",
      fields: [
        ["name", "Ada Lovelace"],
        ["lang", "en"],
        ["lang", "fr"],
        ["note", "a&b=c ü"]
      ]
    }
  },
  {
    name: "POST multipart upload with a file",
    method: "POST",
    path: "/upload",
    body: { _tag: "Multipart", parts: uploadParts }
  },
  {
    name: "POST empty body to a JSON route",
    method: "POST",
    path: "/echo/json",
    body: { _tag: "Text", text: "", contentType: "application/json" }
  },
  {
    name: "POST invalid JSON -> 400",
    method: "POST",
    path: "/echo/json",
    body: { _tag: "Text", text: "{not json", contentType: "application/json" }
  },
  {
    name: "body within withMaxBodySize",
    method: "POST",
    path: "/limited",
    body: { _tag: "Json", value: { small: true } }
  },
  // Node: platform-node reads the body with `maxBytes` and destroys the request stream (and the
  // socket) when it is exceeded, so the app's 400 never reaches the client (ECONNRESET). The
  // in-process engine resets the exchange the same way (effect-http-testkit's docs/behaviours.md#oversized-body-reset).
  {
    name: "body over withMaxBodySize",
    method: "POST",
    path: "/limited",
    body: { _tag: "Json", value: { big: "x".repeat(4096) } }
  },
  { name: "PUT json", method: "PUT", path: "/items/42", body: { _tag: "Json", value: { name: "new", qty: 3 } } },
  { name: "PATCH json", method: "PATCH", path: "/items/42", body: { _tag: "Json", value: { qty: 4 } } },
  {
    name: "PATCH with an encoded path parameter",
    method: "PATCH",
    path: "/items/a%20b%2Fc",
    body: { _tag: "Json", value: null }
  },
  { name: "DELETE -> 204", method: "DELETE", path: "/items/42" },
  { name: "OPTIONS", method: "OPTIONS", path: "/items" },
  // Node marks 204/304/1xx responses (and HEAD) as body-less and discards what is written; so
  // does the in-process engine (effect-http-testkit's docs/behaviours.md#response-framing).
  { name: "204 built with a body", method: "DELETE", path: "/sessions/current" },
  {
    name: "conditional GET, etag does not match -> 200",
    method: "GET",
    path: "/catalogue",
    headers: [["if-none-match", '"old"']]
  },
  {
    name: "conditional GET, etag matches -> 304",
    method: "GET",
    path: "/catalogue",
    headers: [["if-none-match", catalogueEtag]]
  },
  { name: "mounted app sees the rewritten url", method: "GET", path: "/api/v1/status?verbose=1" },
  { name: "201 with custom headers and cookies", method: "POST", path: "/accounts", body: { _tag: "Json", value: {} } },
  { name: "302 redirect (not followed)", method: "GET", path: "/old-home" },
  { name: "Stream body", method: "GET", path: "/stream" },
  { name: "Empty body 200", method: "GET", path: "/empty" },
  { name: "Raw body", method: "GET", path: "/raw" },
  { name: "Raw body from a Node Readable", method: "GET", path: "/raw-readable" },
  { name: "large Stream body (1 MiB, 256 chunks)", method: "GET", path: "/stream-large" },
  // Node's `writeHead` rejects the value (ERR_INVALID_CHAR), the handler dies, the client gets
  // a 500; the in-process engine checks response headers with Node's own validators and does
  // the same (effect-http-testkit's docs/behaviours.md#response-framing).
  { name: "response header value outside Latin-1", method: "GET", path: "/download" },
  { name: "file body (HttpServerResponse.file)", method: "GET", path: "/file" },
  { name: "defect (Effect.die) -> 500", method: "GET", path: "/die" },
  { name: "typed failure, not Respondable -> 500", method: "GET", path: "/fail" },
  { name: "typed failure, Respondable -> 418", method: "GET", path: "/teapot" },
  { name: "HttpServerResponse as failure -> 409", method: "GET", path: "/conflict" },
  { name: "Effect.interrupt in handler", method: "GET", path: "/interrupt" },
  { name: "RouteNotFound -> 404", method: "GET", path: "/no/such/route" },
  { name: "wrong method on a GET route -> 404", method: "POST", path: "/text", body: { _tag: "Json", value: 1 } },
  { name: "HEAD on a GET route (text)", method: "HEAD", path: "/text" },
  { name: "HEAD on a GET route (stream)", method: "HEAD", path: "/stream" },
  { name: "HEAD on a failing route", method: "HEAD", path: "/fail" },
  {
    name: "query string: url and ParsedSearchParams",
    method: "GET",
    // A space in the query is written `+`: platform's HttpClient re-serialises a URL's query
    // through URLSearchParams (so `%20` would go out as `+`), while TestClient sends the query
    // as written. `+` is what both send, so the requests stay byte-for-byte equivalent.
    path: "/query?q=hello+world&b=1",
    params: [
      ["b", "2"],
      ["phrase", "a b&c=d"],
      ["emoji", "✓"],
      ["empty", ""]
    ]
  },
  { name: "query string: schemaSearchParams ok", method: "GET", path: "/typed-query?page=3&tag=a&tag=b" },
  { name: "query string: schemaSearchParams ParseError -> 400", method: "GET", path: "/typed-query?page=abc" },
  {
    name: "repeated request header",
    method: "GET",
    path: "/multi-header",
    headers: [
      ["x-multi", "one"],
      ["x-multi", "two"]
    ]
  },
  { name: "cookie header echo", method: "GET", path: "/cookies", cookies: { session: "abc123", theme: "dark" } },
  {
    name: "raw cookie header echo",
    method: "GET",
    path: "/cookies",
    headers: [["cookie", "a=1; b=two; c=%C3%BC"]]
  },
  {
    name: "large JSON body (~200 KiB) echo",
    method: "POST",
    path: "/echo/json",
    body: { _tag: "Json", value: largeDocument }
  }
]
