import { FailureReporter } from "@effect-http-testkit/core"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type { Config } from "./config.js"
import type { InProcessServer } from "./server.js"
import { type Recorder, render } from "./tracer.js"

/**
 * The core's failure report over this edition's client: its settings, its tracer's finished
 * spans and its server's in-flight requests.
 *
 * @internal
 */
export class Reporter extends FailureReporter {
  constructor(config: Config, recorder: Recorder, server: () => InProcessServer | undefined) {
    super(
      config.report !== "never",
      (spanId) => render(recorder.finished(), spanId),
      () => server()?.inFlight() ?? []
    )
  }

  /** At scope close: print on failure (and tell the failing test it need not print again). */
  onScopeClose(exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> {
    return Effect.sync(() => this.closed(exit._tag === "Failure"))
  }
}
