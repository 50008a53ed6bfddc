import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"

/**
 * Completes after `duration` on the wall clock, whatever `Clock` the fiber has: the
 * client's bounds (timeouts, drain limits) must fire under `TestClock` too. An infinite
 * duration never completes. Interrupting it clears the timer.
 *
 * @internal
 */
export const wallClockSleep = (duration: Duration.Duration): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const cancel = setWallTimer(duration, () => resume(Effect.void))
    return Effect.sync(cancel)
  })

// Node clamps a delay above 2^31-1 ms (about 24.8 days) to 1 ms: longer bounds wait "forever".
const maxDelay = 2 ** 31 - 1

/**
 * Calls `f` after `duration` on the wall clock; returns what cancels it. Infinite (or
 * longer than Node's timers reach) never fires.
 *
 * @internal
 */
export const setWallTimer = (duration: Duration.Duration, f: () => void): (() => void) => {
  const millis = Duration.toMillis(duration)
  if (!Number.isFinite(millis) || millis > maxDelay) return noop
  const timer = setTimeout(f, millis)
  return () => clearTimeout(timer)
}

const noop = () => {}

/**
 * Waits for fibers to end, at most `timeout` on the wall clock (TestClock cannot stall it);
 * returns those still running.
 *
 * @internal
 */
export const awaitFibers = <A, E>(
  fibers: ReadonlyArray<Fiber.RuntimeFiber<A, E>>,
  timeout: Duration.Duration
): Effect.Effect<ReadonlyArray<Fiber.RuntimeFiber<A, E>>> =>
  Effect.async((resume) => {
    const pending = new Set(fibers.filter((fiber) => fiber.unsafePoll() === null))
    if (pending.size === 0) return resume(Effect.succeed([]))
    const observers = new Map<Fiber.RuntimeFiber<A, E>, () => void>()
    const finish = () => {
      cancel()
      for (const [fiber, observer] of observers) fiber.removeObserver(observer)
      resume(Effect.succeed(Array.from(pending)))
    }
    const cancel = setWallTimer(timeout, finish)
    for (const fiber of pending) {
      const observer = () => {
        pending.delete(fiber)
        if (pending.size === 0) finish()
      }
      observers.set(fiber, observer)
      fiber.addObserver(observer)
    }
    return Effect.sync(() => {
      cancel()
      for (const [fiber, observer] of observers) fiber.removeObserver(observer)
    })
  })
