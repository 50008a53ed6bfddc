/** One hop of a request, whatever its body is (only a Stream body cannot be sent twice). */
export interface Hop<Body extends { readonly _tag: string }> {
  readonly method: string
  readonly url: URL
  readonly headerLines: ReadonlyArray<readonly [string, string]>
  readonly body: Body
}

export const isRedirect = (status: number): boolean =>
  status === 301 || status === 302 || status === 303 || status === 307 || status === 308

// The headers that describe a body (Fetch's "request-body-header names"): they go when the body goes.
const bodyHeaders = new Set([
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "content-location",
  "transfer-encoding"
])

// Credentials for the origin the request was first sent to: they never follow it elsewhere.
const originHeaders = new Set(["authorization", "proxy-authorization", "cookie"])

/**
 * The hop that follows a redirect response (effect-http-testkit's docs/behaviours.md#redirects): 301/302/303 turn
 * any method but GET/HEAD into GET and drop the body and its headers (broader than Fetch,
 * which rewrites only POST on 301/302: #redirect-method-rewrite there); 307/308
 * keep method and body; HEAD stays HEAD. `Location` resolves against the current URL. A hop
 * to another origin drops the credentials meant for the first one: `Authorization`,
 * `Proxy-Authorization` (as undici does) and the caller's explicit `Cookie` header (cookies
 * then come from the jar alone).
 *
 * With `rewrite: "fetch"`, the method changes as Fetch (and so `fetch`) changes it: 303 turns
 * any method but GET/HEAD into GET, 301/302 only POST.
 *
 * Returns `undefined` when the response is not a redirect to follow (not 301/302/303/307/308,
 * no `Location`, or one that is not an http(s) URL), or a problem when the body cannot be
 * sent again.
 */
export const nextHop = <Body extends { readonly _tag: string }>(
  hop: Hop<Body>,
  status: number,
  location: string | undefined,
  rewrite: "any" | "fetch" = "any"
): Hop<Body | { readonly _tag: "Empty" }> | { readonly problem: string } | undefined => {
  if (!isRedirect(status) || location === undefined) return undefined
  let url: URL
  try {
    url = new URL(location, hop.url)
  } catch {
    return undefined
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined
  // A fragment-less Location inherits the current URL's fragment (RFC 9110 §10.2.2); fragments never travel.
  url.hash = ""

  const crossOrigin = url.origin !== hop.url.origin
  const toGet =
    rewrite === "fetch"
      ? (status === 303 && hop.method !== "GET" && hop.method !== "HEAD") || (status <= 302 && hop.method === "POST")
      : status <= 303 && hop.method !== "GET" && hop.method !== "HEAD"
  const headerLines = hop.headerLines.filter(
    ([name]) => !(toGet && bodyHeaders.has(name)) && !(crossOrigin && originHeaders.has(name))
  )
  if (toGet) return { method: "GET", url, headerLines, body: { _tag: "Empty" } as const }
  if (hop.body._tag === "Stream") {
    return {
      problem:
        `the ${status} redirect to ${url.href} must resend the request body, but a Stream body can only be sent once: ` +
        "send the body as a string or Uint8Array, or pass followRedirects: false and follow it yourself"
    }
  }
  return { method: hop.method, url, headerLines, body: hop.body }
}
