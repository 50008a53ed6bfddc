/**
 * What the kit can see of the test runner it runs under: today vitest (which
 * `@effect/vitest` drives, vitest 3 for the Effect 3 edition and vitest 5 for the Effect 4
 * one), through the state its workers expose on `globalThis`. Nothing here imports vitest, so
 * the kit works the same under any other runner, where these find nothing.
 *
 * The kit's own bounds default to generous values (30 s for a request, 5 s to drain), but a
 * test runner usually stops a test sooner (vitest: 5 s) and then reports only "Test timed
 * out", with no kit error and no report. So, unless the user set a bound explicitly, each
 * wait is also cut to a share of the time the current test has left: the kit's tagged error,
 * and its report, come first.
 */

/** A vitest test (or suite, or file) as its worker state shows it. */
export interface RunnerTask {
  readonly type?: string
  readonly timeout?: number
  readonly result?: { readonly startTime?: number } | undefined
  onFailed?: Array<() => unknown> | undefined
}

interface VitestWorkerState {
  readonly current?: RunnerTask | undefined
  readonly config?: { readonly testTimeout?: number; readonly hookTimeout?: number } | undefined
}

const workerState = (): VitestWorkerState | undefined =>
  (globalThis as { readonly __vitest_worker__?: VitestWorkerState }).__vitest_worker__

/** The test vitest is running now, if any. */
export const currentTest = (): RunnerTask | undefined => {
  const current = workerState()?.current
  return current?.type === "test" ? current : undefined
}

/**
 * Milliseconds left before the runner's own timeout ends the current test (or hook: a
 * layer shared with `it.layer` is built and closed in hooks), or `undefined` when not under a
 * runner the kit knows, or with no timeout.
 */
export const timeLeft = (): number | undefined => {
  const state = workerState()
  const current = state?.current
  if (current === undefined) return undefined
  if (current.type === "test") {
    const timeout = current.timeout ?? state?.config?.testTimeout
    const start = current.result?.startTime
    if (timeout === undefined || timeout <= 0 || !Number.isFinite(timeout) || start === undefined) return undefined
    return start + timeout - Date.now()
  }
  const hook = state?.config?.hookTimeout
  return hook === undefined || hook <= 0 || !Number.isFinite(hook) ? undefined : hook
}

/**
 * Shares of the time left: a request (or a WebSocket receive) fires first, leaving room for
 * the disconnect, the drain and the shutdown that follow at scope close, each of which takes
 * a share of what is then left.
 */
export const requestShare = 0.6
export const drainShare = 0.5

/**
 * `fallbackMillis`, or less when the current test would otherwise be stopped by its runner
 * first. A bound the user gave explicitly is used as it is: call this for defaults only.
 */
export const fitMillis = (fallbackMillis: number, share: number): number => {
  const left = timeLeft()
  if (left === undefined) return fallbackMillis
  return Math.min(fallbackMillis, Math.max(1, Math.floor(left * share)))
}
