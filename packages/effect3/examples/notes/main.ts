/**
 * Production entry point: `node --import tsx examples/notes/main.ts` (or your bundler's
 * equivalent). Tests never import this file; they give `ServerLive` to
 * `TestClient.layerServer` instead of a real socket.
 */
import { createServer } from "node:http"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Layer } from "effect"
import { ServerLive } from "./Server.js"

const HttpLive = Layer.unwrapEffect(
  Effect.map(Config.withDefault(Config.port("PORT"), 3000), (port) => NodeHttpServer.layer(createServer, { port }))
)

ServerLive.pipe(Layer.provide(HttpLive), Layer.launch, NodeRuntime.runMain)
