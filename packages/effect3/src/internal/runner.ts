import { fitMillis } from "@effect-http-testkit/core"
import * as Duration from "effect/Duration"

/**
 * The test runner as the kit sees it (the core's `runner`), and the Effect 3 edition's
 * Duration form of its fitting.
 */

export { currentTest, drainShare, requestShare, timeLeft } from "@effect-http-testkit/core"

/**
 * `fallback`, or less when the current test would otherwise be stopped by its runner first.
 * A bound the user gave explicitly is used as it is: call this for defaults only.
 *
 * @internal
 */
export const fitToRunner = (fallback: Duration.Duration, share: number): Duration.Duration => {
  const millis = Duration.toMillis(fallback)
  const fitted = fitMillis(millis, share)
  return fitted < millis ? Duration.millis(fitted) : fallback
}
