/**
 * Sharing a note: the request answers 202 at once and the notification is sent in the
 * background (a TaskQueue task), inside its own span, as a production app would do it.
 */
import * as TaskQueue from "@effect-http-testkit/effect4/TaskQueue"
import { Context, Effect, Layer, Ref, Schema } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { NoteIdFromString } from "./Api.js"
import { NotesRepo } from "./Notes.js"

export interface Notification {
  readonly to: string
  readonly subject: string
}

/** Sends notifications. This one keeps them in an outbox a test (or an admin page) can read. */
export class Notifier extends Context.Service<
  Notifier,
  {
    readonly send: (notification: Notification) => Effect.Effect<void>
    readonly outbox: Effect.Effect<ReadonlyArray<Notification>>
  }
>()("notes/Notifier") {}

export const NotifierInMemory = Layer.effect(Notifier)(
  Effect.map(Ref.make<ReadonlyArray<Notification>>([]), (sent) =>
    Notifier.of({
      send: (notification) => Ref.update(sent, (all) => [...all, notification]),
      outbox: Ref.get(sent)
    })
  )
)

const ShareRequest = Schema.Struct({ to: Schema.Trimmed.check(Schema.isNonEmpty()) })

const share = (repo: NotesRepo["Service"], notifier: Notifier["Service"], tasks: TaskQueue.TaskQueue["Service"]) =>
  Effect.gen(function* () {
    const { id } = yield* HttpRouter.schemaPathParams(Schema.Struct({ id: NoteIdFromString }))
    const { to } = yield* HttpServerRequest.schemaBodyJson(ShareRequest)
    const note = yield* repo.findById(id)
    yield* tasks.fork(
      Effect.gen(function* () {
        yield* notifier.send({ to, subject: `A note was shared with you: ${note.title}` })
        yield* Effect.annotateCurrentSpan("notify.result", "sent")
      }).pipe(Effect.withSpan("notify.share", { attributes: { "note.id": note.id, "notify.to": to } }))
    )
    return HttpServerResponse.empty({ status: 202 })
  }).pipe(
    Effect.catchTags({
      SchemaError: () => Effect.succeed(HttpServerResponse.jsonUnsafe({ error: "BadRequest" }, { status: 400 })),
      HttpServerError: () => Effect.succeed(HttpServerResponse.jsonUnsafe({ error: "BadRequest" }, { status: 400 })),
      NoteNotFound: () => Effect.succeed(HttpServerResponse.jsonUnsafe({ error: "NotFound" }, { status: 404 }))
    })
  )

/** `POST /notes/:id/share`, next to the HttpApi routes. */
export const ShareRoutes = HttpRouter.use((router) =>
  Effect.gen(function* () {
    yield* router.add("POST", "/notes/:id/share", share(yield* NotesRepo, yield* Notifier, yield* TaskQueue.TaskQueue))
  })
)
