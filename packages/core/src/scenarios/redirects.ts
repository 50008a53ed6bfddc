/**
 * Redirect following (RFC 9110 §15.4, Fetch) as data: the request that follows each
 * redirect status after each method, where a `Location` leads, and which credentials a hop
 * keeps. Plain data with no imports, so every edition of the kit can run the same tables.
 */

/** The redirect statuses a client follows. Any other 3xx (300, 304, ...) comes back as it is. */
export const followedStatuses: ReadonlyArray<301 | 302 | 303 | 307 | 308> = [301, 302, 303, 307, 308]

/** 3xx statuses that are not followed even with a `Location`. */
export const unfollowedStatuses: ReadonlyArray<number> = [300, 304, 305, 306]

export interface RedirectMethodCase {
  readonly status: 301 | 302 | 303 | 307 | 308
  /** The method of the request answered with `status`, sent with a body when it has one. */
  readonly method: "GET" | "HEAD" | "POST" | "PUT" | "DELETE"
  /** The method of the request that follows. */
  readonly followUp: string
  /** Whether the follow-up carries the body again, with its `Content-Type` and `Content-Length`. */
  readonly keepsBody: boolean
}

/**
 * Every followed status after every method. 301/302/303 turn any method but GET and HEAD
 * into GET and drop the body and its headers (broader than Fetch, which rewrites only POST on
 * 301/302, and what most clients do); 307/308 keep the method and the body; HEAD stays HEAD.
 */
export const redirectMethodCases: ReadonlyArray<RedirectMethodCase> = [
  { status: 301, method: "GET", followUp: "GET", keepsBody: false },
  { status: 301, method: "HEAD", followUp: "HEAD", keepsBody: false },
  { status: 301, method: "POST", followUp: "GET", keepsBody: false },
  { status: 301, method: "PUT", followUp: "GET", keepsBody: false },
  { status: 301, method: "DELETE", followUp: "GET", keepsBody: false },
  { status: 302, method: "GET", followUp: "GET", keepsBody: false },
  { status: 302, method: "HEAD", followUp: "HEAD", keepsBody: false },
  { status: 302, method: "POST", followUp: "GET", keepsBody: false },
  { status: 302, method: "PUT", followUp: "GET", keepsBody: false },
  { status: 302, method: "DELETE", followUp: "GET", keepsBody: false },
  { status: 303, method: "GET", followUp: "GET", keepsBody: false },
  { status: 303, method: "HEAD", followUp: "HEAD", keepsBody: false },
  { status: 303, method: "POST", followUp: "GET", keepsBody: false },
  { status: 303, method: "PUT", followUp: "GET", keepsBody: false },
  { status: 303, method: "DELETE", followUp: "GET", keepsBody: false },
  { status: 307, method: "GET", followUp: "GET", keepsBody: false },
  { status: 307, method: "HEAD", followUp: "HEAD", keepsBody: false },
  { status: 307, method: "POST", followUp: "POST", keepsBody: true },
  { status: 307, method: "PUT", followUp: "PUT", keepsBody: true },
  { status: 307, method: "DELETE", followUp: "DELETE", keepsBody: true },
  { status: 308, method: "GET", followUp: "GET", keepsBody: false },
  { status: 308, method: "HEAD", followUp: "HEAD", keepsBody: false },
  { status: 308, method: "POST", followUp: "POST", keepsBody: true },
  { status: 308, method: "PUT", followUp: "PUT", keepsBody: true },
  { status: 308, method: "DELETE", followUp: "DELETE", keepsBody: true }
]

/**
 * How Fetch (and so `fetch`, the client behind Effect 4's `NodeHttpServer.layerTest`) changes
 * the method: 303 turns any method but GET and HEAD into GET, 301/302 only POST. An edition's
 * drop-in for a fetch-backed client follows these.
 */
