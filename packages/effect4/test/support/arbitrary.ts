/**
 * Small generators for the property tests, built on Effect 4's own `Arbitrary` (what
 * `it.prop` takes): picking among values or generators (with weights), integers, and strings
 * of any code points.
 */
import { Arbitrary, Schema } from "effect"

/** A whole number from `min` to `max`, both included. */
export const int = (min: number, max: number): Arbitrary.Arbitrary<number> =>
  Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: min, maximum: max })))

/** A cut offset or similar: a whole number from 0 to 1,000,000. */
export const nat: Arbitrary.Arbitrary<number> = int(0, 1_000_000)

export const boolean: Arbitrary.Arbitrary<boolean> = Arbitrary.schema(Schema.Boolean)

/** One of `values`. */
export const constantFrom = <const A>(...values: ReadonlyArray<A>): Arbitrary.Arbitrary<A> =>
  Arbitrary.map(int(0, values.length - 1), (index) => values[index]!)

/** One of the generators, each picked in proportion to its weight (1 when given bare). */
export const oneof = <A>(
  ...options: ReadonlyArray<
    Arbitrary.Arbitrary<A> | { readonly weight: number; readonly arbitrary: Arbitrary.Arbitrary<A> }
  >
): Arbitrary.Arbitrary<A> => {
  const weighted = options.map((option) => (Arbitrary.isArbitrary(option) ? { weight: 1, arbitrary: option } : option))
  const total = weighted.reduce((sum, option) => sum + option.weight, 0)
  return Arbitrary.flatMap(int(0, total - 1), (ticket) => {
    for (const option of weighted) {
      if (ticket < option.weight) return option.arbitrary
      ticket -= option.weight
    }
    return weighted[weighted.length - 1]!.arbitrary
  })
}

/** Any code point but a surrogate half: control characters, NUL, BOM and astral ones included. */
const codePoint: Arbitrary.Arbitrary<string> = Arbitrary.map(
  oneof(int(0, 0x7f), int(0x80, 0xd7ff), int(0xe000, 0x10ffff)),
  (code) => String.fromCodePoint(code)
)

/** A string of up to `maxLength` code points of any kind. */
export const anyString = (options: { readonly minLength?: number; readonly maxLength: number }) =>
  Arbitrary.map(Arbitrary.array(codePoint, options), (chars) => chars.join(""))

export const array = Arbitrary.array
export const record = Arbitrary.all
export const constant = Arbitrary.Constant
export const map = Arbitrary.map
export const flatMap = Arbitrary.flatMap

/** Any JSON value (`null`, booleans, numbers, strings, arrays, objects). */
export const jsonValue: Arbitrary.Arbitrary<Schema.Json> = Arbitrary.schema(Schema.Json)
