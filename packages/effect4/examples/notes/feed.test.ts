import { describe, expect, it } from "@effect/vitest"
import { TestClient, TestStream } from "@effect-http-testkit/effect4"
import { Effect, Layer, Schema, Stream } from "effect"
import { HttpClientResponse } from "effect/http"
import { Note } from "./Api.js"
import { NotesEvents } from "./Events.js"
import { NotesRepo } from "./Notes.js"
import { HttpLive, ServerLive, ServicesLive } from "./Server.js"

const TestApp = TestClient.layerServer(ServerLive)
// The same app with its services provided beside it, so the test can look at NotesEvents.
const TestAppWithServices = TestClient.layerServer(HttpLive).pipe(Layer.provideMerge(ServicesLive))

/** An event's `data`: a note as JSON (dates as ISO strings, the Api's JSON form). */
const NoteFromJson = Schema.fromJsonString(Schema.toCodecJson(Note))
const decodeNote = Schema.decodeUnknownEffect(NoteFromJson)

const createNote = (title: string, tags: ReadonlyArray<string> = []) =>
  TestClient.post("/notes", { json: { title, body: "", tags } }).pipe(
    Effect.flatMap(HttpClientResponse.schemaBodyJson(Note))
  )

/** The notes a feed carries: `note-created` events, decoded. */
const notesOf = <E, R>(events: Stream.Stream<TestStream.SseEvent, E, R>) =>
  events.pipe(
    Stream.filter((event) => event.event === "note-created"),
    Stream.mapEffect((event) => decodeNote(event.data ?? ""))
  )

/** The first element of a stream; the stream stops being read after it. */
const first = <A, E, R>(stream: Stream.Stream<A, E, R>) =>
  Effect.flatMap(Stream.runHead(stream), (head) => Effect.fromOption(head))

