/**
 * The production bootstrap: every app layer wired up, waiting only for an `HttpServer`
 * (Node's in `main.ts`, the testkit's in-process one in tests).
 */
import * as TaskQueue from "@effect-http-testkit/effect4/TaskQueue"
import { Layer } from "effect"
import { HttpRouter } from "effect/http"
import { HttpApiBuilder, HttpApiMiddleware } from "effect/http-api"
import { type Account, layerAccounts } from "./Accounts.js"
import { Api } from "./Api.js"
import { ChatRoomsLive, ChatRoutes } from "./Chat.js"
import { NotesEventsLive } from "./Events.js"
import { AuthRoutes, NotesLive, NotesStreamRoutes } from "./Http.js"
import { NotesRepoInMemory } from "./Notes.js"
import { NotifierInMemory, ShareRoutes } from "./Share.js"

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

/** The notes API, answering a request that fails decoding with a problem that names each bad value. */
export const ApiLive = HttpApiBuilder.layer(Api).pipe(
  Layer.provide(NotesLive),
  Layer.provide(HttpApiMiddleware.layerProblemDetails({ includeDetails: true }))
)

/** Every route of the app: the HttpApi and the plain routes next to it. */
export const RoutesLive = Layer.mergeAll(ApiLive, AuthRoutes, NotesStreamRoutes, ShareRoutes, ChatRoutes)

/** The HTTP server for the app (with its request logger, as in production), still needing its services. */
export const HttpLive = HttpRouter.serve(RoutesLive)

export const ServerLive = HttpLive.pipe(Layer.provide(ServicesLive))
