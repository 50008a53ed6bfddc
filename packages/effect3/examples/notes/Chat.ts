/**
 * A chat room per note: everyone connected to `/notes/:id/chat` sees what the others say.
 * A WebSocket route on the app's own router, using platform's `request.upgrade`.
 */
import { HttpApiBuilder, HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Context, Effect, Layer, PubSub, Ref, Schema, Stream } from "effect"

/** What the room broadcasts: a line of chat, or someone arriving or leaving. */
export const ChatEvent = Schema.Union(
  Schema.Struct({ type: Schema.Literal("joined", "left"), user: Schema.String }),
  Schema.Struct({ type: Schema.Literal("said"), user: Schema.String, text: Schema.String })
)
export type ChatEvent = typeof ChatEvent.Type

/** One PubSub per room, created on first use. */
export class ChatRooms extends Context.Tag("notes/ChatRooms")<
  ChatRooms,
  { readonly room: (id: string) => Effect.Effect<PubSub.PubSub<ChatEvent>> }
>() {}

export const ChatRoomsLive = Layer.effect(
  ChatRooms,
  Effect.map(Ref.make(new Map<string, PubSub.PubSub<ChatEvent>>()), (rooms) => ({
    room: (id: string) =>
      Effect.flatMap(Ref.get(rooms), (all) => {
        const existing = all.get(id)
        if (existing !== undefined) return Effect.succeed(existing)
        return Effect.tap(PubSub.unbounded<ChatEvent>(), (created) =>
          Ref.update(rooms, (current) => new Map(current).set(id, created))
        )
      })
  }))
)

const encode = Schema.encodeSync(Schema.parseJson(ChatEvent))

const chat = (rooms: ChatRooms["Type"]) =>
  Effect.gen(function* () {
    const { id } = yield* HttpRouter.params
    const request = yield* HttpServerRequest.HttpServerRequest
    const user = new URL(request.url, "http://x").searchParams.get("user") ?? "anonymous"
    const room = yield* rooms.room(id!)
    const socket = yield* request.upgrade
    const write = yield* socket.writer
    // Subscribe before announcing, so the newcomer sees their own arrival and everything after.
    const inbox = yield* PubSub.subscribe(room)
    yield* Effect.forkScoped(Stream.fromQueue(inbox).pipe(Stream.runForEach((event) => write(encode(event)))))
    yield* socket
      .runRaw(
        (data) => PubSub.publish(room, { type: "said", user, text: typeof data === "string" ? data : "(binary)" }),
        { onOpen: Effect.asVoid(PubSub.publish(room, { type: "joined", user })) }
      )
      .pipe(Effect.ignore, Effect.ensuring(PubSub.publish(room, { type: "left", user })))
    return HttpServerResponse.empty()
  })

/** Mounts `GET /notes/:id/chat` (a WebSocket) next to the HttpApi routes. */
export const ChatRoutesLive = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    yield* router.get("/notes/:id/chat", chat(yield* ChatRooms))
  })
)
