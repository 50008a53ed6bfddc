import { describe, expect, it } from "@effect/vitest"
import { TestClient, TestTracer } from "@effect-http-testkit/effect4"
import { Cause, DateTime, Effect, Layer, Option, Schema, Stream } from "effect"
import { HttpClientResponse } from "effect/http"
import { HttpApiClient, HttpApiError } from "effect/http-api"
import { TestClock } from "effect/testing"
import { Api, Note, NoteId, NoteNotFound } from "./Api.js"
import { NotesRepo } from "./Notes.js"
import { HttpLive, ServerLive, ServicesLive } from "./Server.js"

// The real bootstrap, minus the socket. Each `Effect.provide(TestApp)` builds a fresh app,
// so every test starts with no notes.
const TestApp = TestClient.layerServer(ServerLive)

// The typed client a user's own code would use, derived from the same `Api`. It needs no
// baseUrl: every TestClient layer provides an `HttpClient` that resolves relative URLs against
// the kit's baseUrl and reaches the app in process. Responses come back decoded with the
// Api's schemas and declared errors (NoteNotFound) come back typed, in the error channel.
// The raw `TestClient` stays for what the typed client hides or refuses to send: status
// codes and headers on the wire, malformed input.
const NotesClient = HttpApiClient.make(Api)

const Notes = Schema.Array(Note)

const createNote = (note: { readonly title: string; readonly body: string; readonly tags?: ReadonlyArray<string> }) =>
  Effect.flatMap(NotesClient, (client) => client.notes.create({ payload: { tags: [], ...note } }))

const listTitles = (query: { readonly tag?: string; readonly q?: string; readonly limit?: number }) =>
  Effect.flatMap(NotesClient, (client) => client.notes.list({ query })).pipe(
    Effect.map((notes) => notes.map((note) => note.title))
  )

/**
 * The status the app answered each request of `method` with, in the order they ended: read
 * from the server spans the app's server recorded, whichever client sent the request.
 */
const statusesOf = (method: string) =>
  Effect.flatMap(TestTracer.findSpans(method, { kind: "server" }), (spans) =>
    Effect.forEach(spans, (span) =>
      Effect.map(TestTracer.getAttribute(span.spanId, "http.response.status_code"), Option.getOrUndefined)
    )
  )

