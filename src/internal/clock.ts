import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

/**
 * Completes after `duration` on the wall clock, whatever `Clock` the fiber has: the
 * client's bounds (timeouts, drain limits) must fire under `TestClock` too. An infinite
 * duration never completes. Interrupting it clears the timer.
 *
 * @internal
 */
export const wallClockSleep = (duration: Duration.Duration): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const millis = Duration.toMillis(duration)
    if (!Number.isFinite(millis)) return
    const timer = setTimeout(() => resume(Effect.void), millis)
    return Effect.sync(() => clearTimeout(timer))
  })
