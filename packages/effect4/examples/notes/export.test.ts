import { describe, expect, it } from "@effect/vitest"
import { TestClient, TestRequest, TestStream } from "@effect-http-testkit/effect4"
import { Effect, Layer, Schema, Stream } from "effect"
import { HttpClientResponse, type HttpServerResponse } from "effect/http"
import { Note } from "./Api.js"
import { NotesEventsLive } from "./Events.js"
import { exportNotes } from "./Http.js"
import { NotesRepo, NotesRepoInMemory } from "./Notes.js"
import { ServerLive } from "./Server.js"

const TestApp = TestClient.layerServer(ServerLive)

// A line of the export is a Note as JSON: its dates are ISO strings. `Schema.toCodecJson(Note)`
// decodes that form, as `HttpClientResponse.schemaBodyJson(Note)` does for a whole body
// (`TestStream.ndjsonSchema` decodes each value with the schema it is given, as Effect's own
// `Ndjson.decodeSchema` does).
const NoteJson = Schema.toCodecJson(Note)

const createNote = (title: string, tags: ReadonlyArray<string> = []) =>
  TestClient.post("/notes", { json: { title, body: `about ${title}`, tags } }).pipe(
    Effect.flatMap(HttpClientResponse.schemaBodyJson(Note))
  )

const seed = Effect.forEach(
  [
    ["Standup", ["work"]],
    ["Dentist", ["home"]],
    ["Retro", ["work", "team"]]
  ] as const,
  ([title, tags]) => createNote(title, tags)
)

