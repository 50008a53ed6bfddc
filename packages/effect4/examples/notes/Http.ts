/**
 * HTTP handlers: the notes API group; the cookie login, plain routes because it speaks
 * forms, cookies and redirects rather than the JSON API; and the streamed notes routes
 * (a live SSE feed, an NDJSON export), plain routes because their bodies are streams.
 */
import { Effect, Option, Schema, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { Accounts, User } from "./Accounts.js"
import { Api, ListParams, Note } from "./Api.js"
import { NotesEvents } from "./Events.js"
import { NotesRepo } from "./Notes.js"

export const NotesLive = HttpApiBuilder.group(Api, "notes", (handlers) =>
  Effect.gen(function* () {
    const repo = yield* NotesRepo
    return handlers
      .handle("list", ({ query }) => repo.list(query))
      .handle("get", ({ params }) => repo.findById(params.id))
      .handle("create", ({ payload }) => repo.create(payload))
      .handle("update", ({ params, payload }) => repo.update(params.id, payload))
      .handle("remove", ({ params }) => repo.remove(params.id))
  })
)

export const SessionCookie = "session"

const Credentials = Schema.Struct({
  username: Schema.Trimmed.check(Schema.isNonEmpty()),
  password: Schema.NonEmptyString
})

const problem = (status: number, error: string, message: string) =>
  HttpServerResponse.jsonUnsafe({ error, message }, { status })

const unauthorized = problem(401, "Unauthorized", "log in first")

/** Where a successful login sends the browser. */
const AfterLogin = "/me"

/** `POST /login` (form, 303 to `/me`), `GET /me`, `POST /logout`. Needs `Accounts`. */
export const AuthRoutes = HttpRouter.use((router) =>
  Effect.gen(function* () {
    const accounts = yield* Accounts

    /** The session's user, or `None` when the request has no live session. */
    const currentUser = (request: HttpServerRequest.HttpServerRequest) => {
      const session = request.cookies[SessionCookie]
      return session === undefined ? Effect.succeedNone : accounts.userOf(session)
    }

    // POST-redirect-GET: a successful login answers 303 See Other, so the browser loads
    // `AfterLogin` with GET (with the new cookie) and a reload does not post the form again.
    yield* router.add(
      "POST",
      "/login",
      Effect.gen(function* () {
        const { username, password } = yield* HttpServerRequest.schemaBodyUrlParams(Credentials)
        const { session } = yield* accounts.login(username, password)
        return HttpServerResponse.redirect(AfterLogin, { status: 303 }).pipe(
          HttpServerResponse.setCookieUnsafe(SessionCookie, session, { httpOnly: true, path: "/", sameSite: "lax" })
        )
      }).pipe(
        Effect.catchTags({
          SchemaError: () => Effect.succeed(problem(400, "BadRequest", "username and password are required")),
          HttpServerError: () =>
            Effect.succeed(problem(400, "BadRequest", "send the credentials as a urlencoded form")),
          InvalidCredentials: () => Effect.succeed(problem(401, "InvalidCredentials", "wrong username or password"))
        })
      )
    )

    yield* router.add("GET", "/me", (request) =>
      Effect.flatMap(
        currentUser(request),
        Option.match({
          onNone: () => Effect.succeed(unauthorized),
          onSome: (user) => HttpServerResponse.schemaJson(User)(user)
        })
      )
    )

    yield* router.add("POST", "/logout", (request) =>
      Effect.gen(function* () {
        const session = request.cookies[SessionCookie]
        if (session !== undefined) yield* accounts.logout(session)
        return HttpServerResponse.empty({ status: 204 }).pipe(
          HttpServerResponse.expireCookieUnsafe(SessionCookie, { path: "/" })
        )
      })
    )
  })
)

// ---------------------------------------------------------------------------
// streamed notes: GET /notes/feed (Server-Sent Events), GET /notes/export (NDJSON)
// ---------------------------------------------------------------------------

/** A note as JSON text, with the dates as ISO strings (the Api's JSON codec). */
const noteJson = Schema.encodeSync(Schema.fromJsonString(Schema.toCodecJson(Note)))

/** One SSE frame per note: the event name, the note id (for `Last-Event-ID`) and the note as JSON. */
const noteCreatedFrame = (note: Note): string => `event: note-created\nid: ${note.id}\ndata: ${noteJson(note)}\n\n`

const FeedHeaders = Schema.Struct({
  /** Sent by a reconnecting EventSource: the id of the last event it received. */
  "last-event-id": Schema.optional(Schema.FiniteFromString)
})

/**
 * The live feed: every existing note (after `Last-Event-ID`, when the client reconnects),
 * then every note created while the client listens. It never ends on its own; the client
 * leaving closes the request scope, which ends the subscription.
 */
const feed = (repo: NotesRepo["Service"], events: NotesEvents["Service"]) =>
  Effect.gen(function* () {
    const headers = yield* HttpServerRequest.schemaHeaders(FeedHeaders)
    const after = headers["last-event-id"] ?? 0
    // Subscribe before reading the snapshot, so no note can fall between the two. A note
    // created in between is in both; it is sent once, from the snapshot.
    const live = yield* events.subscribe
    const snapshot = yield* repo.list({})
    const seen = new Set(snapshot.map((note) => note.id))
    const notes = Stream.concat(
      Stream.fromIterable(snapshot.filter((note) => note.id > after)),
      Stream.fromSubscription(live).pipe(Stream.filter((note) => !seen.has(note.id)))
    )
    // The comment frame goes out at once, so proxies and clients see the stream is alive.
    const body = Stream.concat(Stream.succeed(": keep-alive\n\n"), Stream.map(notes, noteCreatedFrame))
    return HttpServerResponse.stream(Stream.encodeText(body), {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache" }
    })
  }).pipe(Effect.catchTag("SchemaError", () => Effect.succeed(problem(400, "BadRequest", "invalid Last-Event-ID"))))

/**
 * Every note matching `?tag=`, `?q=`, `?limit=` (as for `GET /notes`), one JSON value per line.
 * Exported for its unit test (`export.test.ts`, with `TestRequest`).
 */
export const exportNotes = (repo: NotesRepo["Service"]) =>
  Effect.gen(function* () {
    const filter = yield* HttpServerRequest.schemaSearchParams(ListParams)
    const lines = repo.stream(filter).pipe(
      Stream.map((note) => `${noteJson(note)}\n`),
      Stream.encodeText
    )
    return HttpServerResponse.stream(lines, {
      contentType: "application/x-ndjson",
      headers: { "content-disposition": 'attachment; filename="notes.ndjson"' }
    })
  }).pipe(Effect.catchTag("SchemaError", () => Effect.succeed(problem(400, "BadRequest", "invalid export filter"))))

/** `GET /notes/feed` and `GET /notes/export`, next to the HttpApi routes. */
export const NotesStreamRoutes = HttpRouter.use((router) =>
  Effect.gen(function* () {
    const repo = yield* NotesRepo
    const events = yield* NotesEvents
    yield* router.add("GET", "/notes/feed", feed(repo, events))
    yield* router.add("GET", "/notes/export", exportNotes(repo))
  })
)
