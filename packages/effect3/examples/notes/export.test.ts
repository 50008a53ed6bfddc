import { HttpClientResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Schema, Stream } from "effect"
import { TestClient, TestStream } from "effect-http-testkit"
import { Note } from "./Api.js"
import { ServerLive } from "./Server.js"

const TestApp = TestClient.layerServer(ServerLive)

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
  it.scoped("streams one note per line, decoded with the Note schema as it arrives", () =>
    Effect.gen(function* () {
      const notes = yield* seed

      const r = yield* TestClient.stream("GET", "/notes/export")
      expect(r.status).toBe(200)
      expect(r.headers["content-type"]).toBe("application/x-ndjson")
      expect(r.headers["content-disposition"]).toBe('attachment; filename="notes.ndjson"')

      // The export ends on its own, so the stream can be read to the end.
      const exported = yield* r.stream.pipe(TestStream.ndjsonSchema(Note), Stream.runCollect)
      expect(Chunk.toReadonlyArray(exported)).toEqual(notes)
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("the buffered client reads the same body: split it yourself", () =>
    Effect.gen(function* () {
      const notes = yield* seed

      const r = yield* TestClient.get("/notes/export")
      expect(r.status).toBe(200)
      // A streamed body has no length: it is sent chunked.
      expect(r.headers["content-length"]).toBeUndefined()
      expect(r.headers["transfer-encoding"]).toBe("chunked")

      const text = yield* r.text
      expect(text.endsWith("\n")).toBe(true)
      const lines = text.split("\n").filter((line) => line !== "")
      expect(lines).toHaveLength(3)
      const decoded = yield* Effect.forEach(lines, (line) => Schema.decode(Schema.parseJson(Note))(line))
      expect(decoded).toEqual(notes)
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("takes the list filters: ?tag=, ?q=, ?limit=", () =>
    Effect.gen(function* () {
      yield* seed
      const titles = (params: Record<string, string>) =>
        Effect.flatMap(TestClient.stream("GET", "/notes/export", { params }), (r) =>
          r.stream.pipe(
            TestStream.ndjsonSchema(Note),
            Stream.map((note) => note.title),
            Stream.runCollect,
            Effect.map(Chunk.toReadonlyArray)
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

  it.scoped("an empty store exports an empty body", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.stream("GET", "/notes/export")
      expect(r.status).toBe(200)
      expect(yield* r.text).toBe("")
    }).pipe(Effect.provide(TestApp))
  )

  // KNOWN LIBRARY BUG (fails): the export goes out as one Stream chunk of 30 lines, and the
  // in-process server drops the lines that do not fit the client's 16-chunk buffer (all but
  // the first 16 and the last). The buffered client above is not affected, nor is Node.
  it.scoped("a large export arrives whole when streamed, as it does buffered", () =>
    Effect.gen(function* () {
      yield* Effect.forEach(
        Array.from({ length: 30 }, (_, i) => `note ${i + 1}`),
        (title) => createNote(title)
      )

      const buffered = yield* TestClient.get("/notes/export").pipe(Effect.flatMap((r) => r.text))
      expect(buffered.split("\n").filter((line) => line !== "")).toHaveLength(30)

      const r = yield* TestClient.stream("GET", "/notes/export")
      const ids = yield* r.stream.pipe(
        TestStream.ndjsonSchema(Note),
        Stream.map((note) => note.id),
        Stream.runCollect
      )
      expect(Chunk.toReadonlyArray(ids)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
    }).pipe(Effect.provide(TestApp))
  )
})
