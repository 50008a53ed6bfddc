import { describe, expect, it } from "vitest"
import { currentTest, drainShare, FailureReporter, fitMillis, Ring, requestShare, timeLeft } from "../src/index.js"

describe("the test runner, as the kit reads it", () => {
  it("finds the current vitest test and the time it has left", () => {
    expect(currentTest()?.type).toBe("test")
    const left = timeLeft()
    expect(left).toBeDefined()
    expect(left!).toBeGreaterThan(0)
    expect(left!).toBeLessThanOrEqual(5_000)
  })

  it("fits a default bound to a share of that time, never past the default", () => {
    expect(fitMillis(30_000, requestShare)).toBeLessThanOrEqual(Math.ceil(5_000 * requestShare))
    expect(fitMillis(30_000, requestShare)).toBeGreaterThan(0)
    expect(fitMillis(10, drainShare)).toBe(10)
  })

  it("a given test timeout is what it reads", { timeout: 60_000 }, () => {
    expect(timeLeft()!).toBeGreaterThan(50_000)
    expect(fitMillis(5_000, drainShare)).toBe(5_000)
  })
})

describe("Ring", () => {
  it("keeps the newest entries, oldest first, however often it wraps; 0 keeps none", () => {
    const ring = new Ring<number>(3)
    for (let i = 0; i < 10; i++) ring.push(i)
    expect(ring.list()).toEqual([7, 8, 9])
    ring.push(10)
    expect(ring.list()).toEqual([8, 9, 10])
    const none = new Ring<number>(0)
    none.push(1)
    expect(none.list()).toEqual([])
  })
})

describe("FailureReporter", () => {
  /** Runs `f` as code outside any vitest test would (no current test). */
  const outsideATest = <A>(f: () => A): A => {
    const state = (globalThis as { __vitest_worker__?: { current?: unknown } }).__vitest_worker__!
    const saved = state.current
    state.current = undefined
    try {
      return f()
    } finally {
      state.current = saved
    }
  }

  const capture = () => {
    const printed: Array<string> = []
    const original = console.error
    console.error = (text: unknown) => printed.push(String(text))
    return { printed, restore: () => (console.error = original) }
  }

  it("outside a test, a failed scope prints its entries with their span trees; nothing when it passed or is off", () => {
    const { printed, restore } = capture()
    try {
      outsideATest(() => {
        const reporter = new FailureReporter(true, (spanId) => `tree of ${spanId}`)
        reporter.response(
          "GET",
          "http://testserver/a",
          200,
          { "content-type": "text/plain" },
          "s1",
          new TextEncoder().encode("hi")
        )
        reporter.failure("GET", "http://testserver/b", "", { _tag: "RequestTimeout", message: "no answer" })
        reporter.closed(false)
        expect(printed).toEqual([])
        reporter.closed(true)
        const off = new FailureReporter(false, () => "")
        off.response("GET", "http://testserver/a", 200, {}, "", "streamed")
        off.closed(true)
      })
      expect(printed).toHaveLength(1)
      expect(printed[0]).toContain("GET http://testserver/a -> 200")
      expect(printed[0]).toContain("tree of s1")
      expect(printed[0]).toContain("GET http://testserver/b -> failed: RequestTimeout")
    } finally {
      restore()
    }
  })

  it("in a test, a failed scope prints nothing itself: the test's failure does, with what was in flight at the close", () => {
    const { printed, restore } = capture()
    try {
      let inFlight: ReadonlyArray<string> = ["GET http://testserver/hang"]
      const reporter = new FailureReporter(
        true,
        (spanId) => `tree of ${spanId}`,
        () => inFlight
      )
      reporter.failure("GET", "http://testserver/b", "", { _tag: "ServerError", message: "kaboom" })
      reporter.closed(true)
      // The scope closed failing inside a test that may yet pass (it expected that failure).
      expect(printed).toEqual([])
      inFlight = []
      // The test fails: vitest calls its onFailed hooks, the reporter's among them.
      for (const hook of currentTest()?.onFailed ?? []) (hook as () => void)()
      expect(printed).toHaveLength(1)
      expect(printed[0]).toContain("GET http://testserver/b -> failed: ServerError")
      expect(printed[0]).toContain("still in flight:")
      expect(printed[0]).toContain("GET http://testserver/hang")
    } finally {
      restore()
    }
  })
})
