/**
 * A small Effect 4 chat, as a user writes one: sign in with a form (a cookie names you), then
 * join a room over a WebSocket (`GET /rooms/:room/chat`). Everyone in a room sees, as JSON,
 * who joins, what is said and who leaves.
 */
import { Context, Effect, Layer, Option, PubSub, Ref, Schema, Stream } from "effect"
import { HttpRouter, HttpServerResponse, UrlParams } from "effect/http"

/** What a room broadcasts: someone arriving or leaving, or a line of chat. */
export const ChatEvent = Schema.Union([
  Schema.Struct({ type: Schema.Literals(["joined", "left"]), user: Schema.String }),
  Schema.Struct({ type: Schema.Literal("said"), user: Schema.String, text: Schema.String })
])
export type ChatEvent = typeof ChatEvent.Type

/** One PubSub per room, made on first use. */
export class Rooms extends Context.Service<
  Rooms,
  { readonly room: (name: string) => Effect.Effect<PubSub.PubSub<ChatEvent>> }
>()("examples/Rooms") {
  static readonly layer = Layer.effect(Rooms)(
    Effect.map(Ref.make(new Map<string, PubSub.PubSub<ChatEvent>>()), (rooms) => ({
      room: (name: string) =>
        Effect.flatMap(Ref.get(rooms), (all) => {
          const existing = all.get(name)
          if (existing !== undefined) return Effect.succeed(existing)
          return Effect.tap(PubSub.unbounded<ChatEvent>(), (created) =>
            Ref.update(rooms, (current) => new Map(current).set(name, created))
          )
        })
    }))
  )
}

const encode = Schema.encodeSync(Schema.fromJsonString(ChatEvent))

export const Routes = HttpRouter.use((router) =>
  Effect.gen(function* () {
    const rooms = yield* Rooms
    yield* router.add("POST", "/login", (request) =>
      Effect.map(request.urlParamsBody, (params) =>
        Option.match(UrlParams.getFirst(params, "user"), {
          onNone: () => HttpServerResponse.text("give a user name", { status: 400 }),
          onSome: (user) =>
            HttpServerResponse.empty({ status: 204 }).pipe(
              HttpServerResponse.setCookieUnsafe("user", user, { httpOnly: true, path: "/" })
            )
        })
      )
    )
    yield* router.add("GET", "/rooms/:room/chat", (request) =>
      Effect.gen(function* () {
        const user = request.cookies.user
        if (user === undefined) return HttpServerResponse.text("sign in first", { status: 401 })
        const { room: name } = yield* HttpRouter.params
        const room = yield* rooms.room(name!)
        const socket = yield* request.upgrade
        const { write } = yield* socket.writer
        // Subscribe before announcing, so the newcomer sees their own arrival and all after it.
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
          // The client closing ends the loop; whatever ends it, the room hears that this user left.
          Effect.catchReason("SocketError", "SocketCloseError", () => Effect.void),
          Effect.ensuring(PubSub.publish(room, { type: "left", user }))
        )
        return HttpServerResponse.empty()
      })
    )
  })
).pipe(Layer.provide(Rooms.layer))
