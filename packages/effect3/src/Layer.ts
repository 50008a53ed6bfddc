/**
 * `TestLayer`: the types that name what the TestClient layers provide and what they leave
 * to the user (`Outputs`, `Provided`, `AppRequirements`, `ServerRequirements`), for
 * annotating a test layer or a helper that builds one:
 *
 * ```ts
 * import type { HttpRouter } from "@effect/platform"
 * import type { Layer } from "effect"
 * import { TestClient, type TestLayer } from "effect-http-testkit"
 *
 * interface UsersRepo {
 *   readonly _: unique symbol
 * }
 * declare const router: HttpRouter.HttpRouter<never, UsersRepo>
 *
 * // What the layer gives the test, and what the app still needs from it.
 * const TestApp: Layer.Layer<TestLayer.Outputs, never, TestLayer.AppRequirements<UsersRepo>> =
 *   TestClient.layer(router)
 * ```
 *
 * The layers themselves are `TestClient.layer`, `TestClient.layerServer`,
 * `TestClient.layerTest`, ...; this module holds their implementation (the same functions,
 * also reachable here) and the order in which a client's scope closes.
 *
 * @since 0.1.0
 */
import type * as Etag from "@effect/platform/Etag"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpPlatform from "@effect/platform/HttpPlatform"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as Path from "@effect/platform/Path"
import * as Socket from "@effect/platform/Socket"
import type * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as EffectTracer from "effect/Tracer"
import type { Options } from "./Client.js"
import * as client from "./internal/client.js"
import { awaitFibers } from "./internal/clock.js"
import { makeConfig } from "./internal/config.js"
import { DrainTimeout } from "./internal/errors.js"
import * as httpClient from "./internal/httpClient.js"
import { Reporter } from "./internal/report.js"
import * as InProcessServer from "./internal/server.js"
import * as socketClient from "./internal/socketClient.js"
import * as SocketServer from "./internal/socketServer.js"
import { Tracker } from "./internal/tasks.js"
import { makeService, Recorder } from "./internal/tracer.js"
import * as Tracer from "./Tracer.js"

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
 * What every TestClient layer provides: the kit's client and tracer, and a platform
 * `HttpClient` pointed at the app.
 *
 * @since 0.2.0
 * @category models
 */
export type Outputs = client.TestClient | Tracer.TestTracer | HttpClient.HttpClient

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
 * The Node platform services, built once per process: they hold no state (Terminal's
 * readline is acquired lazily, per use), and building them is most of what a fresh client
 * costs, which every `it.scoped` test pays.
 */
let builtPlatform: Context.Context<Provided> | undefined
/**
 * The scope the platform services live in, for the rest of the process (it is never
 * closed). Made on first use, not at import: the module has no side effects
 * (`"sideEffects": false`), so importing it for its types or one layer costs nothing.
 */
let platformScope: Scope.CloseableScope | undefined
const platformContext: Effect.Effect<Context.Context<Exclude<Provided, HttpServer.HttpServer>>> = Effect.suspend(() => {
  if (builtPlatform !== undefined) return Effect.succeed(builtPlatform)
  platformScope ??= Effect.runSync(Scope.make())
  return Effect.tap(Layer.buildWithScope(NodeHttpServer.layerContext, platformScope), (context) => {
    builtPlatform = context as Context.Context<Provided>
  })
})

/**
 * Closes the app's scope (its layers' finalizers: the shutdown), bounded by `timeout` on the
 * wall clock. A shutdown still running then fails the scope close with `DrainTimeout`
 * rather than hanging the test; it goes on in the background. One that ended failing (a
 * finalizer died) fails the scope close with its cause, as the layer's scope close does
 * over `NodeHttpServer`.
 */
const shutdown = (
  appScope: Scope.CloseableScope,
  exit: Exit.Exit<unknown, unknown>,
  timeout: Duration.Duration
): Effect.Effect<void> =>
  Effect.flatMap(Effect.forkDaemon(Scope.close(appScope, exit)), (closing) =>
    Effect.flatMap(awaitFibers([closing], timeout), (stuck) =>
      stuck.length === 0
        ? Fiber.join(closing)
        : Effect.die(
            new DrainTimeout({
              timeout,
              during: "scope close",
              running: ["the app's shutdown (the finalizers of its layers)"],
              notes: ["It goes on in the background; make its finalizers finish, or raise drainTimeout."]
            })
          )
    )
  )

