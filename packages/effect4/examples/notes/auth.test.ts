import { describe, expect, it } from "@effect/vitest"
import { TestClient, TestTracer } from "@effect-http-testkit/effect4"
import { Effect, Layer, Option } from "effect"
import { Cookies, Headers, HttpClientResponse, HttpMiddleware } from "effect/http"
import { Accounts, layerAccounts, User } from "./Accounts.js"
import { AuthRoutes, SessionCookie } from "./Http.js"
import { HttpLive, ServerLive, ServicesLive } from "./Server.js"

// What each request carried is read where the app received it: its server span. Effect 4's
// server spans record the request headers `HttpMiddleware.TracerHeaderFilter` lets through,
// with cookie values redacted (`Headers.CurrentRedactedNames`); this app, served for the test,
// records the two headers the tests look at, unredacted.
const RecordRequestHeaders = Layer.mergeAll(
  Layer.succeed(HttpMiddleware.TracerHeaderFilter)(
    (name, phase) => phase === "request" && (name === "cookie" || name === "content-type")
  ),
  Layer.succeed(Headers.CurrentRedactedNames)([])
)

const TestApp = TestClient.layerServer(ServerLive.pipe(Layer.provide(RecordRequestHeaders)))

const alice = { username: "alice", password: "wonderland" }
const Alice = new User({ username: "alice", displayName: "Alice Liddell" })

const SessionSetCookie = /^session=[0-9a-f-]{36}; Path=\/; HttpOnly; SameSite=Lax$/

/** Submits the login form, as a browser does: the client follows the 303 to `/me`. */
const login = (credentials: { readonly username: string; readonly password: string }) =>
  TestClient.post("/login", { form: credentials })

/** A request header as the app received it (`undefined` when the request had none), from its server span. */
const received = (response: { readonly spanId: string }, header: string) =>
  Effect.map(TestTracer.getAttribute(response.spanId, `http.request.header.${header}`), Option.getOrUndefined)

/** The session token the client's jar sends. */
const sessionInJar = Effect.flatMap(TestClient.cookieHeader(), (header) => {
  const session = new RegExp(`^${SessionCookie}=([0-9a-f-]{36})$`).exec(header)?.[1]
  return session === undefined
    ? Effect.die(`no session in the jar: it sends ${JSON.stringify(header)}`)
    : Effect.succeed(session)
})

