/**
 * `TaskQueue`: work an app starts during a request and that outlives the response (send an
 * email, refresh a cache). In production the tasks run detached from the request and
 * shutdown waits for them, bounded; under `TestClient` the kit provides its own `TaskQueue`
 * and tracks every task (and every fiber a handler forks) by the request that started it, so
 * `TestClient.drainTasks` (and the test's scope close) wait for them.
 *
 * Production code imports it from its own entry point, which needs nothing but `effect`
 * (none of the kit's testing machinery or its dependencies comes with it):
 *
 * ```ts
 * import { Effect } from "effect"
 * import * as TaskQueue from "@effect-http-testkit/effect4/TaskQueue"
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
 * Tests reach the same module as `TaskQueue` from `"@effect-http-testkit/effect4"`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
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
export class TaskQueue extends Context.Service<TaskQueue, Service>()("@effect-http-testkit/effect4/TaskQueue") {}

/**
 * How a task is started under a test client: given the queue's own start of the task (which
 * gives the task's fiber), the kit runs it as tracked background work. Outside a test it is
 * not set and tasks start as they are. Not for apps: the kit sets it while it builds and serves
 * the app, so an app's own {@link layer} is tracked as the kit's queue is.
 *
 * @since 0.1.0
 * @category internals
 */
export const TaskTracking = Context.Reference<
  (<A, E, R>(start: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) | undefined
>("@effect-http-testkit/effect4/TaskQueue/TaskTracking", { defaultValue: () => undefined })

/**
 * Starts `effect` in the background; see {@link Service.fork}.
 *
 * @since 0.1.0
 * @category accessors
 */
export const fork = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<void, never, TaskQueue | R> =>
  Effect.flatMap(Effect.service(TaskQueue), (queue) => queue.fork(effect))

/**
 * Options of {@link make} and {@link layerWith}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * How long shutdown waits for running tasks before interrupting them, on the wall clock
   * (a `TestClock` does not stall it). `0` interrupts at once, `Duration.infinity` waits for
   * every task. Default 10 seconds.
   */
  readonly shutdownTimeout?: Duration.Input | undefined
}

/**
 * Options {@link make} and {@link layerWith} refuse: the message says what to pass instead.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOptions extends Data.TaggedError("InvalidOptions")<{
  readonly reason: string
}> {
  override get message(): string {
    return `TaskQueue: ${this.reason}`
  }
}

const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value)
  if (value === null) return "null"
  if (value === undefined) return "undefined"
  return Object.prototype.toString.call(value)
}

/** The shutdown bound in millis, or what is wrong with the options. */
const shutdownMillis = (options: unknown): number | InvalidOptions => {
  if (options === undefined) return 10_000
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return new InvalidOptions({
      reason: `options must be an object such as { shutdownTimeout: "1 minute" }, got ${show(options)}`
    })
  }
  for (const key of Object.keys(options)) {
    if (key !== "shutdownTimeout")
      return new InvalidOptions({ reason: `unknown option ${show(key)}: the only option is shutdownTimeout` })
  }
  const input = (options as Options).shutdownTimeout
  if (input === undefined) return 10_000
  const decoded =
    typeof input === "number" && Number.isNaN(input) ? Option.none() : Duration.fromInput(input as Duration.Input)
  const millis = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
  if (!(millis >= 0)) {
    return new InvalidOptions({
      reason:
        `shutdownTimeout ${show(input)} is not a Duration of 0 or more: use e.g. "10 seconds", a number of ` +
        "millis, or Duration.infinity to wait for every task"
    })
  }
  return millis
}

/**
 * The production queue, in the current scope: tasks outlive the request that forked them;
 * when the scope closes it waits for them up to `shutdownTimeout`, then interrupts what is
 * left and logs it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<Service, InvalidOptions, Scope.Scope> =>
  Effect.gen(function* () {
    const bound = shutdownMillis(options)
    if (bound instanceof InvalidOptions) return yield* bound
    const tasks = yield* FiberSet.make<void, never>()
    // Added after the set, so it runs before the set's own finalizer (which interrupts):
    // first wait, bounded, then whatever is left is interrupted.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        // Finalizers run uninterruptibly: the race must be made interruptible, or its loser
        // could not be stopped and the wait would last the whole bound.
        const waited = yield* FiberSet.awaitEmpty(tasks).pipe(
          Effect.as(true),
          Effect.raceFirst(Effect.as(wallClockSleep(bound), false)),
          Effect.interruptible
        )
        const left = yield* FiberSet.size(tasks)
        if (!waited && left > 0) {
          yield* Effect.logWarning(
            `TaskQueue: ${left} task(s) still running ${Duration.format(Duration.millis(bound))} after shutdown began; interrupting them`
          )
        }
      })
    )
    return {
      fork: <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> =>
        Effect.withFiber((fiber) => {
          const start = FiberSet.run(tasks, logFailure(effect), { startImmediately: false })
          const track = fiber.getRef(TaskTracking)
          return Effect.asVoid(track === undefined ? start : track(start))
        }),
      size: FiberSet.size(tasks)
    }
  })

/** A task as the queue runs it: its value dropped, a failure logged with its cause. */
const logFailure = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> =>
  effect.pipe(
    Effect.asVoid,
    Effect.catchCause((cause) => Effect.logError("TaskQueue: a background task failed", cause))
  )

/**
 * The production implementation with options: tasks outlive the request; at shutdown the
 * layer waits for them up to `shutdownTimeout`, then interrupts and logs what it interrupted.
 * Bad options fail the layer with {@link InvalidOptions}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options?: Options): Layer.Layer<TaskQueue, InvalidOptions> =>
  Layer.effect(TaskQueue)(make(options))

/**
 * The production implementation, with the default `shutdownTimeout` (10 seconds); see
 * {@link layerWith} to change it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<TaskQueue> = /*#__PURE__*/ Layer.effect(TaskQueue)(Effect.orDie(make()))
