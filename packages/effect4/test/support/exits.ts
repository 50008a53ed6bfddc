/** Reading what a scope close died with, shared by the tests. */
import type { TestClient } from "@effect-http-testkit/effect4"
import { Cause, Exit } from "effect"

/** The defects an exit died with (the kit reports leaked work as a defect of the scope close). */
export const defects = (exit: Exit.Exit<unknown, unknown>): ReadonlyArray<unknown> =>
  Exit.isFailure(exit) ? exit.cause.reasons.filter(Cause.isDieReason).map((reason) => reason.defect) : []

/** The `DrainTimeout`s an exit died with. */
export const drainTimeouts = (exit: Exit.Exit<unknown, unknown>): ReadonlyArray<TestClient.DrainTimeout> =>
  defects(exit).filter((d): d is TestClient.DrainTimeout => (d as { _tag?: string })._tag === "DrainTimeout")
