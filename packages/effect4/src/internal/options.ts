/**
 * The option rules the kit's clients share (the buffered and streamed requests, WebSocket
 * handshakes): durations, header-line merging, records given as web Headers or
 * URLSearchParams, and query parameters appended to a URL.
 *
 * @internal
 */
import { describe, isOptionBag } from "@effect-http-testkit/core"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

/** A duration option in millis, or what is wrong with it. */
export const durationMillis = (name: string, input: unknown): number | string => {
  const decoded = Duration.fromInput(input as Duration.Input)
  if (Option.isNone(decoded)) {
    return `${name} ${describe(input)} is not a Duration: use e.g. "5 seconds" or a number of millis`
  }
  const millis = Duration.toMillis(decoded.value)
  if (!(millis > 0)) return `${name} must be a positive Duration, got ${describe(input)}`
  return millis
}

/** Header lines in the order a client sends them, later names replacing earlier ones. */
export const mergeLines = (
  ...groups: ReadonlyArray<ReadonlyArray<readonly [string, string]>>
): Array<readonly [string, string]> => {
  const out: Array<readonly [string, string]> = []
  for (const group of groups) {
    if (group.length === 0) continue
    if (out.length > 0) {
      if (out.length * group.length <= 256) {
        // A few lines each (the usual case): compared one by one, with no Set per group.
        let kept = 0
        for (let i = 0; i < out.length; i++) {
          const line = out[i]!
          let replaced = false
          for (let j = 0; j < group.length && !replaced; j++) replaced = group[j]![0] === line[0]
          if (!replaced) out[kept++] = line
        }
        out.length = kept
      } else {
        const names = new Set(group.map(([name]) => name))
        for (let i = out.length - 1; i >= 0; i--) if (names.has(out[i]![0])) out.splice(i, 1)
      }
    }
    for (let i = 0; i < group.length; i++) out.push(group[i]!)
  }
  return out
}

/** The entries of a plain record, or of a web `Headers` / `URLSearchParams` given in its place. */
export const entriesOf = (input: unknown): ReadonlyArray<readonly [string, unknown]> | undefined => {
  if (input instanceof globalThis.Headers || input instanceof URLSearchParams) return Array.from(input.entries())
  if (!isOptionBag(input)) return undefined
  const proto = Object.getPrototypeOf(input)
  // A class instance (a Map, a Date) would give none of its entries to Object.entries.
  if (proto !== Object.prototype && proto !== null) return undefined
  return Object.entries(input)
}

/**
 * Appends the `params` option to `target`'s query as written (the URL's own part is not
 * re-encoded); what is wrong with them, if anything.
 */
export const appendParams = (target: URL, params: unknown): string | undefined => {
  if (params === undefined) return undefined
  const entries = entriesOf(params)
  if (entries === undefined) {
    return `params must be a record of name to value (or URLSearchParams), got ${describe(params)}`
  }
  const added = new URLSearchParams()
  for (const [name, value] of entries) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (!(typeof one === "string" || typeof one === "boolean" || (typeof one === "number" && Number.isFinite(one)))) {
        return `params ${JSON.stringify(name)} must be a string, a finite number or a boolean (or an array of them), got ${describe(value)}`
      }
      added.append(name, String(one))
    }
  }
  const extra = added.toString()
  if (extra !== "") target.search = target.search === "" ? `?${extra}` : `${target.search}&${extra}`
  return undefined
}

/** Why a request found no app to serve it. */
export const notServing = (stopped: boolean): string =>
  stopped
    ? "the client's scope has closed, and the app with it: make requests inside the scope that provides TestClient"
    : "the app is not served: the layer given to TestClient.layerServer never called HttpServer.serve"

const absoluteUrlRe = /^[a-zA-Z][a-zA-Z\d+\-.]*:/

/**
 * A request's URL against the client's base URL: an absolute URL as given; anything else
 * joined as text after the base URL's path, which is a prefix (`http://h/api/v1` and `/bar`
 * give `http://h/api/v1/bar`; `//x` stays a path). Throws as `new URL` does on what does not
 * parse.
 */
export const resolveUrl = (base: URL, url: string): URL => {
  if (absoluteUrlRe.test(url)) return new URL(url)
  const prefix = base.pathname.endsWith("/") ? base.pathname.slice(0, -1) : base.pathname
  const path =
    url === "" || url.startsWith("?") || url.startsWith("#") ? `/${url}` : url.startsWith("/") ? url : `/${url}`
  return new URL(`${base.origin}${prefix}${path}`)
}
