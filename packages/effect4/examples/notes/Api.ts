/**
 * The notes HTTP API, described once with Schema: the server derives routing, decoding,
 * status codes and error bodies from it (and clients or OpenAPI docs could too).
 */
import { Effect, Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema } from "effect/http-api"

export const NoteId = Schema.Int.check(Schema.isGreaterThan(0)).pipe(Schema.brand("NoteId"))
export type NoteId = typeof NoteId.Type

/** A NoteId as a path segment carries it: digits. */
export const NoteIdFromString = Schema.FiniteFromString.pipe(Schema.decodeTo(NoteId))

const Title = Schema.Trimmed.check(Schema.isNonEmpty(), Schema.isMaxLength(120))
const Tag = Schema.String.check(Schema.isPattern(/^[a-z0-9-]{1,32}$/))

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
  tags: Schema.Array(Tag).pipe(Schema.withDecodingDefault(Effect.succeed([])))
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
  limit: Schema.optional(Schema.FiniteFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 100 })))
})
export type ListParams = typeof ListParams.Type

export class NoteNotFound extends Schema.TaggedError<NoteNotFound>()(
  "NoteNotFound",
  { id: NoteId },
  { httpApiStatus: 404 }
) {}

const params = { id: NoteIdFromString }

export class NotesGroup extends HttpApiGroup.make("notes").add(
  HttpApiEndpoint.get("list", "/notes", { query: ListParams, success: Schema.Array(Note) }),
  HttpApiEndpoint.get("get", "/notes/:id", { params, success: Note, error: NoteNotFound }),
  HttpApiEndpoint.post("create", "/notes", { payload: NewNote, success: Note.pipe(HttpApiSchema.status(201)) }),
  HttpApiEndpoint.patch("update", "/notes/:id", { params, payload: NoteUpdate, success: Note, error: NoteNotFound }),
  // No success schema: HttpApi answers 204 No Content.
  HttpApiEndpoint.delete("remove", "/notes/:id", { params, error: NoteNotFound })
) {}

/**
 * Requests that fail decoding are answered with an RFC 9457 problem naming each bad value
 * (`HttpApiMiddleware.layerProblemDetails({ includeDetails: true })` in `Server.ts`), rather
 * than Effect 4's default empty 400.
 */
export class Api extends HttpApi.make("notes-app").add(NotesGroup).middleware(HttpApiMiddleware.ProblemDetails) {}
