/**
 * Sharing a note: the request answers 202 at once and the notification is sent in the
 * background (a TaskQueue task), inside its own span, as a production app would do it.
 */
import { HttpApiBuilder, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Effect, Layer, Ref, Schema } from "effect"
import * as TaskQueue from "effect-http-testkit/TaskQueue"
import { NoteId } from "./Api.js"
import { NotesRepo } from "./Notes.js"

export interface Notification {
  readonly to: string
  readonly subject: string
}

/** Sends notifications. This one keeps them in an outbox a test (or an admin page) can read. */
export class Notifier extends Context.Tag("notes/Notifier")<
  Notifier,
  {
    readonly send: (notification: Notification) => Effect.Effect<void>
    readonly outbox: Effect.Effect<ReadonlyArray<Notification>>
  }
>() {}

export const NotifierInMemory = Layer.effect(
  Notifier,
  Effect.map(Ref.make<ReadonlyArray<Notification>>([]), (sent) => ({
    send: (notification) => Ref.update(sent, (all) => [...all, notification]),
    outbox: Ref.get(sent)
  }))
)

const ShareRequest = Schema.Struct({ to: Schema.NonEmptyTrimmedString })

const share = (repo: NotesRepo["Type"], notifier: Notifier["Type"], tasks: TaskQueue.TaskQueue["Type"]) =>
  Effect.gen(function* () {
    const { id } = yield* HttpRouter.schemaPathParams(
      Schema.Struct({ id: Schema.compose(Schema.NumberFromString, NoteId) })
    )
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
      ParseError: () => HttpServerResponse.json({ error: "BadRequest" }, { status: 400 }),
      RequestError: () => HttpServerResponse.json({ error: "BadRequest" }, { status: 400 }),
      NoteNotFound: () => HttpServerResponse.json({ error: "NotFound" }, { status: 404 })
    })
  )

/** Mounts `POST /notes/:id/share` next to the HttpApi routes. */
export const ShareRoutesLive = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    yield* router.post("/notes/:id/share", share(yield* NotesRepo, yield* Notifier, yield* TaskQueue.TaskQueue))
  })
)
