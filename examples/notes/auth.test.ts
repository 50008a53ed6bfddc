import { Cookies, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { TestClient } from "effect-http-testkit"
import { layerAccounts, User } from "./Accounts.js"
import { AuthRouter, SessionCookie } from "./Http.js"
import { ServerLive } from "./Server.js"

const TestApp = TestClient.layerServer(ServerLive)

const alice = { username: "alice", password: "wonderland" }

/** Logs in through the form and returns the session token the server set. */
const loginAs = (credentials: { readonly username: string; readonly password: string }) =>
  Effect.gen(function* () {
    const r = yield* TestClient.post("/login", { form: credentials })
    expect(r.status).toBe(200)
    return Option.getOrThrow(Cookies.getValue(r.cookies, SessionCookie))
  })

describe("cookie login", () => {
  it.scoped("a good login sets an HttpOnly session cookie and returns the user", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.post("/login", { form: alice })
      expect(r.status).toBe(200)
      expect(yield* HttpClientResponse.schemaBodyJson(User)(r)).toEqual(
        new User({ username: "alice", displayName: "Alice Liddell" })
      )

      // The platform's Cookies, parsed from Set-Cookie...
      const cookie = Option.getOrThrow(Cookies.get(r.cookies, SessionCookie))
      expect(cookie.value).toMatch(/^[0-9a-f-]{36}$/)
      expect(cookie.options).toMatchObject({ httpOnly: true, path: "/", sameSite: "lax" })
      // ...and the raw header lines, for asserting on exactly what was sent.
      expect(r.setCookie).toHaveLength(1)
      expect(r.setCookie[0]).toMatch(/^session=[0-9a-f-]{36}; Path=\/; HttpOnly; SameSite=Lax$/)
    }).pipe(Effect.provide(TestApp))
  )

  // A platform client (NodeHttpClient, FetchHttpClient) shows Set-Cookie in `headers` too,
  // and so does the raw response on the wire.
  it.scoped("the Set-Cookie header is also among the response headers", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.post("/login", { form: alice })
      expect(r.status).toBe(200)
      expect(r.headers["set-cookie"]).toMatch(/^session=[0-9a-f-]{36}; Path=\/; HttpOnly; SameSite=Lax$/)
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("the session cookie lets /me know who is calling", () =>
    Effect.gen(function* () {
      const session = yield* loginAs(alice)

      const me = yield* TestClient.get("/me", { cookies: { [SessionCookie]: session } })
      expect(me.status).toBe(200)
      expect((yield* HttpClientResponse.schemaBodyJson(User)(me)).username).toBe("alice")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("/me without a session, or with an unknown one, is 401", () =>
    Effect.gen(function* () {
      const anonymous = yield* TestClient.get("/me")
      expect(anonymous.status).toBe(401)
      expect(yield* anonymous.json).toEqual({ error: "Unauthorized", message: "log in first" })

      const forged = yield* TestClient.get("/me", { cookies: { [SessionCookie]: "not-a-real-session" } })
      expect(forged.status).toBe(401)
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("a wrong password is 401 and sets no cookie", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.post("/login", { form: { username: "alice", password: "looking-glass" } })
      expect(r.status).toBe(401)
      expect(yield* r.json).toMatchObject({ error: "InvalidCredentials" })
      expect(r.setCookie).toEqual([])
      expect(Cookies.isEmpty(r.cookies)).toBe(true)

      const unknownUser = yield* TestClient.post("/login", { form: { username: "mallory", password: "wonderland" } })
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

  it.scoped("logout expires the cookie and ends the session", () =>
    Effect.gen(function* () {
      const session = yield* loginAs(alice)

      const out = yield* TestClient.post("/logout", { cookies: { [SessionCookie]: session } })
      expect(out.status).toBe(204)
      expect(out.setCookie).toHaveLength(1)
      expect(out.setCookie[0]).toMatch(/^session=; Max-Age=0; /)

      // The old token no longer works, even if a client kept it.
      const me = yield* TestClient.get("/me", { cookies: { [SessionCookie]: session } })
      expect(me.status).toBe(401)
    }).pipe(Effect.provide(TestApp))
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
      const session = yield* loginAs({ username: "bob", password: "builder" })
      const me = yield* TestClient.get("/me", { cookies: { [SessionCookie]: session } })
      expect(yield* HttpClientResponse.schemaBodyJson(User)(me)).toEqual(
        new User({ username: "bob", displayName: "Bob" })
      )

      // The demo account of the production layer does not exist here.
      expect((yield* TestClient.post("/login", { form: alice })).status).toBe(401)
      // Nor do the notes routes: this app is only the router.
      expect((yield* TestClient.get("/notes")).status).toBe(404)
    }).pipe(Effect.provide(TestAuth))
  )
})
