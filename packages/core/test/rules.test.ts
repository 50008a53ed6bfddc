/**
 * The request rules: header folding as Node's server does it, Node's refusals before any app
 * runs, and the rules for values and options a test gives.
 */
import { METHODS, maxHeaderSize } from "node:http"
import { describe, expect, it } from "vitest"
import {
  booleanProblem,
  countProblem,
  describe as describeValue,
  foldLines,
  hasSurroundingWhitespace,
  invalidValueRe,
  isOptionBag,
  nodeRefusal,
  tokenRe,
  trimOws,
  unknownKeys
} from "../src/index.js"

describe("foldLines", () => {
  it("lower-cases names and folds repeats as Node's IncomingMessage does", () => {
    expect(
      foldLines([
        ["X-Multi", "one"],
        ["x-multi", "two"],
        ["Cookie", "a=1"],
        ["cookie", "b=2"],
        ["Authorization", "first"],
        ["authorization", "second"],
        ["content-type", "text/plain"],
        ["content-type", "application/json"]
      ])
    ).toEqual({ "x-multi": "one, two", cookie: "a=1; b=2", authorization: "first", "content-type": "text/plain" })
  })

  it("drops the spaces and tabs around a value, and only those", () => {
    expect(foldLines([["x-pad", " \t inner  space \t"]])).toEqual({ "x-pad": "inner  space" })
    expect(hasSurroundingWhitespace(" a")).toBe(true)
    expect(hasSurroundingWhitespace("a\t")).toBe(true)
    expect(hasSurroundingWhitespace("a b")).toBe(false)
    expect(hasSurroundingWhitespace("")).toBe(false)
    expect(trimOws("\t a b \t")).toBe("a b")
  })
})

describe("nodeRefusal", () => {
  const ok = [["host", "testserver"]] as const

  it("routes every method Node's parser knows, but CONNECT, which resets", () => {
    for (const method of METHODS.filter((m) => m !== "CONNECT")) expect(nodeRefusal(method, "/", ok)).toBeUndefined()
    expect(nodeRefusal("CONNECT", "testserver:443", ok)).toEqual({
      _tag: "Reset",
      reason: expect.stringContaining("never routes CONNECT to the app")
    })
    expect(nodeRefusal("FOO", "/", ok)).toEqual({ _tag: "Respond", status: 400 })
  })

  it("431 when the target and header bytes reach maxHeaderSize, not one byte before", () => {
    const fill = (size: number) => [["x-fill", "v".repeat(size - "/".length - "x-fill".length)]] as const
    expect(nodeRefusal("GET", "/", fill(maxHeaderSize - 1))).toBeUndefined()
    expect(nodeRefusal("GET", "/", fill(maxHeaderSize))).toEqual({ _tag: "Respond", status: 431 })
  })

  it("400 for framing the strict parser rejects", () => {
    const refused = [
      [
        ["content-length", "3"],
        ["transfer-encoding", "chunked"]
      ],
      [
        ["content-length", "3"],
        ["content-length", "3"]
      ],
      [["content-length", "3 "]],
      [["content-length", "-1"]],
      [["transfer-encoding", "chunked, gzip"]],
      [["transfer-encoding", "gzip"]]
    ] as const
    for (const lines of refused) expect(nodeRefusal("POST", "/", lines)).toEqual({ _tag: "Respond", status: 400 })
    expect(nodeRefusal("POST", "/", [["transfer-encoding", "gzip, chunked"]])).toBeUndefined()
    expect(nodeRefusal("POST", "/", [["content-length", "0"]])).toBeUndefined()
  })

  it("417 for an Expect other than 100-continue", () => {
    expect(nodeRefusal("POST", "/", [["expect", "100-continue"]])).toBeUndefined()
    expect(nodeRefusal("POST", "/", [["expect", "100-Continue"]])).toBeUndefined()
    expect(nodeRefusal("POST", "/", [["expect", "200-ok"]])).toEqual({ _tag: "Respond", status: 417 })
  })
})

describe("values a test gives", () => {
  it("tokens and field values follow RFC 9110", () => {
    expect(tokenRe.test("x-custom_header.1")).toBe(true)
    expect(tokenRe.test("bad name")).toBe(false)
    expect(tokenRe.test("")).toBe(false)
    expect(invalidValueRe.test("tab\tand latin-1 é")).toBe(false)
    expect(invalidValueRe.test("line\nbreak")).toBe(true)
    expect(invalidValueRe.test("nul\0")).toBe(true)
    expect(invalidValueRe.test("beyond latin-1 ✓")).toBe(true)
  })

  it("describe shows any value without throwing", () => {
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    expect(
      [
        "s",
        -0,
        Number.NaN,
        10n,
        Symbol("k"),
        () => 1,
        undefined,
        null,
        new Date(Number.NaN),
        new Date(0),
        [1],
        cycle
      ].map(describeValue)
    ).toEqual([
      '"s"',
      "-0",
      "NaN",
      "10n",
      "Symbol(k)",
      "a function",
      "undefined",
      "null",
      "an Invalid Date",
      "Date(1970-01-01T00:00:00.000Z)",
      "[1]",
      "[object Object]"
    ])
    expect(describeValue("x".repeat(300))).toHaveLength(201)
  })

  it("an unknown option names the closest known one; undefined values are ignored", () => {
    const known = ["timeout", "maxRedirects", "followRedirects"]
    expect(unknownKeys({ timout: 1 }, known, "option")).toBe(
      'unknown option "timout" (did you mean "timeout"?): the options are timeout, maxRedirects, followRedirects'
    )
    expect(unknownKeys({ MAXREDIRECTS: 1 }, known, "option")).toContain('did you mean "maxRedirects"?')
    expect(unknownKeys({ zzz: 1 }, known, "option")).toBe(
      'unknown option "zzz": the options are timeout, maxRedirects, followRedirects'
    )
    expect(unknownKeys({ timeout: 1, other: undefined }, known, "option")).toBeUndefined()
  })

  it("option bags, counts and booleans: the problem names the option and the value", () => {
    expect([isOptionBag({}), isOptionBag([]), isOptionBag(null), isOptionBag("x")]).toEqual([true, false, false, false])
    expect(countProblem("maxRedirects", 0)).toBeUndefined()
    expect(countProblem("maxRedirects", 1.5)).toBe("maxRedirects must be a whole number >= 0, got 1.5")
    expect(countProblem("maxRedirects", -1)).toBe("maxRedirects must be a whole number >= 0, got -1")
    expect(booleanProblem("followRedirects", false)).toBeUndefined()
    expect(booleanProblem("followRedirects", "false")).toBe('followRedirects must be true or false, got "false"')
  })
})