describe("GET /notes/feed (Server-Sent Events)", () => {
  it.effect("sends the existing notes, then each note created while the client listens", () =>
    Effect.gen(function* () {
      const before = yield* createNote("Written before")

      const r = yield* TestClient.stream("GET", "/notes/feed")
      expect(r.status).toBe(200)
      expect(r.headers["content-type"]).toBe("text/event-stream")
      expect(r.headers["cache-control"]).toBe("no-cache")

      // The feed is open (the headers are here) and never ends: create notes while it runs.
      const during1 = yield* createNote("Written during", ["live"])
      const during2 = yield* createNote("Written during, too")

      const events = yield* r.events.pipe(Stream.take(3), Stream.runCollect)
      expect(events.map(({ event, id }) => ({ event, id }))).toEqual([
        { event: "note-created", id: "1" },
        { event: "note-created", id: "2" },
        { event: "note-created", id: "3" }
      ])
      const notes = yield* Effect.forEach(events, (event) => decodeNote(event.data ?? ""))
      expect(notes).toEqual([before, during1, during2])
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("Stream operators pick out what the test cares about", () =>
    Effect.gen(function* () {
      const r = yield* TestClient.stream("GET", "/notes/feed")
      yield* createNote("Standup", ["work"])
      yield* createNote("Dentist", ["home"])
      yield* createNote("Retro", ["work"])

      const workTitles = yield* notesOf(r.events).pipe(
        Stream.filter((note) => note.tags.includes("work")),
        Stream.map((note) => note.title),
        Stream.take(2),
        Stream.runCollect
      )
      expect(workTitles).toEqual(["Standup", "Retro"])
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("opens with a keep-alive comment, which the SSE parser skips", () =>
    Effect.gen(function* () {
      yield* createNote("Hello")
      const r = yield* TestClient.stream("GET", "/notes/feed")

      // The raw wire: a comment frame, then the first event's lines.
      const lines = yield* r.stream.pipe(TestStream.lines, Stream.take(5), Stream.runCollect)
      const [comment, blank, event, id, data] = lines
      expect([comment, blank, event, id]).toEqual([": keep-alive", "", "event: note-created", "id: 1"])
      expect(data).toMatch(/^data: \{"id":1,"title":"Hello",/)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("every open feed gets each new note", () =>
    Effect.gen(function* () {
      const a = yield* TestClient.stream("GET", "/notes/feed")
      const b = yield* TestClient.stream("GET", "/notes/feed")
      const note = yield* createNote("Broadcast")

      const [fromA, fromB] = yield* Effect.all(
        [a, b].map((r) => first(notesOf(r.events))),
        { concurrency: "unbounded" }
      )
      expect(fromA).toEqual(note)
      expect(fromB).toEqual(note)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a reconnecting client resumes after its Last-Event-ID", () =>
    Effect.gen(function* () {
      yield* createNote("one")
      yield* createNote("two")
      yield* createNote("three")

      // What EventSource sends when it reconnects after event "2".
      const r = yield* TestClient.stream("GET", "/notes/feed", { headers: { "last-event-id": "2" } })
      const head = yield* first(r.events)
      expect(head.id).toBe("3")

      const bad = yield* TestClient.get("/notes/feed", { headers: { "last-event-id": "yesterday" } })
      expect(bad.status).toBe(400)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("leaving the scope disconnects the handler and ends its subscription", () =>
    Effect.gen(function* () {
      const events = yield* NotesEvents
      expect(yield* events.subscribers).toBe(0)

      const seen = yield* Effect.scoped(
        Effect.gen(function* () {
          const r = yield* TestClient.stream("GET", "/notes/feed")
          // The handler subscribes before it sends the headers.
          expect(yield* events.subscribers).toBe(1)
          yield* createNote("Seen")
          return yield* first(notesOf(r.events))
        })
      )
      expect(seen.title).toBe("Seen")

      // The scope closed: the client disconnected and the handler was interrupted, so its
      // request scope (and the subscription in it) is closed by now.
      expect(yield* events.subscribers).toBe(0)
      // Nothing is left holding notes for a reader who is gone.
      expect((yield* createNote("Unseen")).id).toBe(2)
      expect(yield* events.subscribers).toBe(0)
    }).pipe(Effect.provide(TestAppWithServices))
  )

  it.effect("a note created while the feed opens is sent exactly once", () =>
    Effect.gen(function* () {
      // Race creates against opening the feed: each note lands in the snapshot or in the
      // live part, and one that lands in both must still be sent once.
      const [r] = yield* Effect.all(
        [
          TestClient.stream("GET", "/notes/feed"),
          Effect.forEach(
            Array.from({ length: 10 }, (_, i) => `race ${i}`),
            (title) => createNote(title),
            { concurrency: "unbounded" }
          )
        ],
        { concurrency: "unbounded" }
      )
      // A marker created after everything else: every note before it has been sent by then.
      yield* createNote("last")

      const ids = yield* notesOf(r.events).pipe(
        Stream.takeUntil((note) => note.title === "last"),
        Stream.map((note) => note.id),
        Stream.runCollect
      )
      const sorted = [...ids].sort((x, y) => x - y)
      expect(sorted).toEqual(Array.from({ length: 11 }, (_, i) => i + 1))
    }).pipe(Effect.provide(TestApp))
  )

  // The snapshot goes out as one Stream chunk of 40 frames, more than a client reads at once:
  // the handler waits for the test to read (backpressure), and every frame arrives, as from
  // Node.
  it.effect("a snapshot bigger than the client's read buffer arrives whole", () =>
    Effect.gen(function* () {
      const repo = yield* NotesRepo
      yield* Effect.forEach(
        Array.from({ length: 40 }, (_, i) => `seeded ${i + 1}`),
        (title) => repo.create({ title, body: "", tags: [] })
      )

      const r = yield* TestClient.stream("GET", "/notes/feed")
      // A live note after the snapshot ends the read, lost frames or not (the feed is endless).
      const marker = yield* createNote("marker")
      const ids = yield* notesOf(r.events).pipe(
        Stream.map((note) => note.id),
        Stream.takeUntil((id) => id === marker.id),
        Stream.runCollect
      )
      expect(ids).toEqual(Array.from({ length: 41 }, (_, i) => i + 1))
    }).pipe(Effect.provide(TestAppWithServices))
  )

  it.effect("is a plain route next to the HttpApi: /notes/feed is not read as /notes/:id", () =>
    Effect.gen(function* () {
      const note = yield* createNote("By id")
      expect((yield* TestClient.get(`/notes/${note.id}`)).status).toBe(200)
      // A static path wins over `/notes/:id`, whatever the mounting order.
      const feed = yield* TestClient.stream("GET", "/notes/feed")
      expect(feed.status).toBe(200)
      expect(feed.headers["content-type"]).toBe("text/event-stream")
    }).pipe(Effect.provide(TestApp))
  )
})
