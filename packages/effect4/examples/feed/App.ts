/**
 * A chat room with a live feed, as a user writes one with Effect 4: messages are posted as
 * JSON and pushed to every open `text/event-stream` subscription as Server-Sent Events.
 */
import { Context, Effect, Layer, PubSub, Ref, Schema, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"

export const Message = Schema.Struct({ id: Schema.Number, author: Schema.String, text: Schema.String })
export type Message = typeof Message.Type

export class Room extends Context.Service<
  Room,
  {
    readonly post: (author: string, text: string) => Effect.Effect<Message>
    readonly messages: PubSub.PubSub<Message>
  }
>()("examples/Room") {
  static readonly layer = Layer.effect(Room)(
    Effect.gen(function* () {
      const messages = yield* PubSub.unbounded<Message>()
      const count = yield* Ref.make(0)
      return {
        messages,
        post: (author: string, text: string) =>
          Effect.tap(
            Ref.updateAndGet(count, (n) => n + 1).pipe(Effect.map((id) => ({ id, author, text }))),
            (message) => PubSub.publish(messages, message)
          )
      }
    })
  )
}

const encoder = new TextEncoder()

/** One message as an event-stream frame. */
const frame = (message: Message): Uint8Array =>
  encoder.encode(`id: ${message.id}\nevent: message\ndata: ${JSON.stringify(message)}\n\n`)

export const Routes = HttpRouter.use((router) =>
  Effect.gen(function* () {
    const room = yield* Room
    yield* router.add("POST", "/messages", () =>
      Effect.gen(function* () {
        const { author, text } = yield* HttpServerRequest.schemaBodyJson(
          Schema.Struct({ author: Schema.String, text: Schema.String })
        )
        return HttpServerResponse.jsonUnsafe(yield* room.post(author, text), { status: 201 })
      })
    )
    yield* router.add(
      "GET",
      "/messages/events",
      HttpServerResponse.stream(
        // Subscribed before the first byte; the opening comment sends the headers at once, as
        // event-stream servers do, so a client knows it is subscribed.
        Stream.unwrap(
          Effect.map(PubSub.subscribe(room.messages), (subscription) =>
            Stream.concat(
              Stream.succeed(encoder.encode(": connected\n\n")),
              Stream.fromSubscription(subscription).pipe(Stream.map(frame))
            )
          )
        ),
        { contentType: "text/event-stream", headers: { "cache-control": "no-cache" } }
      )
    )
  })
).pipe(Layer.provide(Room.layer))
