/**
 * The production bootstrap: every app layer wired up, waiting only for an `HttpServer`
 * (Node's in `main.ts`, the testkit's in-process one in tests).
 */
import { HttpApiBuilder, HttpMiddleware, HttpServer } from "@effect/platform"
import { Layer } from "effect"
import * as TaskQueue from "effect-http-testkit/TaskQueue"
import { type Account, layerAccounts } from "./Accounts.js"
import { Api } from "./Api.js"
import { ChatRoomsLive, ChatRoutesLive } from "./Chat.js"
import { NotesEventsLive } from "./Events.js"
import { AuthRoutesLive, NotesLive, NotesStreamRoutesLive } from "./Http.js"
import { NotesRepoInMemory } from "./Notes.js"
import { NotifierInMemory, ShareRoutesLive } from "./Share.js"

export const demoAccounts: ReadonlyArray<Account> = [
  { username: "alice", displayName: "Alice Liddell", password: "wonderland" }
]

/** The app's own services. */
export const ServicesLive = Layer.mergeAll(
  NotesRepoInMemory.pipe(Layer.provideMerge(NotesEventsLive)),
  layerAccounts(demoAccounts),
  NotifierInMemory,
  ChatRoomsLive,
  TaskQueue.layer
)

export const ApiLive = HttpApiBuilder.api(Api).pipe(Layer.provide(NotesLive))

/** The HTTP server for the app, still needing its services. */
export const HttpLive = HttpApiBuilder.serve(HttpMiddleware.logger).pipe(
  Layer.provide(AuthRoutesLive),
  Layer.provide(NotesStreamRoutesLive),
  Layer.provide(ShareRoutesLive),
  Layer.provide(ChatRoutesLive),
  Layer.provide(ApiLive),
  HttpServer.withLogAddress
)

export const ServerLive = HttpLive.pipe(Layer.provide(ServicesLive))
