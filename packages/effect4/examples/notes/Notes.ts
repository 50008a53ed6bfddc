/**
 * The notes repository: the app's storage, behind a service so handlers do not care
 * where notes live. The in-memory layer starts empty each time it is built, and
 * announces every note it creates on `NotesEvents`.
 */
import { Context, DateTime, Effect, HashMap, Layer, Option, Ref, Stream } from "effect"
import { type ListParams, type NewNote, Note, type NoteId, NoteNotFound, type NoteUpdate } from "./Api.js"
import { NotesEvents } from "./Events.js"

export class NotesRepo extends Context.Service<
  NotesRepo,
  {
    readonly list: (filter: ListParams) => Effect.Effect<ReadonlyArray<Note>>
    /** The same notes as `list`, as a stream: what an export reads, so it never holds them all. */
    readonly stream: (filter: ListParams) => Stream.Stream<Note>
    readonly findById: (id: NoteId) => Effect.Effect<Note, NoteNotFound>
    readonly create: (input: NewNote) => Effect.Effect<Note>
    readonly update: (id: NoteId, changes: NoteUpdate) => Effect.Effect<Note, NoteNotFound>
    readonly remove: (id: NoteId) => Effect.Effect<void, NoteNotFound>
  }
>()("notes/NotesRepo") {}

const matches = (note: Note, filter: ListParams): boolean => {
  if (filter.tag !== undefined && !note.tags.includes(filter.tag)) return false
  if (filter.q !== undefined) {
    const q = filter.q.toLowerCase()
    return note.title.toLowerCase().includes(q) || note.body.toLowerCase().includes(q)
  }
  return true
}

export const makeInMemory = Effect.gen(function* () {
  const events = yield* NotesEvents
  const notes = yield* Ref.make(HashMap.empty<NoteId, Note>())
  const lastId = yield* Ref.make(0)

  const findById = (id: NoteId) =>
    Ref.get(notes).pipe(
      Effect.map(HashMap.get(id)),
      Effect.flatMap(Option.match({ onNone: () => Effect.fail(new NoteNotFound({ id })), onSome: Effect.succeed }))
    )

  const list = (filter: ListParams) =>
    Ref.get(notes).pipe(
      Effect.map((all) =>
        Array.from(HashMap.values(all))
          .filter((note) => matches(note, filter))
          .sort((a, b) => a.id - b.id)
          .slice(0, filter.limit)
      )
    )

  return NotesRepo.of({
    list,
    // In memory this is a snapshot; a database would page through a cursor here.
    stream: (filter) => Stream.fromIterableEffect(list(filter)),
    findById,
    create: (input) =>
      Effect.gen(function* () {
        const id = (yield* Ref.updateAndGet(lastId, (n) => n + 1)) as NoteId
        const now = yield* DateTime.now
        const note = new Note({ id, ...input, createdAt: now, updatedAt: now })
        yield* Ref.update(notes, HashMap.set(id, note))
        yield* events.publish(note)
        return note
      }),
    update: (id, changes) =>
      Effect.gen(function* () {
        const current = yield* findById(id)
        const note = new Note({
          ...current,
          title: changes.title ?? current.title,
          body: changes.body ?? current.body,
          tags: changes.tags ?? current.tags,
          updatedAt: yield* DateTime.now
        })
        yield* Ref.update(notes, HashMap.set(id, note))
        return note
      }),
    remove: (id) => Effect.flatMap(findById(id), () => Ref.update(notes, HashMap.remove(id)))
  })
})

/** Needs `NotesEvents`. */
export const NotesRepoInMemory = Layer.effect(NotesRepo)(makeInMemory)