/** Sets the current fiber's tracer. */
const setTracer = (tracer: EffectTracer.Tracer): Effect.Effect<void> =>
  FiberRef.update(DefaultServices.currentServices, Context.add(EffectTracer.Tracer, tracer))

/** For each closed client's recorder, the tracer it replaced when it was set. */
const replaced = new WeakMap<EffectTracer.Tracer, EffectTracer.Tracer>()

/**
 * At a client's scope close: `ours` (its recorder) is closed, and `previous` is the tracer it
 * replaced. A fiber whose tracer is a closed recorder gets back the tracer that one replaced
 * (following the chain when clients are closed in another order than they were built); one
 * tracing into anything else (another client still open) keeps it.
 */
const restoreTracer = (ours: EffectTracer.Tracer, previous: EffectTracer.Tracer): Effect.Effect<void> =>
  Effect.suspend(() => {
    replaced.set(ours, previous)
    return FiberRef.update(DefaultServices.currentServices, (services) => {
      const current = Context.get(services, EffectTracer.Tracer)
      let tracer = current
      while (replaced.has(tracer)) tracer = replaced.get(tracer) as EffectTracer.Tracer
      return tracer === current ? services : Context.add(services, EffectTracer.Tracer, tracer)
    })
  })

/** Runs every step, in order, whatever the ones before did; fails with all their failures. */
const inOrder = (steps: ReadonlyArray<Effect.Effect<void>>): Effect.Effect<void> =>
  Effect.flatMap(Effect.forEach(steps, Effect.exit), (exits) => {
    const causes = exits.flatMap((exit) => (exit._tag === "Failure" ? [exit.cause] : []))
    return causes.length === 0
      ? Effect.void
      : Effect.failCause(causes.reduce((all, cause) => Cause.sequential(all, cause)))
  })

/**
 * The client's layer around a way to start the app: `start` runs in the app's scope with
 * the in-process server and the platform services, and returns what the app provides.
 * `kitScope`: the app's scope only ever holds the kit's own finalizers (no layer of the
 * user's is built in it), so with the in-process server its close is a few synchronous steps
 * and needs no wall-clock bound (nor the fiber that bounding it takes).
 */
const make = <A, E, R>(
  start: (appScope: Scope.Scope, context: Context.Context<Provided>) => Effect.Effect<Context.Context<A>, E, R>,
  options: Options | undefined,
  kitScope: boolean
): Layer.Layer<client.TestClient | Tracer.TestTracer | HttpClient.HttpClient | A, E, R> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const config = makeConfig(options)
      const url = new URL(config.origin)
      const recorder = new Recorder(config.spanLimit)
      const tracker = new Tracker(recorder)
      // The socket transport listens before the app starts and stops listening last, after
      // the app's shutdown, as NodeHttpServer.layer's server outlives the app's layers: its
      // finalizer is registered first, with the server, so it runs after the one below.
      const overSocket = config.transport === "socket" && config.problem === undefined
      const { server, close } = overSocket
        ? yield* Effect.uninterruptible(
            Effect.tap(SocketServer.make(config.port, config.drainTimeout, tracker), (made) =>
              Effect.addFinalizer(() => made.stop)
            )
          )
        : InProcessServer.make(
            {
              _tag: "TcpAddress",
              hostname: url.hostname,
              port: url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port)
            },
            config.drainTimeout,
            tracker
          )
      const reporter = new Reporter(config, recorder, () => server)
      const layerScope = yield* Effect.scope
      const appScope = yield* Scope.fork(layerScope, ExecutionStrategy.sequential)
      // Scope close, in order: disconnect the requests still in flight, drain the background
      // work, shut the app down (its scope), on failure the report, and last give the fiber
      // closing the scope (the test's) its tracer back. One finalizer runs them all (each
      // whatever the others did; their failures are combined). It is registered before the
      // tracer is set: no interruption can leave the tracer set with nothing to restore it.
      // A finalizer of the scope itself, not Effect.addFinalizer's: that one runs with the
      // FiberRefs as they were when it was added and then puts the closing fiber's back, which
      // would undo the tracer's restoring (and costs two FiberRefs diffs).
      let previousTracer: EffectTracer.Tracer | undefined
      yield* Scope.addFinalizerExit(layerScope, (exit) =>
        Effect.uninterruptible(
          inOrder([
            close,
            Effect.orDie(tracker.close(config.drainTimeout, config.backgroundWork)),
            kitScope && !overSocket ? Scope.close(appScope, exit) : shutdown(appScope, exit, config.drainTimeout),
            reporter.onScopeClose(exit),
            Effect.suspend(() =>
              previousTracer === undefined ? Effect.void : restoreTracer(recorder.tracer, previousTracer)
            )
          ])
        )
      )
      // The app's runtime (captured by HttpServer.serve while the app starts) and the test
      // the layer is provided to both trace into the recorder (as `Effect.withTracerScoped`
      // would set it, without a finalizer of its own). The tracer it replaces is kept first:
      // an interruption between the two steps leaves nothing unrestored.
      previousTracer = yield* Effect.tracer
      yield* setTracer(recorder.tracer)
      const exchanges = new client.Exchanges(config.exchangeLimit)
      const testClient = client.make(server, config, tracker, exchanges, reporter)
      const platform = yield* platformContext
      const app = yield* start(appScope, Context.add(platform, HttpServer.HttpServer, server.httpServer))
      return app.pipe(
        Context.add(client.TestClient, testClient),
        Context.add(Tracer.TestTracer, makeService(recorder)),
        Context.add(HttpClient.HttpClient, httpClient.make(server, config, exchanges, reporter))
      )
    })
  )

