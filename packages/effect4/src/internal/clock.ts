/**
 * Wall-clock bounds: the kit's waits (drain limits, a task queue's shutdown) must end on time
 * whatever `Clock` the fiber has, so a test's `TestClock` cannot stall them. Needs only
 * `effect`, as `TaskQueue` (production code) imports it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"

/** The longest delay a Node timer holds; past it `setTimeout` fires at once. */
const maxDelay = 2 ** 31 - 1

const noop = () => {}

/**
 * Calls `f` after `millis` on the wall clock and returns what cancels it. A bound beyond what
 * a timer can hold (about 24.8 days, `Infinity`) never fires: it is no bound.
 *
 * @internal
 */
export const setWallTimer = (millis: number, f: () => void): (() => void) => {
  if (!(millis <= maxDelay)) return noop
  const timer = setTimeout(f, Math.max(0, millis))
  return () => clearTimeout(timer)
}

/**
 * Completes after `millis` on the wall clock, whatever `Clock` the fiber has. Interrupting
 * it clears the timer.
 *
 * @internal
 */
export const wallClockSleep = (millis: number): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    const cancel = setWallTimer(millis, () => resume(Effect.void))
    return Effect.sync(cancel)
  })

/**
 * Calls `then` once every fiber has ended, or after `millis` on the wall clock with those
 * still running.
 *
 * @internal
 */
export const awaitBounded = (
  fibers: ReadonlyArray<Fiber.Fiber<unknown, unknown>>,
  millis: number,
  then: (running: ReadonlyArray<Fiber.Fiber<unknown, unknown>>) => void
): void => {
  let left = fibers.filter((fiber) => fiber.pollUnsafe() === undefined)
  if (left.length === 0) {
    then([])
    return
  }
  let done = false
  const unobserve: Array<() => void> = []
  const finish = () => {
    if (done) return
    done = true
    cancel()
    for (const stop of unobserve) stop()
    then(left.filter((fiber) => fiber.pollUnsafe() === undefined))
  }
  for (const fiber of left) {
    unobserve.push(
      fiber.addObserver(() => {
        left = left.filter((other) => other.pollUnsafe() === undefined)
        if (left.length === 0) finish()
      })
    )
  }
  const cancel = setWallTimer(millis, finish)
}