describe("GET /notes/export (NDJSON)", () => {
  it.effect("streams one note per line, decoded with the Note schema as it arrives", () =>
    Effect.gen(function* () {
      const notes = yield* seed

      const r = yield* TestClient.stream("GET", "/notes/export")
      expect(r.status).toBe(200)
      expect(r.headers["content-type"]).toBe("application/x-ndjson")
      expect(r.headers["content-disposition"]).toBe('attachment; filename="notes.ndjson"')

      // The export ends on its own, so the stream can be read to the end.
      const exported = yield* r.stream.pipe(TestStream.ndjsonSchema(NoteJson), Stream.runCollect)
      expect(exported).toEqual(notes)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("the buffered client reads the same body: split it yourself", () =>
    Effect.gen(function* () {
      const notes = yield* seed

      const r = yield* TestClient.get("/notes/export")
      expect(r.status).toBe(200)
      // A streamed body has no length (its framing is the next test's business).
      expect(r.headers["content-length"]).toBeUndefined()

      const text = yield* r.text
      expect(text.endsWith("\n")).toBe(true)
      const lines = text.split("\n").filter((line) => line !== "")
      expect(lines).toHaveLength(3)
      const decoded = yield* Effect.forEach(lines, (line) =>
        Schema.decodeUnknownEffect(Schema.fromJsonString(NoteJson))(line)
      )
      expect(decoded).toEqual(notes)
    }).pipe(Effect.provide(TestApp))
  )

  // KNOWN KIT BUG (fails): Node sends a body of unknown length with `Transfer-Encoding:
  // chunked`, and a Node client shows that header. TestClient.stream shows it; the buffered
  // TestClient.get of the same route shows no framing header at all (neither
  // transfer-encoding nor content-length). The Effect 3 edition's buffered client shows it.
  it.effect("a streamed body is framed chunked, read buffered as when read streamed", () =>
    Effect.gen(function* () {
      yield* seed

      const streamed = yield* TestClient.stream("GET", "/notes/export")
      expect(streamed.headers["content-length"]).toBeUndefined()
      expect(streamed.headers["transfer-encoding"]).toBe("chunked")
      yield* streamed.text

      const buffered = yield* TestClient.get("/notes/export")
      expect(buffered.headers["content-length"]).toBeUndefined()
      expect(buffered.headers["transfer-encoding"]).toBe("chunked")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("takes the list filters: ?tag=, ?q=, ?limit=", () =>
    Effect.gen(function* () {
      yield* seed
      const titles = (params: Record<string, string>) =>
        Effect.flatMap(TestClient.stream("GET", "/notes/export", { params }), (r) =>
          r.stream.pipe(
            TestStream.ndjsonSchema(NoteJson),
            Stream.map((note) => note.title),
            Stream.runCollect
          )
        )

      expect(yield* titles({ tag: "work" })).toEqual(["Standup", "Retro"])
      expect(yield* titles({ tag: "work", limit: "1" })).toEqual(["Standup"])
      expect(yield* titles({ q: "dentist" })).toEqual(["Dentist"])
      expect(yield* titles({ tag: "garden" })).toEqual([])

      const bad = yield* TestClient.get("/notes/export", { params: { tag: "Not A Tag" } })
      expect(bad.status).toBe(400)
      expect(yield* bad.json).toEqual({ error: "BadRequest", message: "invalid export filter" })
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("an empty store exports an empty body", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.stream("GET", "/notes/export")
      expect(r.status).toBe(200)
      expect(yield* r.text).toBe("")
    }).pipe(Effect.provide(TestApp))
  )

  // The export goes out as one Stream chunk of 30 lines, more than a client reads at once:
  // every line arrives, streamed as buffered.
  it.effect("a large export arrives whole when streamed, as it does buffered", () =>
    Effect.gen(function* () {
      yield* Effect.forEach(
        Array.from({ length: 30 }, (_, i) => `note ${i + 1}`),
        (title) => createNote(title)
      )

      const buffered = yield* TestClient.get("/notes/export").pipe(Effect.flatMap((r) => r.text))
      expect(buffered.split("\n").filter((line) => line !== "")).toHaveLength(30)

      const r = yield* TestClient.stream("GET", "/notes/export")
      const ids = yield* r.stream.pipe(
        TestStream.ndjsonSchema(NoteJson),
        Stream.map((note) => note.id),
        Stream.runCollect
      )
      expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    }).pipe(Effect.provide(TestApp))
  )
})

// The handler on its own: `TestRequest.run` gives it the request `GET /notes/export?...` (its
// search params parsed as the router parses them) with no router, server or HTTP in between,
// and hands back its HttpServerResponse. Only the repository is provided.
describe("the export handler alone (TestRequest)", () => {
  const Repo = NotesRepoInMemory.pipe(Layer.provide(NotesEventsLive))

  const titlesOf = (response: HttpServerResponse.HttpServerResponse) =>
    Effect.map(TestRequest.bodyText(response), (text) =>
      text
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => (JSON.parse(line) as { title: string }).title)
    )

  it.effect("filters by the query and writes one note per line; a bad filter is a 400", () =>
    Effect.gen(function* () {
      const repo = yield* NotesRepo
      yield* repo.create({ title: "Standup", body: "daily", tags: ["work"] })
      yield* repo.create({ title: "Dentist", body: "at 3", tags: ["home"] })
      yield* repo.create({ title: "Retro", body: "sprint", tags: ["work", "team"] })
      const handler = exportNotes(repo)

      const work = yield* TestRequest.run(handler, "GET", "/notes/export", { params: { tag: "work" } })
      expect(work.status).toBe(200)
      expect(work.headers["content-disposition"]).toBe('attachment; filename="notes.ndjson"')
      expect(yield* titlesOf(work)).toEqual(["Standup", "Retro"])

      const first = yield* TestRequest.run(handler, "GET", "/notes/export?tag=work&limit=1")
      expect(yield* titlesOf(first)).toEqual(["Standup"])

      const bad = yield* TestRequest.run(handler, "GET", "/notes/export", { params: { limit: "0" } })
      expect(bad.status).toBe(400)
      expect(yield* TestRequest.bodyJson(bad)).toEqual({ error: "BadRequest", message: "invalid export filter" })
    }).pipe(Effect.provide(Repo))
  )
})
