/**
 * How the in-process server, the platform services and the client compose into layers.
 * `TestClient.layer` and `TestClient.layerServer` are the public entry points; this module
 * names what they provide and what they leave to the user.
 *
 * @since 0.1.0
 */
import type * as Etag from "@effect/platform/Etag"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpPlatform from "@effect/platform/HttpPlatform"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as Path from "@effect/platform/Path"
import type * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import type { Options } from "./Client.js"
import * as client from "./internal/client.js"
import { makeConfig } from "./internal/config.js"
import * as server from "./internal/server.js"

/**
 * The services the testkit gives the app, as `NodeHttpServer.layer` does in production:
 * the `HttpServer` (in process), `HttpPlatform`, `Etag.Generator`, and Node's
 * `FileSystem`, `Path`, `CommandExecutor`, `Terminal` and `WorkerManager`.
 *
 * @since 0.1.0
 * @category models
 */
export type Provided =
  | HttpServer.HttpServer
  | HttpPlatform.HttpPlatform
  | Etag.Generator
  | FileSystem.FileSystem
  | Path.Path
  | NodeContext.NodeContext

/**
 * What a bootstrap layer still needs from the user once the testkit's services are given.
 *
 * @since 0.1.0
 * @category models
 */
export type ServerRequirements<R> = Exclude<R, Provided>

/**
 * What an `HttpApp` still needs from the user: its requirements minus the request, the
 * request scope and the testkit's services.
 *
 * @since 0.1.0
 * @category models
 */
export type AppRequirements<R> = Exclude<R, HttpServerRequest.HttpServerRequest | Scope.Scope | Provided>

/**
 * See `TestClient.layerServer`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer = <A, E, R>(
  bootstrap: Layer.Layer<A, E, R>,
  options?: Options
): Layer.Layer<client.TestClient | A, E, ServerRequirements<R>> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const config = makeConfig(options)
      const url = new URL(config.origin)
      // Finalizers run in reverse order of registration. The app's scope is forked first,
      // so its shutdown (the bootstrap's finalizers) runs last: after the server has
      // disconnected and awaited the requests still in flight.
      const appScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      const inProcess = yield* server.make(
        {
          _tag: "TcpAddress",
          hostname: url.hostname,
          port: url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port)
        },
        config.drainTimeout
      )
      const platform = yield* Layer.buildWithScope(NodeHttpServer.layerContext, appScope)
      const app = yield* Layer.buildWithScope(bootstrap, appScope).pipe(
        Effect.provide(Context.add(platform, HttpServer.HttpServer, inProcess.httpServer))
      )
      return Context.add(app, client.TestClient, client.make(inProcess, config))
    })
  ) as Layer.Layer<client.TestClient | A, E, ServerRequirements<R>>

/**
 * See `TestClient.layer`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <E, R>(
  app: HttpApp.Default<E, R>,
  options?: Options
): Layer.Layer<client.TestClient, never, AppRequirements<R>> =>
  layerServer(HttpServer.serve(app), options) as Layer.Layer<client.TestClient, never, AppRequirements<R>>
