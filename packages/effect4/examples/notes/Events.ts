/**
 * Notes events: the repository publishes every note it creates, and live views (the SSE
 * feed) subscribe. Each subscription lives as long as the scope it was opened in, which
 * for the feed is the request: when the client goes away, the subscription goes too.
 */
import { Context, Effect, Layer, PubSub, Ref, type Scope } from "effect"
import type { Note } from "./Api.js"

export class NotesEvents extends Context.Service<
  NotesEvents,
  {
    readonly publish: (note: Note) => Effect.Effect<void>
    /** Every note published from now until the current scope closes. */
    readonly subscribe: Effect.Effect<PubSub.Subscription<Note>, never, Scope.Scope>
    /** How many subscriptions are open right now (a health metric; tests use it too). */
    readonly subscribers: Effect.Effect<number>
  }
>()("notes/NotesEvents") {}

export const makeNotesEvents = Effect.gen(function* () {
  // Unbounded so a slow reader never blocks the request that creates a note.
  const pubsub = yield* Effect.acquireRelease(PubSub.unbounded<Note>(), PubSub.shutdown)
  const open = yield* Ref.make(0)

  return NotesEvents.of({
    publish: (note) => Effect.asVoid(PubSub.publish(pubsub, note)),
    // Counted first, so the count drops only once the subscription itself is gone.
    subscribe: Effect.acquireRelease(
      Ref.update(open, (n) => n + 1),
      () => Ref.update(open, (n) => n - 1)
    ).pipe(Effect.andThen(PubSub.subscribe(pubsub))),
    subscribers: Ref.get(open)
  })
})

export const NotesEventsLive = Layer.effect(NotesEvents)(makeNotesEvents)