/**
 * See `TestClient.layerServer`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer = <A, E, R>(
  bootstrap: Layer.Layer<A, E, R>,
  options?: Options
): Layer.Layer<Outputs | A, E, ServerRequirements<R>> =>
  make(
    (appScope, context) => Effect.provide(Layer.buildWithScope(bootstrap, appScope), context),
    options,
    false
  ) as Layer.Layer<Outputs | A, E, ServerRequirements<R>>

/**
 * See `TestClient.layer`. Equivalent to `layerServer(HttpServer.serve(app))`, without the
 * cost of building a layer for it: the in-process server's `serve` is called directly, in
 * the app's scope, exactly as that layer would call it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <E, R>(
  app: HttpApp.Default<E, R>,
  options?: Options
): Layer.Layer<Outputs, never, AppRequirements<R>> =>
  make(
    (appScope, context) =>
      Effect.as(
        Effect.provide(
          Effect.flatMap(HttpServer.HttpServer, (server) => server.serve(app as HttpApp.Default<unknown>)),
          Context.add(context, Scope.Scope, appScope)
        ),
        Context.empty()
      ),
    options,
    true
  ) as Layer.Layer<Outputs, never, AppRequirements<R>>

/**
 * See `TestClient.layerTestWith`: the in-process server itself and the platform services, as
 * `NodeHttpServer.layerTest` provides them, for suites that serve their app from the test
 * body (`HttpServer.serveEffect(app)`, a `HttpRouter.Default.serve()` layer, ...).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerTestWith = (options?: Options): Layer.Layer<Outputs | Provided> =>
  make((_, context) => Effect.succeed(context), options, true)

/**
 * See `TestClient.layerTest`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerTest: Layer.Layer<Outputs | Provided> = /*#__PURE__*/ layerTestWith()

/**
 * See `TestClient.layerWebSocketConstructor`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWebSocketConstructor: Layer.Layer<Socket.WebSocketConstructor, never, client.TestClient> =
  Layer.effect(
    Socket.WebSocketConstructor,
    Effect.map(client.TestClient, (service) => {
      const { config, server } = client.internalsOf(service)
      return socketClient.makeConstructor(server, config)
    })
  )

/**
 * See `TestClient.layerWebSocket`.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWebSocket = (
  url: string,
  options?: { readonly closeCodeIsError?: ((code: number) => boolean) | undefined }
): Layer.Layer<Socket.Socket, never, client.TestClient> =>
  Layer.scoped(Socket.Socket, Socket.makeWebSocket(url, options)).pipe(Layer.provide(layerWebSocketConstructor))
