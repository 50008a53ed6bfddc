/**
 * A chat room per note: everyone connected to `/notes/:id/chat` sees what the others say.
 * A WebSocket route on the app's own router, using the request's `upgrade`.
 */
import { Context, Effect, Layer, PubSub, Ref, Schema, Stream } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"

/** What the room broadcasts: a line of chat, or someone arriving or leaving. */
export const ChatEvent = Schema.Union([
  Schema.Struct({ type: Schema.Literals(["joined", "left"]), user: Schema.String }),
  Schema.Struct({ type: Schema.Literal("said"), user: Schema.String, text: Schema.String })
])
export type ChatEvent = typeof ChatEvent.Type

/** One PubSub per room, created on first use. */
export class ChatRooms extends Context.Service<
  ChatRooms,
  { readonly room: (id: string) => Effect.Effect<PubSub.PubSub<ChatEvent>> }
>()("notes/ChatRooms") {}

export const ChatRoomsLive = Layer.effect(ChatRooms)(
  Effect.map(Ref.make(new Map<string, PubSub.PubSub<ChatEvent>>()), (rooms) =>
    ChatRooms.of({
      room: (id) =>
        Effect.flatMap(Ref.get(rooms), (all) => {
          const existing = all.get(id)
          if (existing !== undefined) return Effect.succeed(existing)
          return Effect.tap(PubSub.unbounded<ChatEvent>(), (created) =>
            Ref.update(rooms, (current) => new Map(current).set(id, created))
          )
        })
    })
  )
)

const encode = Schema.encodeSync(Schema.fromJsonString(ChatEvent))

/** `GET /notes/:id/chat` (a WebSocket), next to the HttpApi routes. */
export const ChatRoutes = HttpRouter.use((router) =>
  Effect.gen(function* () {
    const rooms = yield* ChatRooms
    yield* router.add("GET", "/notes/:id/chat", (request) =>
      Effect.gen(function* () {
        const { id } = yield* HttpRouter.params
        const user = new URL(request.url, "http://x").searchParams.get("user") ?? "anonymous"
        const room = yield* rooms.room(id!)
        const socket = yield* request.upgrade
        const { write } = yield* socket.writer
        // Subscribe before announcing, so the newcomer sees their own arrival and everything after.
        const inbox = yield* PubSub.subscribe(room)
        yield* Effect.forkScoped(
          Stream.fromSubscription(inbox).pipe(Stream.runForEach((event) => write(encode(event))))
        )
        // Acquiring the reader answers the handshake.
        const { pull } = yield* socket.reader
        yield* PubSub.publish(room, { type: "joined", user })
        yield* Effect.forever(
          Effect.flatMap(pull, (frames) =>
            Effect.forEach(
              frames,
              (data) =>
                PubSub.publish(room, { type: "said", user, text: typeof data === "string" ? data : "(binary)" }),
              { discard: true }
            )
          )
        ).pipe(
          // However the connection ends (the client closing it included), the room hears that this user left.
          Effect.ignore,
          Effect.ensuring(PubSub.publish(room, { type: "left", user }))
        )
        return HttpServerResponse.empty()
      })
    )
  })
)
