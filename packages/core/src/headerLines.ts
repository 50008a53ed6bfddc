/**
 * Header lines as Node reads them: repeated request headers folded as its `IncomingMessage`
 * folds them, and the spaces and tabs around a value dropped. Effect-free: shared by every
 * edition of the kit.
 */
import { trimOws } from "./values.js"

// Node's IncomingMessage folds repeated request headers this way (see `_addHeaderLine`):
// these keep only the first value, `cookie` joins with "; ", everything else with ", ".
const singleValued = new Set([
  "age",
  "authorization",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent"
])

/**
 * Whether a header value has spaces or tabs around it, which Node's parser drops. A
 * character check first: the regex of `trimOws` costs on every header of every request.
 */
export const hasSurroundingWhitespace = (value: string): boolean => {
  if (value.length === 0) return false
  const first = value.charCodeAt(0)
  const last = value.charCodeAt(value.length - 1)
  return first === 32 || first === 9 || last === 32 || last === 9
}

/** A header value as Node's parser hands it over: without the spaces and tabs around it. */
export const parsedValue = (value: string): string => (hasSurroundingWhitespace(value) ? trimOws(value) : value)

/**
 * Folds header lines into the record a Node server hands the app.
 */
export const foldLines = (lines: ReadonlyArray<readonly [string, string]>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [rawName, rawValue] of lines) {
    const name = rawName.toLowerCase()
    // Node's parser drops the spaces and tabs around a value, whichever client sent it.
    const value = parsedValue(rawValue)
    const current = out[name]
    if (current === undefined) {
      out[name] = value
    } else if (!singleValued.has(name)) {
      out[name] = `${current}${name === "cookie" ? "; " : ", "}${value}`
    }
  }
  return out
}