export const fetchRedirectMethodCases: ReadonlyArray<RedirectMethodCase> = [
  { status: 301, method: "GET", followUp: "GET", keepsBody: false },
  { status: 301, method: "HEAD", followUp: "HEAD", keepsBody: false },
  { status: 301, method: "POST", followUp: "GET", keepsBody: false },
  { status: 301, method: "PUT", followUp: "PUT", keepsBody: true },
  { status: 301, method: "DELETE", followUp: "DELETE", keepsBody: true },
  { status: 302, method: "GET", followUp: "GET", keepsBody: false },
  { status: 302, method: "HEAD", followUp: "HEAD", keepsBody: false },
  { status: 302, method: "POST", followUp: "GET", keepsBody: false },
  { status: 302, method: "PUT", followUp: "PUT", keepsBody: true },
  { status: 302, method: "DELETE", followUp: "DELETE", keepsBody: true },
  { status: 303, method: "GET", followUp: "GET", keepsBody: false },
  { status: 303, method: "HEAD", followUp: "HEAD", keepsBody: false },
  { status: 303, method: "POST", followUp: "GET", keepsBody: false },
  { status: 303, method: "PUT", followUp: "GET", keepsBody: false },
  { status: 303, method: "DELETE", followUp: "GET", keepsBody: false },
  { status: 307, method: "GET", followUp: "GET", keepsBody: false },
  { status: 307, method: "HEAD", followUp: "HEAD", keepsBody: false },
  { status: 307, method: "POST", followUp: "POST", keepsBody: true },
  { status: 307, method: "PUT", followUp: "PUT", keepsBody: true },
  { status: 307, method: "DELETE", followUp: "DELETE", keepsBody: true },
  { status: 308, method: "GET", followUp: "GET", keepsBody: false },
  { status: 308, method: "HEAD", followUp: "HEAD", keepsBody: false },
  { status: 308, method: "POST", followUp: "POST", keepsBody: true },
  { status: 308, method: "PUT", followUp: "PUT", keepsBody: true },
  { status: 308, method: "DELETE", followUp: "DELETE", keepsBody: true }
]

/**
 * The URL every location case redirects from, before its query: a case's response comes
 * from `${locationBase}?to=${encodeURIComponent(location)}`.
 */
export const locationBase = "http://testserver/a/redirect/302"

export interface LocationCase {
  readonly name: string
  /** The `Location` header of a 302. */
  readonly location: string
  /** The URL of the request that follows, or `undefined` when the 302 is not followed. */
  readonly to: string | undefined
}

/** `Location` resolves against the current URL (RFC 3986 §5); only http(s) targets are followed. */
export const locationCases: ReadonlyArray<LocationCase> = [
  { name: "a relative path", location: "target", to: "http://testserver/a/redirect/target" },
  { name: "a parent path", location: "../target", to: "http://testserver/a/target" },
  { name: "a parent path with a query", location: "../b/target?q=1", to: "http://testserver/a/b/target?q=1" },
  { name: "a path above the root stops at the root", location: "../../../target", to: "http://testserver/target" },
  { name: "an absolute path", location: "/a/b/target", to: "http://testserver/a/b/target" },
  {
    name: "a query alone replaces the query",
    location: "?only=query",
    to: "http://testserver/a/redirect/302?only=query"
  },
  {
    name: "an absolute URL to another origin",
    location: "http://other.example:8080/target",
    to: "http://other.example:8080/target"
  },
  { name: "a scheme-relative URL keeps the scheme", location: "//cdn.example/target", to: "http://cdn.example/target" },
  { name: "a fragment never travels", location: "/target#section", to: "http://testserver/target" },
  { name: "a mailto: Location is not followed", location: "mailto:someone@example.com", to: undefined },
  { name: "an unparseable Location is not followed", location: "http://[::1", to: undefined }
]

export interface CredentialCase {
  readonly name: string
  /** The status of the redirect, answered to a POST with a body. */
  readonly status: 301 | 302 | 303 | 307 | 308
  /** Where the redirect leads, from `http://testserver/redirect`. */
  readonly location: string
  /** Whether `Authorization`, `Proxy-Authorization` and an explicit `Cookie` header go along. */
  readonly kept: boolean
}

/** Credentials meant for one origin never follow a redirect to another (scheme, host or port). */
export const credentialCases: ReadonlyArray<CredentialCase> = [
  { name: "same origin, relative Location", status: 302, location: "/target", kept: true },
  { name: "same origin, absolute Location", status: 307, location: "http://testserver/target", kept: true },
  { name: "another host", status: 302, location: "http://elsewhere.example/target", kept: false },
  { name: "another scheme", status: 307, location: "https://testserver/target", kept: false },
  { name: "another port", status: 308, location: "http://testserver:8080/target", kept: false },
  { name: "a scheme-relative Location to another host", status: 303, location: "//cdn.example/target", kept: false }
]
