/**
 * HTTP handlers: the notes API group, and the cookie login, which is a plain router
 * because it speaks forms and cookies rather than the JSON API.
 */
import { HttpApiBuilder, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import { Accounts, User } from "./Accounts.js"
import { Api } from "./Api.js"
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

const login = Effect.gen(function* () {
  const accounts = yield* Accounts
  const { username, password } = yield* HttpServerRequest.schemaBodyUrlParams(Credentials)
  const { user, session } = yield* accounts.login(username, password)
  const response = yield* HttpServerResponse.schemaJson(User)(user)
  return yield* HttpServerResponse.setCookie(response, SessionCookie, session, {
    httpOnly: true,
    path: "/",
    sameSite: "lax"
  })
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

/** `POST /login` (form), `GET /me`, `POST /logout`. Needs `Accounts`. */
export const AuthRouter = HttpRouter.empty.pipe(
  HttpRouter.post("/login", login),
  HttpRouter.get("/me", me),
  HttpRouter.post("/logout", logout)
)

/** Mounts `AuthRouter` next to the HttpApi routes. */
export const AuthRoutesLive = HttpApiBuilder.Router.use((router) =>
  Effect.flatMap(Accounts, (accounts) => router.concat(HttpRouter.provideService(AuthRouter, Accounts, accounts)))
)