describe("notes API", () => {
  it.effect("creates a note and reads it back", () =>
    Effect.gen(function* () {
      const client = yield* NotesClient
      const note = yield* client.notes.create({ payload: { title: "Groceries", body: "milk, eggs", tags: ["home"] } })
      // Already a Note: decoded with the Api's schema (dates are DateTimes, the id a NoteId).
      expect(note).toBeInstanceOf(Note)
      expect(note).toMatchObject({ id: 1, title: "Groceries", body: "milk, eggs", tags: ["home"] })

      // The typed client succeeds only on a status the Api declares (201 for create, 200 for
      // get); `responseMode` returns the response next to the value, to check it anyway.
      const [fetched, response] = yield* client.notes.get({
        params: { id: note.id },
        responseMode: "decoded-and-response"
      })
      expect(response.status).toBe(200)
      expect(fetched).toEqual(note)
    }).pipe(Effect.provide(TestApp))
  )

  // Raw on purpose: the status code and the content type are the point here.
  it.effect("create answers 201 Created with the note as JSON", () =>
    Effect.gen(function* () {
      const created = yield* TestClient.post("/notes", {
        json: { title: "Groceries", body: "milk, eggs", tags: ["home"] }
      })
      expect(created.status).toBe(201)
      expect(created.headers["content-type"]).toContain("application/json")
      const note = yield* HttpClientResponse.schemaBodyJson(Note)(created)
      expect(note).toMatchObject({ id: 1, title: "Groceries", body: "milk, eggs", tags: ["home"] })
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a missing note fails the typed call with NoteNotFound", () =>
    Effect.gen(function* () {
      const client = yield* NotesClient
      const error = yield* Effect.flip(client.notes.get({ params: { id: NoteId.make(42) } }))
      expect(error).toBeInstanceOf(NoteNotFound)
      expect(error._tag === "NoteNotFound" && error.id).toBe(42)

      // Handled by tag, as application code handles it.
      const outcome = yield* client.notes.get({ params: { id: NoteId.make(42) } }).pipe(
        Effect.as("found"),
        Effect.catchTag("NoteNotFound", () => Effect.succeed("missing"))
      )
      expect(outcome).toBe("missing")
    }).pipe(Effect.provide(TestApp))
  )

  // Raw on purpose: what goes over the wire for a typed error, and the platform's response
  // combinators on the kit's response.
  it.effect("answers 404 with a typed NoteNotFound body", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.get("/notes/42")
      expect(r.status).toBe(404)
      const error = yield* HttpClientResponse.schemaBodyJson(NoteNotFound)(r)
      expect(error).toBeInstanceOf(NoteNotFound)
      expect(error.id).toBe(42)

      // Or branch on the status, as an API client would.
      const outcome = yield* HttpClientResponse.matchStatus(r, {
        200: () => Effect.succeed("found"),
        404: () => Effect.succeed("missing"),
        orElse: () => Effect.succeed("unexpected")
      })
      expect(outcome).toBe("missing")

      // filterStatusOk turns it into the platform's HttpClientError.
      const notOk = yield* Effect.flip(HttpClientResponse.filterStatusOk(r))
      expect(notOk).toMatchObject({ _tag: "HttpClientError", reason: { _tag: "StatusCodeError" } })
    }).pipe(Effect.provide(TestApp))
  )

  // Raw on purpose: the typed client validates the payload before sending it, so it cannot
  // send what the server must reject.
  it.effect("rejects an invalid payload with 400 and says which field is wrong", () =>
    Effect.gen(function* () {
      const client = yield* NotesClient
      const refused = yield* Effect.flip(client.notes.create({ payload: { title: "   ", body: "x", tags: [] } }))
      expect(refused._tag).toBe("SchemaError")
      // Never sent: the app's server saw no request.
      expect(yield* statusesOf("POST")).toEqual([])

      // The app answers a request that fails decoding with a problem naming each bad value
      // (HttpApiMiddleware.layerProblemDetails({ includeDetails: true })).
      const blankTitle = yield* TestClient.post("/notes", { json: { title: "   ", body: "x" } })
      expect(blankTitle.status).toBe(400)
      const error = yield* HttpClientResponse.schemaBodyJson(HttpApiError.BadRequestProblem)(blankTitle)
      expect(error.errors?.map((issue) => issue.path)).toEqual([["payload", "title"]])

      const badTag = yield* TestClient.post("/notes", { json: { title: "Tagged", body: "x", tags: ["Not A Tag"] } })
      expect(badTag.status).toBe(400)
      const tagError = yield* HttpClientResponse.schemaBodyJson(HttpApiError.BadRequestProblem)(badTag)
      expect(tagError.errors?.map((issue) => issue.path)).toContainEqual(["payload", "tags", 0])

      // Nothing was stored.
      expect(yield* client.notes.list({ query: {} })).toEqual([])
    }).pipe(Effect.provide(TestApp))
  )

  // Raw on purpose: neither can be expressed with the typed client.
  it.effect("rejects a body that is not JSON and an id that is not a number", () =>
    Effect.gen(function* () {
      const notJson = yield* TestClient.post("/notes", {
        body: "{ title: oops",
        headers: { "content-type": "application/json" }
      })
      expect(notJson.status).toBe(400)

      const badId = yield* TestClient.get("/notes/first")
      expect(badId.status).toBe(400)
      const problem = yield* HttpClientResponse.schemaBodyJson(HttpApiError.BadRequestProblem)(badId)
      expect(problem.errors?.map((issue) => issue.path)).toEqual([["params", "id"]])
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("updates a note and bumps updatedAt (time is the TestClock's)", () =>
    Effect.gen(function* () {
      const client = yield* NotesClient
      const note = yield* createNote({ title: "Draft", body: "tbd" })
      expect(DateTime.toEpochMillis(note.createdAt)).toBe(0)

      yield* TestClock.adjust("1 hour")
      const [updated, response] = yield* client.notes.update({
        params: { id: note.id },
        payload: { body: "done", tags: ["work"] },
        responseMode: "decoded-and-response"
      })
      expect(response.status).toBe(200)
      expect(updated).toMatchObject({ id: note.id, title: "Draft", body: "done", tags: ["work"] })
      expect(DateTime.toEpochMillis(updated.updatedAt)).toBe(60 * 60 * 1000)
      expect(updated.createdAt).toEqual(note.createdAt)

      // The typed client decodes NoteNotFound only from the status the Api declares for it.
      const missing = yield* Effect.flip(
        client.notes.update({ params: { id: NoteId.make(999) }, payload: { body: "x" } })
      )
      expect(missing._tag).toBe("NoteNotFound")
      expect((yield* statusesOf("PATCH")).at(-1)).toBe(404)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("deletes a note with 204, then it is gone", () =>
    Effect.gen(function* () {
      const client = yield* NotesClient
      const note = yield* createNote({ title: "Temporary", body: "" })

      // `remove` declares no success schema: the typed call returns void, the response says 204.
      const [, deleted] = yield* client.notes.remove({ params: { id: note.id }, responseMode: "decoded-and-response" })
      expect(deleted.status).toBe(204)
      expect((yield* deleted.arrayBuffer).byteLength).toBe(0)

      expect((yield* Effect.flip(client.notes.get({ params: { id: note.id } })))._tag).toBe("NoteNotFound")
      expect((yield* Effect.flip(client.notes.remove({ params: { id: note.id } })))._tag).toBe("NoteNotFound")
      // Both on the wire as 404s.
      expect((yield* statusesOf("GET")).at(-1)).toBe(404)
      expect(yield* statusesOf("DELETE")).toEqual([204, 404])
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("filters the list with query params", () =>
    Effect.gen(function* () {
      yield* createNote({ title: "Standup", body: "daily at 10", tags: ["work"] })
      yield* createNote({ title: "Dentist", body: "tuesday", tags: ["home"] })
      yield* createNote({ title: "Retro", body: "friday, bring snacks", tags: ["work", "team"] })

      expect(yield* listTitles({})).toEqual(["Standup", "Dentist", "Retro"])
      expect(yield* listTitles({ tag: "work" })).toEqual(["Standup", "Retro"])
      expect(yield* listTitles({ tag: "work", limit: 1 })).toEqual(["Standup"])
      expect(yield* listTitles({ q: "FRIDAY" })).toEqual(["Retro"])
    }).pipe(Effect.provide(TestApp))
  )

  // Raw on purpose: a query already in the URL, a limit the typed client would refuse to
  // encode, and HEAD are HTTP-level details the typed client does not expose.
  it.effect("the list over raw HTTP: a query in the URL, an out-of-range limit, HEAD", () =>
    Effect.gen(function* () {
      yield* createNote({ title: "Standup", body: "daily at 10", tags: ["work"] })
      yield* createNote({ title: "Retro", body: "friday, bring snacks", tags: ["work", "team"] })

      // params are appended to a query already in the URL.
      const both = yield* TestClient.get("/notes?tag=work", { params: { q: "daily" } })
      expect((yield* HttpClientResponse.schemaBodyJson(Notes)(both)).map((note) => note.title)).toEqual(["Standup"])

      const badLimit = yield* TestClient.get("/notes", { params: { limit: 0 } })
      expect(badLimit.status).toBe(400)

      // HEAD answers like GET, without the body.
      const full = yield* TestClient.get("/notes")
      const head = yield* TestClient.head("/notes")
      expect(head.status).toBe(200)
      expect(head.body.length).toBe(0)
      expect(head.headers["content-length"]).toBe(String(full.body.length))
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("concurrent creates each get their own id", () =>
    Effect.gen(function* () {
      const client = yield* NotesClient
      const notes = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => `note ${i}`),
        (title) => client.notes.create({ payload: { title, body: "", tags: [] } }),
        { concurrency: "unbounded" }
      )
      expect(new Set(notes.map((note) => note.id)).size).toBe(20)
      expect(yield* client.notes.list({ query: {} })).toHaveLength(20)
    }).pipe(Effect.provide(TestApp))
  )

  // The services provided beside the app (provideMerge) are the ones the app runs with.
  it.effect("the app's services are reachable from the test", () =>
    Effect.gen(function* () {
      // Seed through the repository, observe through HTTP.
      const repo = yield* NotesRepo
      yield* repo.create({ title: "Seeded", body: "directly", tags: [] })
      expect(yield* listTitles({})).toEqual(["Seeded"])
    }).pipe(Effect.provide(TestClient.layerServer(HttpLive).pipe(Layer.provideMerge(ServicesLive))))
  )

  // Raw on purpose: the kit's client reports the app's defect with its Cause.
  it.effect("a broken repository surfaces as ServerError with its cause, not as a bare 500", () =>
    Effect.gen(function* () {
      // The bootstrap serves with its request logger, as production does; the test still
      // sees the defect itself.
      const error = yield* Effect.flip(TestClient.get("/notes"))
      expect(error._tag).toBe("ServerError")
      if (error._tag !== "ServerError") return
      expect(error.status).toBe(500)
      expect(Cause.pretty(error.cause)).toContain("database is down")

      // Why this test uses the raw client: the typed client sees what a client on a socket
      // sees, a 500, which it fails on without the cause.
      const client = yield* NotesClient
      const typed = yield* Effect.flip(client.notes.list({ query: {} }))
      expect(typed._tag).toBe("HttpClientError")
      expect(yield* statusesOf("GET")).toEqual([500, 500])
    }).pipe(
      Effect.provide(
        TestClient.layerServer(HttpLive.pipe(Layer.provide(Layer.succeed(NotesRepo)(brokenRepo)))).pipe(
          Layer.provideMerge(ServicesLive)
        )
      )
    )
  )
})

/** A repository whose every call dies, as a driver does when its database is gone. */
const down = Effect.die(new Error("database is down"))
const brokenRepo = NotesRepo.of({
  list: () => down,
  stream: () => Stream.die(new Error("database is down")),
  findById: () => down,
  create: () => down,
  update: () => down,
  remove: () => down
})

// One app shared by every test in the block: built once, closed after the last test.
// State carries over from test to test, so these tests are written as one story and
// rely on vitest running them in order (the default within a file).
it.layer(TestApp)("notes API, one app for the whole block", (it) => {
  it.effect("starts empty and creates the first note", () =>
    Effect.gen(function* () {
      const note = yield* createNote({ title: "First", body: "one" })
      expect(note.id).toBe(1)
    })
  )

  it.effect("still has the note from the previous test, and ids keep counting", () =>
    Effect.gen(function* () {
      const second = yield* createNote({ title: "Second", body: "two" })
      expect(second.id).toBe(2)
      expect(yield* listTitles({})).toEqual(["First", "Second"])
    })
  )
})
