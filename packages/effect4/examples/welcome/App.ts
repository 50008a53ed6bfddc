/**
 * Signing up, as a user writes it: the request answers 202 at once and the welcome email goes
 * out in the background (a TaskQueue task). Production code imports TaskQueue from its own
 * entry point, which needs only `effect`.
 */

import * as TaskQueue from "@effect-http-testkit/effect4/TaskQueue"
import { Context, Effect, Layer, Ref, Schema } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"

export interface Email {
  readonly to: string
  readonly subject: string
}

/** Sends email. This one keeps it in an outbox a test (or an admin page) can read. */
export class Mailer extends Context.Service<
  Mailer,
  { readonly send: (email: Email) => Effect.Effect<void>; readonly outbox: Effect.Effect<ReadonlyArray<Email>> }
>()("examples/Mailer") {
  static readonly layer = Layer.effect(Mailer)(
    Effect.map(Ref.make<ReadonlyArray<Email>>([]), (sent) => ({
      send: (email: Email) => Ref.update(sent, (all) => [...all, email]),
      outbox: Ref.get(sent)
    }))
  )
}

const Signup = Schema.Struct({ email: Schema.String })

export const Routes = HttpRouter.use((router) =>
  Effect.gen(function* () {
    const mailer = yield* Mailer
    const tasks = yield* TaskQueue.TaskQueue
    yield* router.add("POST", "/signup", () =>
      HttpServerRequest.schemaBodyJson(Signup).pipe(
        Effect.flatMap(({ email }) =>
          Effect.as(
            tasks.fork(mailer.send({ to: email, subject: "Welcome!" }).pipe(Effect.withSpan("mail.welcome"))),
            HttpServerResponse.empty({ status: 202 })
          )
        ),
        Effect.catchTag("SchemaError", () => Effect.succeed(HttpServerResponse.text("send { email }", { status: 400 })))
      )
    )
  })
)

/** Production: the routes with the production TaskQueue (shutdown waits for emails in flight). */
export const AppLive = Routes.pipe(Layer.provide(TaskQueue.layer), Layer.provide(Mailer.layer))
