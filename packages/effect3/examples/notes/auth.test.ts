import { Cookies, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { TestClient } from "effect-http-testkit"
import { Accounts, layerAccounts, User } from "./Accounts.js"
import { AuthRouter, SessionCookie } from "./Http.js"
import { HttpLive, ServerLive, ServicesLive } from "./Server.js"

const TestApp = TestClient.layerServer(ServerLive)

const alice = { username: "alice", password: "wonderland" }
const Alice = new User({ username: "alice", displayName: "Alice Liddell" })

const SessionSetCookie = /^session=[0-9a-f-]{36}; Path=\/; HttpOnly; SameSite=Lax$/

/** Submits the login form, as a browser does: the client follows the 303 to `/me`. */
const login = (credentials: { readonly username: string; readonly password: string }) =>
  TestClient.post("/login", { form: credentials })

/** The session token in the client's jar. */
const sessionInJar = Effect.map(TestClient.cookies, (jar) => Option.getOrThrow(Cookies.getValue(jar, SessionCookie)))

describe("form login: POST, 303, GET", () => {
  it.scoped("a good login redirects to /me, which already knows who is calling", () =>
    Effect.gen(function* () {
      const r = yield* login(alice)

      // Where the client landed: the page the 303 pointed to, loaded with GET.
      expect(r.status).toBe(200)
      expect(r.url).toBe("http://testserver/me")
      expect(yield* HttpClientResponse.schemaBodyJson(User)(r)).toEqual(Alice)

      // How it got there: one 303 hop, which set the session cookie.
      expect(r.history.map((hop) => [hop.status, hop.url])).toEqual([[303, "http://testserver/login"]])
      const [redirect] = r.history
      expect(redirect.headers.location).toBe("/me")
      expect(redirect.setCookie).toHaveLength(1)
      expect(redirect.setCookie[0]).toMatch(SessionSetCookie)
      // A platform client shows Set-Cookie among the headers too, as the wire does.
      expect(redirect.headers["set-cookie"]).toMatch(SessionSetCookie)
      // /me itself sets nothing: the cookie came from the hop before.
      expect(r.setCookie).toEqual([])

      // The GET to /me carried the cookie from the 303, with no help from the test.
      const session = Option.getOrThrow(Cookies.getValue(redirect.cookies, SessionCookie))
      expect(r.request.method).toBe("GET")
      expect(r.request.headers.cookie).toBe(`${SessionCookie}=${session}`)
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("the jar keeps the HttpOnly session and sends it with every later request", () =>
    Effect.gen(function* () {
      yield* login(alice)

      const cookie = Option.getOrThrow(Cookies.get(yield* TestClient.cookies, SessionCookie))
      expect(cookie.value).toMatch(/^[0-9a-f-]{36}$/)
      expect(cookie.options).toMatchObject({ httpOnly: true, path: "/", sameSite: "lax" })
      expect(yield* TestClient.cookieHeader()).toBe(`${SessionCookie}=${cookie.value}`)

      // No cookies passed by hand: the jar does it.
      const me = yield* TestClient.get("/me")
      expect(me.status).toBe(200)
      expect(yield* HttpClientResponse.schemaBodyJson(User)(me)).toEqual(Alice)
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("followRedirects: false shows the raw 303, and the jar still takes its cookie", () =>
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

  it.scoped("exchanges list every hop, with what each request carried", () =>
    Effect.gen(function* () {
      yield* login(alice)
      const session = yield* sessionInJar

      const hops = yield* TestClient.exchanges
      expect(hops.map(({ request, response }) => [request.method, request.url, response.status])).toEqual([
        ["POST", "http://testserver/login", 303],
        ["GET", "http://testserver/me", 200]
      ])
      const [post, get] = hops
      // The form went with the POST only: the 303 turned it into a GET without a body.
      expect(post.request.headers["content-type"]).toBe("application/x-www-form-urlencoded")
      expect(get.request.headers["content-type"]).toBeUndefined()
      // No cookie before the login; the new session on the hop after it.
      expect(post.request.headers.cookie).toBeUndefined()
      expect(get.request.headers.cookie).toBe(`${SessionCookie}=${session}`)
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("logout expires the cookie: the jar drops it and the session is over", () =>
    Effect.gen(function* () {
      yield* login(alice)
      const session = yield* sessionInJar

      const out = yield* TestClient.post("/logout")
      expect(out.status).toBe(204)
      expect(out.setCookie).toHaveLength(1)
      expect(out.setCookie[0]).toMatch(/^session=; Max-Age=0; /)

      // Max-Age=0 deletes the cookie from the jar.
      expect(yield* TestClient.cookieHeader()).toBe("")
      expect(Cookies.isEmpty(yield* TestClient.cookies)).toBe(true)
      expect((yield* TestClient.get("/me")).status).toBe(401)

      // And the server forgot it: the old token is useless even to a client that kept it.
      const replayed = yield* TestClient.get("/me", { cookies: { [SessionCookie]: session } })
      expect(replayed.status).toBe(401)
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("a per-call cookie replaces the jar's cookie of the same name, for that call only", () =>
    Effect.gen(function* () {
      yield* login(alice)
      const session = yield* sessionInJar

      const forged = yield* TestClient.get("/me", { cookies: { [SessionCookie]: "not-a-real-session" } })
      expect(forged.status).toBe(401)
      expect(yield* forged.json).toEqual({ error: "Unauthorized", message: "log in first" })
      expect(forged.request.headers.cookie).toBe(`${SessionCookie}=not-a-real-session`)

      // The jar was not touched.
      expect(yield* sessionInJar).toBe(session)
      expect((yield* TestClient.get("/me")).status).toBe(200)
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("/me without a session is 401", () =>
    Effect.gen(function* () {
      const anonymous = yield* TestClient.get("/me")
      expect(anonymous.status).toBe(401)
      expect(yield* anonymous.json).toEqual({ error: "Unauthorized", message: "log in first" })
      expect(anonymous.request.headers.cookie).toBeUndefined()
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("a wrong password is 401, with no redirect and no cookie", () =>
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

  it.scoped("a login form with a missing field is 400", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.post("/login", { form: { username: "alice" } })
      expect(r.status).toBe(400)
      expect(yield* r.json).toMatchObject({ error: "BadRequest" })
    }).pipe(Effect.provide(TestApp))
  )

  // The bootstrap with its services kept as outputs, so the test can open a session
  // without the form and put it in the jar itself.
  it.scoped("a test can seed the jar with a session, and clear it", () =>
    Effect.gen(function* () {
      const accounts = yield* Accounts
      const { session } = yield* accounts.login("alice", "wonderland")

      yield* TestClient.setCookie(SessionCookie, session, { httpOnly: true })
      const me = yield* TestClient.get("/me")
      expect(yield* HttpClientResponse.schemaBodyJson(User)(me)).toEqual(Alice)

      // A browser that forgot its cookies is logged out; the session itself lives on.
      yield* TestClient.clearCookies()
      expect((yield* TestClient.get("/me")).status).toBe(401)
      expect(Option.isSome(yield* accounts.userOf(session))).toBe(true)
    }).pipe(Effect.provide(TestClient.layerServer(HttpLive.pipe(Layer.provideMerge(ServicesLive)))))
  )
})

// The auth routes on their own: a plain HttpRouter served by `TestClient.layer`, with
// accounts made up for this test instead of the app's.
describe("AuthRouter alone", () => {
  const TestAuth = TestClient.layer(AuthRouter).pipe(
    Layer.provide(layerAccounts([{ username: "bob", displayName: "Bob", password: "builder" }]))
  )

  it.scoped("logs in an account from the layer it was given", () =>
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
