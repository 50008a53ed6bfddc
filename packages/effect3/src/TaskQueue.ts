/**
 * `TaskQueue`: work an app starts during a request and that outlives the response (send an
 * email, refresh a cache). In production the tasks run detached from the request and
 * shutdown waits for them, bounded; under `TestClient` they are tracked, so
 * `TestClient.drainTasks` (and the test's scope close) wait for them.
 *
 * Production code imports it from its own entry point, which needs nothing but `effect`
 * (none of the kit's testing machinery or its dependencies comes with it):
 *
 * ```ts
 * import { Effect } from "effect"
 * import * as TaskQueue from "effect-http-testkit/TaskQueue"
 *
 * // In a handler: the email goes out after the response.
 * const signup = Effect.gen(function* () {
 *   yield* TaskQueue.fork(Effect.log("sending the welcome email"))
 * })
 *
 * // In the app's layers: shutdown waits for running tasks, 10 seconds by default.
 * const TasksLive = TaskQueue.layer
 * const PatientTasksLive = TaskQueue.layerWith({ shutdownTimeout: "1 minute" })
 * ```
 *
 * Tests reach the same module as `TaskQueue` from `"effect-http-testkit"`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { wallClockSleep } from "./internal/clock.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Starts `effect` in the background and returns at once. A failure is logged with its
   * cause (a background task has no caller to report to).
   */
  readonly fork: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<void, never, R>
  /** How many tasks are running. */
  readonly size: Effect.Effect<number>
}

/**
 * @since 0.1.0
 * @category tags
 */
export class TaskQueue extends Context.Tag("effect-http-testkit/TaskQueue")<TaskQueue, Service>() {}

/**
 * Starts `effect` in the background; see {@link Service.fork}.
 *
 * @since 0.1.0
 * @category accessors
 */
export const fork = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<void, never, TaskQueue | R> =>
  Effect.flatMap(TaskQueue, (queue) => queue.fork(effect))

/**
 * Options of {@link make} and {@link layerWith}.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** How long shutdown waits for running tasks before interrupting them. Default 10 seconds. */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function* () {
    const shutdownTimeout = Duration.decode(options?.shutdownTimeout ?? "10 seconds")
    const tasks = yield* FiberSet.make<unknown, never>()
    // Added after the set, so it runs before the set's own finalizer (which interrupts):
    // first wait, bounded, then whatever is left is interrupted.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        // Finalizers run uninterruptibly: the race must be made interruptible, or its loser
        // could not be stopped and the wait would last the whole bound. The bound is on the
        // wall clock, so a test's TestClock cannot stall a shutdown.
        const waited = yield* FiberSet.awaitEmpty(tasks).pipe(
          Effect.as(true),
          Effect.raceFirst(Effect.as(wallClockSleep(shutdownTimeout), false)),
          Effect.interruptible
        )
        const left = yield* FiberSet.size(tasks)
        if (!waited && left > 0) {
          yield* Effect.logWarning(
            `TaskQueue: ${left} task(s) still running ${Duration.format(shutdownTimeout)} after shutdown began; interrupting them`
          )
        }
      })
    )
    return {
      fork: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.asVoid(
          FiberSet.run(
            tasks,
            effect.pipe(
              Effect.catchAllCause((cause) => Effect.logError("TaskQueue: a background task failed", cause)),
              Effect.asVoid
            )
          )
        ),
      size: FiberSet.size(tasks)
    }
  })

/**
 * The production implementation with options: tasks outlive the request; at shutdown the
 * layer waits for them up to `shutdownTimeout`, then interrupts and logs what it interrupted.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerWith = (options?: Options): Layer.Layer<TaskQueue> => Layer.scoped(TaskQueue, make(options))

/**
 * The production implementation, with the default `shutdownTimeout` (10 seconds); see
 * {@link layerWith} to change it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<TaskQueue> = /*#__PURE__*/ layerWith()
