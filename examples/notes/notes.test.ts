import { HttpApiError, HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Cause, DateTime, Effect, Layer, Schema, Stream, TestClock } from "effect"
import { TestClient } from "effect-http-testkit"
import { Note, NoteNotFound } from "./Api.js"
import { NotesRepo } from "./Notes.js"
import { HttpLive, ServerLive, ServicesLive } from "./Server.js"

// The real bootstrap, minus the socket. Each `Effect.provide(TestApp)` builds a fresh app,
// so every test starts with no notes.
const TestApp = TestClient.layerServer(ServerLive)

const Notes = Schema.Array(Note)

const createNote = (note: { readonly title: string; readonly body: string; readonly tags?: ReadonlyArray<string> }) =>
  TestClient.post("/notes", { json: note }).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Note)))

describe("notes API", () => {
  it.scoped("creates a note and reads it back", () =>
    Effect.gen(function* () {
      const created = yield* TestClient.post("/notes", {
        json: { title: "Groceries", body: "milk, eggs", tags: ["home"] }
      })
      expect(created.status).toBe(201)
      expect(created.headers["content-type"]).toContain("application/json")
      const note = yield* HttpClientResponse.schemaBodyJson(Note)(created)
      expect(note).toMatchObject({ id: 1, title: "Groceries", body: "milk, eggs", tags: ["home"] })

      const fetched = yield* TestClient.get(`/notes/${note.id}`)
      expect(fetched.status).toBe(200)
      expect(yield* HttpClientResponse.schemaBodyJson(Note)(fetched)).toEqual(note)
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("answers 404 with a typed NoteNotFound body", () =>
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

      // filterStatusOk turns it into the platform's ResponseError.
      const notOk = yield* Effect.flip(HttpClientResponse.filterStatusOk(r))
      expect(notOk).toMatchObject({ _tag: "ResponseError", reason: "StatusCode" })
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("rejects an invalid payload with 400 and says which field is wrong", () =>
    Effect.gen(function* () {
      const blankTitle = yield* TestClient.post("/notes", { json: { title: "   ", body: "x" } })
      expect(blankTitle.status).toBe(400)
      const error = yield* HttpClientResponse.schemaBodyJson(HttpApiError.HttpApiDecodeError)(blankTitle)
      expect(error.issues.map((issue) => issue.path)).toEqual([["title"]])

      const badTag = yield* TestClient.post("/notes", { json: { title: "Tagged", body: "x", tags: ["Not A Tag"] } })
      expect(badTag.status).toBe(400)
      const tagError = yield* HttpClientResponse.schemaBodyJson(HttpApiError.HttpApiDecodeError)(badTag)
      expect(tagError.issues.map((issue) => issue.path)).toContainEqual(["tags", 0])

      // Nothing was stored.
      const list = yield* TestClient.get("/notes").pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Notes)))
      expect(list).toEqual([])
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("rejects a body that is not JSON and an id that is not a number", () =>
    Effect.gen(function* () {
      const notJson = yield* TestClient.post("/notes", {
        body: "{ title: oops",
        headers: { "content-type": "application/json" }
      })
      expect(notJson.status).toBe(400)

      const badId = yield* TestClient.get("/notes/first")
      expect(badId.status).toBe(400)
      expect(yield* badId.json).toMatchObject({ _tag: "HttpApiDecodeError" })
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("updates a note and bumps updatedAt (time is the TestClock's)", () =>
    Effect.gen(function* () {
      const note = yield* createNote({ title: "Draft", body: "tbd" })
      expect(DateTime.toEpochMillis(note.createdAt)).toBe(0)

      yield* TestClock.adjust("1 hour")
      const r = yield* TestClient.patch(`/notes/${note.id}`, { json: { body: "done", tags: ["work"] } })
      expect(r.status).toBe(200)
      const updated = yield* HttpClientResponse.schemaBodyJson(Note)(r)
      expect(updated).toMatchObject({ id: note.id, title: "Draft", body: "done", tags: ["work"] })
      expect(DateTime.toEpochMillis(updated.updatedAt)).toBe(60 * 60 * 1000)
      expect(updated.createdAt).toEqual(note.createdAt)

      const missing = yield* TestClient.patch("/notes/999", { json: { body: "x" } })
      expect(missing.status).toBe(404)
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("deletes a note with 204, then it is gone", () =>
    Effect.gen(function* () {
      const note = yield* createNote({ title: "Temporary", body: "" })

      const deleted = yield* TestClient.del(`/notes/${note.id}`)
      expect(deleted.status).toBe(204)
      expect(deleted.body.length).toBe(0)

      expect((yield* TestClient.get(`/notes/${note.id}`)).status).toBe(404)
      expect((yield* TestClient.del(`/notes/${note.id}`)).status).toBe(404)
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("filters the list with query params", () =>
    Effect.gen(function* () {
      yield* createNote({ title: "Standup", body: "daily at 10", tags: ["work"] })
      yield* createNote({ title: "Dentist", body: "tuesday", tags: ["home"] })
      yield* createNote({ title: "Retro", body: "friday, bring snacks", tags: ["work", "team"] })

      const list = (params: Record<string, string | number>) =>
        TestClient.get("/notes", { params }).pipe(
          Effect.flatMap(HttpClientResponse.schemaBodyJson(Notes)),
          Effect.map((notes) => notes.map((note) => note.title))
        )

      expect(yield* list({})).toEqual(["Standup", "Dentist", "Retro"])
      expect(yield* list({ tag: "work" })).toEqual(["Standup", "Retro"])
      expect(yield* list({ tag: "work", limit: 1 })).toEqual(["Standup"])
      expect(yield* list({ q: "FRIDAY" })).toEqual(["Retro"])

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

  it.scoped("concurrent creates each get their own id", () =>
    Effect.gen(function* () {
      const notes = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => `note ${i}`),
        (title) => createNote({ title, body: "" }),
        { concurrency: "unbounded" }
      )
      expect(new Set(notes.map((note) => note.id)).size).toBe(20)
      const list = yield* TestClient.get("/notes").pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Notes)))
      expect(list).toHaveLength(20)
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("layerServer keeps the bootstrap's services reachable from the test", () =>
    Effect.gen(function* () {
      // Seed through the repository, observe through HTTP.
      const repo = yield* NotesRepo
      yield* repo.create({ title: "Seeded", body: "directly", tags: [] })
      const list = yield* TestClient.get("/notes").pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Notes)))
      expect(list.map((note) => note.title)).toEqual(["Seeded"])
    }).pipe(Effect.provide(TestClient.layerServer(HttpLive.pipe(Layer.provideMerge(ServicesLive)))))
  )

  it.scoped("a broken repository surfaces as ServerError with its cause, not as a bare 500", () =>
    Effect.gen(function* () {
      // The bootstrap serves through HttpMiddleware.logger, as production does; the test
      // still sees the defect itself.
      const error = yield* Effect.flip(TestClient.get("/notes"))
      expect(error._tag).toBe("ServerError")
      if (error._tag !== "ServerError") return
      expect(error.status).toBe(500)
      expect(Cause.pretty(error.cause)).toContain("database is down")
    }).pipe(
      Effect.provide(
        TestClient.layerServer(
          HttpLive.pipe(Layer.provide(Layer.succeed(NotesRepo, brokenRepo)), Layer.provideMerge(ServicesLive))
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
      const list = yield* TestClient.get("/notes").pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Notes)))
      expect(list.map((note) => note.title)).toEqual(["First", "Second"])
    })
  )
})
