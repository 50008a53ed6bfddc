import { describe, expect, it } from "vitest"
import { badClientOptions, badCookieOptions, badWebSocketOptions } from "../src/scenarios/index.js"

describe("the bad-input tables", () => {
  it.each([
    ["badClientOptions", badClientOptions],
    ["badCookieOptions", badCookieOptions],
    ["badWebSocketOptions", badWebSocketOptions]
  ] as const)("%s: each case is named once (a failing case names itself) and says what to fix", (_, cases) => {
    expect(cases.length).toBeGreaterThanOrEqual(10)
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length)
    for (const c of cases) expect(c.says instanceof RegExp ? c.says.source : c.says).not.toBe("")
  })
})
