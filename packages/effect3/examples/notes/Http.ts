/**
 * HTTP handlers: the notes API group; the cookie login, a plain router because it speaks
 * forms, cookies and redirects rather than the JSON API; and the streamed notes routes
 * (a live SSE feed, an NDJSON export), plain routes because their bodies are streams.
 */
import { HttpApiBuilder, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { type Context, Effect, Option, Schema, Stream } from "effect"
import { Accounts, User } from "./Accounts.js"
import { Api, ListParams, Note } from "./Api.js"
import { NotesEvents } from "./Events.js"
import { NotesRepo } from "./Notes.js"

export const NotesLive = HttpApiBuilder.group(Api, "notes", (handlers) =>
  Effect.gen(function* () {
    const repo = yield* NotesRepo
    return handlers
      .handle("list", ({ urlParams }) => repo.list(urlParams))
      .handle("get", ({ path }) => repo.findById(path.id))
      .handle("create", ({ payload }) => repo.create(payload))
      .handle("update", ({ path, payload }) => repo.update(path.id, payload))
      .handle("remove", ({ path }) => repo.remove(path.id))
  })
)

export const SessionCookie = "session"

const Credentials = Schema.Struct({
  username: Schema.NonEmptyTrimmedString,
  password: Schema.NonEmptyString
})

const problem = (status: number, error: string, message: string) =>
  HttpServerResponse.unsafeJson({ error, message }, { status })

const unauthorized = problem(401, "Unauthorized", "log in first")

/** The session's user, or `None` when the request has no live session. */
const currentUser = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const session = request.cookies[SessionCookie]
  if (session === undefined) return Option.none<User>()
  const accounts = yield* Accounts
  return yield* accounts.userOf(session)
})

/** Where a successful login sends the browser. */
const AfterLogin = "/me"

// POST-redirect-GET: a successful login answers 303 See Other, so the browser loads
// `AfterLogin` with GET (with the new cookie) and a reload does not post the form again.
const login = Effect.gen(function* () {
  const accounts = yield* Accounts
  const { username, password } = yield* HttpServerRequest.schemaBodyUrlParams(Credentials)
  const { session } = yield* accounts.login(username, password)
  return yield* HttpServerResponse.redirect(AfterLogin, { status: 303 }).pipe(
    HttpServerResponse.setCookie(SessionCookie, session, { httpOnly: true, path: "/", sameSite: "lax" })
  )
}).pipe(
  Effect.catchTags({
    ParseError: () => Effect.succeed(problem(400, "BadRequest", "username and password are required")),
    RequestError: () => Effect.succeed(problem(400, "BadRequest", "send the credentials as a urlencoded form")),
    InvalidCredentials: () => Effect.succeed(problem(401, "InvalidCredentials", "wrong username or password"))
  })
)

const me = Effect.flatMap(
  currentUser,
  Option.match({
    onNone: () => Effect.succeed(unauthorized),
    onSome: (user) => HttpServerResponse.schemaJson(User)(user)
  })
)

const logout = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const session = request.cookies[SessionCookie]
  if (session !== undefined) yield* Effect.flatMap(Accounts, (accounts) => accounts.logout(session))
  return HttpServerResponse.empty({ status: 204 }).pipe(HttpServerResponse.expireCookie(SessionCookie, { path: "/" }))
})

/** `POST /login` (form, 303 to `/me`), `GET /me`, `POST /logout`. Needs `Accounts`. */
export const AuthRouter = HttpRouter.empty.pipe(
  HttpRouter.post("/login", login),
  HttpRouter.get("/me", me),
  HttpRouter.post("/logout", logout)
)

/** Mounts `AuthRouter` next to the HttpApi routes. */
export const AuthRoutesLive = HttpApiBuilder.Router.use((router) =>
  Effect.flatMap(Accounts, (accounts) => router.concat(HttpRouter.provideService(AuthRouter, Accounts, accounts)))
)

// ---------------------------------------------------------------------------
// streamed notes: GET /notes/feed (Server-Sent Events), GET /notes/export (NDJSON)
// ---------------------------------------------------------------------------

const noteJson = Schema.encodeSync(Schema.parseJson(Note))

/** One SSE frame per note: the event name, the note id (for `Last-Event-ID`) and the note as JSON. */
const noteCreatedFrame = (note: Note): string => `event: note-created\nid: ${note.id}\ndata: ${noteJson(note)}\n\n`

const FeedHeaders = Schema.Struct({
  /** Sent by a reconnecting EventSource: the id of the last event it received. */
  "last-event-id": Schema.optional(Schema.NumberFromString)
})

/**
 * The live feed: every existing note (after `Last-Event-ID`, when the client reconnects),
 * then every note created while the client listens. It never ends on its own; the client
 * leaving closes the request scope, which ends the subscription.
 */
const feed = (repo: Context.Tag.Service<NotesRepo>, events: Context.Tag.Service<NotesEvents>) =>
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
      Stream.fromQueue(live).pipe(Stream.filter((note) => !seen.has(note.id)))
    )
    // The comment frame goes out at once, so proxies and clients see the stream is alive.
    const body = Stream.concat(Stream.succeed(": keep-alive\n\n"), Stream.map(notes, noteCreatedFrame))
    return HttpServerResponse.stream(Stream.encodeText(body), {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache" }
    })
  }).pipe(Effect.catchTag("ParseError", () => Effect.succeed(problem(400, "BadRequest", "invalid Last-Event-ID"))))

/** Every note matching `?tag=`, `?q=`, `?limit=` (as for `GET /notes`), one JSON value per line. */
const exportNotes = (repo: Context.Tag.Service<NotesRepo>) =>
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
  }).pipe(Effect.catchTag("ParseError", () => Effect.succeed(problem(400, "BadRequest", "invalid export filter"))))

/** Mounts `GET /notes/feed` and `GET /notes/export` next to the HttpApi routes. */
export const NotesStreamRoutesLive = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const repo = yield* NotesRepo
    const events = yield* NotesEvents
    yield* router.get("/notes/feed", feed(repo, events))
    yield* router.get("/notes/export", exportNotes(repo))
  })
)