describe("form login: POST, 303, GET", () => {
  it.effect("a good login redirects to /me, which already knows who is calling", () =>
    Effect.gen(function* () {
      const r = yield* login(alice)

      // Where the client landed: the page the 303 pointed to, loaded with GET.
      expect(r.status).toBe(200)
      expect(r.url).toBe("http://testserver/me")
      expect(yield* HttpClientResponse.schemaBodyJson(User)(r)).toEqual(Alice)

      // How it got there: one 303 hop, which set the session cookie.
      expect(r.history.map((hop) => [hop.status, hop.url])).toEqual([[303, "http://testserver/login"]])
      const [redirect] = r.history
      expect(redirect!.headers.location).toBe("/me")
      expect(redirect!.setCookie).toHaveLength(1)
      expect(redirect!.setCookie[0]).toMatch(SessionSetCookie)
      // The platform response's `cookies` parse the same Set-Cookie line.
      const session = Option.getOrThrow(Cookies.getValue(redirect!.cookies, SessionCookie))
      // /me itself sets nothing: the cookie came from the hop before.
      expect(r.setCookie).toEqual([])

      // The GET to /me carried the cookie from the 303, with no help from the test.
      expect(r.request.method).toBe("GET")
      expect(yield* received(r, "cookie")).toBe(`${SessionCookie}=${session}`)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("the jar keeps the HttpOnly session and sends it with every later request", () =>
    Effect.gen(function* () {
      const r = yield* login(alice)

      // The cookie as the app set it: HttpOnly, for the whole site, SameSite=Lax.
      const cookie = Option.getOrThrow(Cookies.get(r.history[0]!.cookies, SessionCookie))
      expect(cookie.value).toMatch(/^[0-9a-f-]{36}$/)
      expect(cookie.options).toMatchObject({ httpOnly: true, path: "/", sameSite: "lax" })
      // The jar kept it: it is what the client sends.
      expect(yield* TestClient.cookieHeader()).toBe(`${SessionCookie}=${cookie.value}`)

      // No cookies passed by hand: the jar does it.
      const me = yield* TestClient.get("/me")
      expect(me.status).toBe(200)
      expect(yield* HttpClientResponse.schemaBodyJson(User)(me)).toEqual(Alice)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("followRedirects: false shows the raw 303, and the jar still takes its cookie", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.post("/login", { form: alice, followRedirects: false })
      expect(r.status).toBe(303)
      expect(r.url).toBe("http://testserver/login")
      expect(r.headers.location).toBe("/me")
      expect(r.history).toEqual([])
      expect(r.body.length).toBe(0)
      expect(r.setCookie[0]).toMatch(SessionSetCookie)

      // As a browser would, the client stored the cookie of a response it did not follow.
      expect(yield* TestClient.cookieHeader()).toMatch(/^session=[0-9a-f-]{36}$/)

      // Follow the Location by hand.
      const me = yield* TestClient.get(r.headers.location ?? "/missing-location")
      expect(me.status).toBe(200)
      expect(yield* HttpClientResponse.schemaBodyJson(User)(me)).toEqual(Alice)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("every hop, with what each request carried", () =>
    Effect.gen(function* () {
      const r = yield* login(alice)
      const session = yield* sessionInJar

      const hops = [...r.history, r]
      expect(hops.map((hop) => [hop.request.method, hop.url, hop.status])).toEqual([
        ["POST", "http://testserver/login", 303],
        ["GET", "http://testserver/me", 200]
      ])
      const [post, get] = hops
      // The form went with the POST only: the 303 turned it into a GET without a body.
      expect(yield* received(post!, "content-type")).toBe("application/x-www-form-urlencoded")
      expect(yield* received(get!, "content-type")).toBeUndefined()
      // No cookie before the login; the new session on the hop after it.
      expect(yield* received(post!, "cookie")).toBeUndefined()
      expect(yield* received(get!, "cookie")).toBe(`${SessionCookie}=${session}`)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("logout expires the cookie: the jar drops it and the session is over", () =>
    Effect.gen(function* () {
      yield* login(alice)
      const session = yield* sessionInJar

      const out = yield* TestClient.post("/logout")
      expect(out.status).toBe(204)
      expect(out.setCookie).toHaveLength(1)
      expect(out.setCookie[0]).toMatch(/^session=; Max-Age=0; /)

      // Max-Age=0 deletes the cookie from the jar.
      expect(yield* TestClient.cookieHeader()).toBe("")
      expect((yield* TestClient.get("/me")).status).toBe(401)

      // And the server forgot it: the old token is useless even to a client that kept it.
      const replayed = yield* TestClient.get("/me", { cookies: { [SessionCookie]: session } })
      expect(replayed.status).toBe(401)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a per-call cookie replaces the jar's cookie of the same name, for that call only", () =>
    Effect.gen(function* () {
      yield* login(alice)
      const session = yield* sessionInJar

      const forged = yield* TestClient.get("/me", { cookies: { [SessionCookie]: "not-a-real-session" } })
      expect(forged.status).toBe(401)
      expect(yield* forged.json).toEqual({ error: "Unauthorized", message: "log in first" })
      expect(yield* received(forged, "cookie")).toBe(`${SessionCookie}=not-a-real-session`)

      // The jar was not touched.
      expect(yield* sessionInJar).toBe(session)
      expect((yield* TestClient.get("/me")).status).toBe(200)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("/me without a session is 401", () =>
    Effect.gen(function* () {
      const anonymous = yield* TestClient.get("/me")
      expect(anonymous.status).toBe(401)
      expect(yield* anonymous.json).toEqual({ error: "Unauthorized", message: "log in first" })
      expect(yield* received(anonymous, "cookie")).toBeUndefined()
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a wrong password is 401, with no redirect and no cookie", () =>
    Effect.gen(function* () {
      const r = yield* login({ username: "alice", password: "looking-glass" })
      expect(r.status).toBe(401)
      expect(r.url).toBe("http://testserver/login")
      expect(r.history).toEqual([])
      expect(yield* r.json).toMatchObject({ error: "InvalidCredentials" })
      expect(r.setCookie).toEqual([])
      expect(yield* TestClient.cookieHeader()).toBe("")

      const unknownUser = yield* login({ username: "mallory", password: "wonderland" })
      expect(unknownUser.status).toBe(401)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a login form with a missing field is 400", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.post("/login", { form: { username: "alice" } })
      expect(r.status).toBe(400)
      expect(yield* r.json).toMatchObject({ error: "BadRequest" })
    }).pipe(Effect.provide(TestApp))
  )

  // The app with its services provided beside it (provideMerge), so the test can open a
  // session without the form and send it itself.
  it.effect("a test can open a session itself and send it, without the form", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts
      const { session } = yield* accounts.login("alice", "wonderland")

      const me = yield* TestClient.get("/me", { cookies: { [SessionCookie]: session } })
      expect(yield* HttpClientResponse.schemaBodyJson(User)(me)).toEqual(Alice)

      // The per-call cookie never went into the jar: the next request has no session, and
      // the session itself lives on.
      expect(yield* TestClient.cookieHeader()).toBe("")
      expect((yield* TestClient.get("/me")).status).toBe(401)
      expect(Option.isSome(yield* accounts.userOf(session))).toBe(true)
    }).pipe(Effect.provide(TestClient.layerServer(HttpLive).pipe(Layer.provideMerge(ServicesLive))))
  )
})

// The auth routes on their own: an HttpRouter layer served by `TestClient.layer`, with
// accounts made up for this test instead of the app's.
describe("AuthRoutes alone", () => {
  const TestAuth = TestClient.layer(
    AuthRoutes.pipe(Layer.provide(layerAccounts([{ username: "bob", displayName: "Bob", password: "builder" }])))
  )

  it.effect("logs in an account from the layer it was given", () =>
    Effect.gen(function* () {
      const me = yield* login({ username: "bob", password: "builder" })
      expect(me.url).toBe("http://testserver/me")
      expect(yield* HttpClientResponse.schemaBodyJson(User)(me)).toEqual(
        new User({ username: "bob", displayName: "Bob" })
      )

      // The demo account of the production layer does not exist here.
      expect((yield* login(alice)).status).toBe(401)
      // Nor do the notes routes: this app is only the router.
      expect((yield* TestClient.get("/notes")).status).toBe(404)
    }).pipe(Effect.provide(TestAuth))
  )
})
