/**
 * Production entry point: `node --import tsx examples/notes/main.ts` (or your bundler's
 * equivalent). Tests never import this file; they give `ServerLive` to
 * `TestClient.layerServer` instead of a real socket.
 */
import { createServer } from "node:http"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Layer } from "effect"
import { ServerLive } from "./Server.js"

const HttpServerLive = NodeHttpServer.layerConfig(createServer, {
  port: Config.Port("PORT").pipe(Config.withDefault(3000))
})

ServerLive.pipe(Layer.provide(HttpServerLive), Layer.launch, NodeRuntime.runMain)
