/**
 * The rules for values a test gives (header tokens and values, option bags, counts), and how
 * a message shows a value. Effect-free: shared by every edition of the kit.
 */

export const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** RFC 9110 field values: visible ASCII, obs-text, space and tab; no CR, LF or NUL. */
export const invalidValueRe = /[^\t\x20-\x7e\x80-\xff]/

/**
 * A value as a message shows it: strings quoted, numbers as written (`NaN`, `-1`), bigints
 * with their `n`, never a throw (a bigint or a cycle cannot be JSON).
 */
export const describe = (value: unknown): string => {
  switch (typeof value) {
    case "number":
      return Object.is(value, -0) ? "-0" : String(value)
    case "bigint":
      return `${value}n`
    case "symbol":
      return value.toString()
    case "function":
      return "a function"
    case "undefined":
      return "undefined"
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "an Invalid Date" : `Date(${value.toISOString()})`
  try {
    const json = JSON.stringify(value)
    if (json !== undefined) return json.length > 200 ? `${json.slice(0, 200)}…` : json
  } catch {
    // a cycle or a bigint inside: fall through
  }
  return Object.prototype.toString.call(value)
}

/** Whether `value` is an object that options can be read from: not null, not an array. */
export const isOptionBag = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The keys of an option bag that are not among `known` (and not `undefined`), each as a
 * problem naming the closest known one: a typo would otherwise be ignored and the default
 * used, silently.
 */
export const unknownKeys = (
  bag: Readonly<Record<string, unknown>>,
  known: ReadonlyArray<string>,
  what: string
): string | undefined => {
  for (const key of Object.keys(bag)) {
    if (known.includes(key) || bag[key] === undefined) continue
    const near = known.find((name) => name.toLowerCase() === key.toLowerCase() || distance(name, key) <= 2)
    return `unknown ${what} ${describe(key)}${near === undefined ? "" : ` (did you mean ${describe(near)}?)`}: the ${what}s are ${known.join(", ")}`
  }
  return undefined
}

/** Levenshtein distance, for "did you mean". */
const distance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]
}

/** A whole number >= 0 (`maxRedirects`, `exchangeLimit`), or the problem. */
export const countProblem = (name: string, input: unknown): string | undefined =>
  typeof input === "number" && Number.isInteger(input) && input >= 0
    ? undefined
    : `${name} must be a whole number >= 0, got ${describe(input)}`

/** A boolean (`followRedirects`), or the problem: `"false"` is truthy. */
export const booleanProblem = (name: string, input: unknown): string | undefined =>
  typeof input === "boolean" ? undefined : `${name} must be true or false, got ${describe(input)}`

/** Node trims optional whitespace (spaces, tabs) around a header value before the app sees it. */
export const trimOws = (value: string): string => value.replace(/^[\t ]+|[\t ]+$/g, "")
