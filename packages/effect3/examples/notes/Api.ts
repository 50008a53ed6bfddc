/**
 * The notes HTTP API, described once with Schema: the server derives routing, decoding,
 * status codes and error bodies from it (and clients or OpenAPI docs could too).
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

export const NoteId = Schema.Int.pipe(Schema.positive(), Schema.brand("NoteId"))
export type NoteId = typeof NoteId.Type

const Title = Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(120))
const Tag = Schema.String.pipe(Schema.pattern(/^[a-z0-9-]{1,32}$/))

export class Note extends Schema.Class<Note>("Note")({
  id: NoteId,
  title: Title,
  body: Schema.String,
  tags: Schema.Array(Tag),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {}

export const NewNote = Schema.Struct({
  title: Title,
  body: Schema.String,
  tags: Schema.optionalWith(Schema.Array(Tag), { default: () => [] })
})
export type NewNote = typeof NewNote.Type

export const NoteUpdate = Schema.Struct({
  title: Schema.optional(Title),
  body: Schema.optional(Schema.String),
  tags: Schema.optional(Schema.Array(Tag))
})
export type NoteUpdate = typeof NoteUpdate.Type

export const ListParams = Schema.Struct({
  /** Only notes carrying this tag. */
  tag: Schema.optional(Tag),
  /** Case-insensitive search in title and body. */
  q: Schema.optional(Schema.String),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)))
})
export type ListParams = typeof ListParams.Type

export class NoteNotFound extends Schema.TaggedError<NoteNotFound>()(
  "NoteNotFound",
  { id: NoteId },
  HttpApiSchema.annotations({ status: 404 })
) {}

const idParam = HttpApiSchema.param("id", Schema.compose(Schema.NumberFromString, NoteId))

export class NotesGroup extends HttpApiGroup.make("notes")
  .add(HttpApiEndpoint.get("list", "/notes").setUrlParams(ListParams).addSuccess(Schema.Array(Note)))
  .add(HttpApiEndpoint.get("get")`/notes/${idParam}`.addSuccess(Note).addError(NoteNotFound))
  .add(HttpApiEndpoint.post("create", "/notes").setPayload(NewNote).addSuccess(Note, { status: 201 }))
  .add(
    HttpApiEndpoint.patch("update")`/notes/${idParam}`.setPayload(NoteUpdate).addSuccess(Note).addError(NoteNotFound)
  )
  // No success schema: HttpApi answers 204 No Content.
  .add(HttpApiEndpoint.del("remove")`/notes/${idParam}`.addError(NoteNotFound)) {}

export class Api extends HttpApi.make("notes-app").add(NotesGroup) {}
