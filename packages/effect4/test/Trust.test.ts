/**
 * Never hang, never lie: every wait of the kit and of the app's shutdown is bounded on the
 * wall clock (under TestClock too), `drainTasks` waits for background work only, what is
 * left at scope close is interrupted, and each problem is reported once, in words that say
 * what happened. (The TaskQueue shutdown bounds, the TestClock hints of `DrainTimeout` and a
 * leaked fiber's interruption are in TaskQueue.test.ts.)
 */
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Stream } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"

const endless = (first: string) =>
  HttpServerResponse.stream(Stream.concat(Stream.make(new TextEncoder().encode(first)), Stream.never))

describe("drainTasks", () => {
  it.effect("waits for background work, not for a stream the test holds open", () =>
    Effect.gen(function* () {
      const feed = HttpRouter.add("GET", "/feed", Effect.succeed(endless("data: hi\n\n")))
      yield* Effect.gen(function* () {
        const response = yield* TestClient.stream("GET", "/feed")
        expect(response.status).toBe(200)
        // The open stream's handler is an exchange in progress, not background work.
        yield* TestClient.drainTasks
      }).pipe(Effect.provide(TestClient.layer(feed, { drainTimeout: "2 seconds" })))
    })
  )
})
