/**
 * Tracking the app's background work under `TestClient`, on Effect 4.
 *
 * Effect 3's edition saw every fork through a `Supervisor`. Effect 4 has none, so the kit
 * uses the three runtime services a fiber inherits from the fiber that forks it, and wraps
 * each in the context the app's handlers are served in (the `HttpServer` the kit provides
 * runs `serve` with them, so every handler fiber and every fiber it forks, however forked —
 * `forkChild`, `forkDetach`, `forkIn`, `FiberSet`, `TaskQueue.fork` — carries them):
 *
 * - `Metric.FiberRuntimeMetrics`: the runtime calls `recordFiberStart` as a fiber is created
 *   (synchronously, inside the fork) and `recordFiberEnd` as it ends, each with the fiber's
 *   context. Counting them per request gives exactly how many fibers of a request are
 *   running, with no gap between a fork and the forked fiber's first step. A runtime-metrics
 *   service the app already had is called too.
 * - `Scheduler.Scheduler`: the runtime asks `shouldYield(fiber)` at each step of a fiber, so
 *   the wrapper meets each fiber at its first step. That is where a handler fiber (the one
 *   fiber per request the server starts, the only fiber of the serve context holding an
 *   `HttpServerRequest` and no work yet) gets the `Work` of its request in its context, for
 *   every fiber it forks to inherit; and where every other fiber of a request is kept by
 *   handle, to name it (`fiber #12`, its open span, its sleep) and to interrupt it at scope
 *   close. The check costs one comparison per step (`currentOpCount === 1`, the first step
 *   of a run).
 * - `Clock.Clock`: `sleep` is recorded per fiber, so a report can say a fiber sleeps on the
 *   `TestClock` and which `TestClock.adjust` wakes it (Effect 4's TestClock does not list its
 *   sleeps). Everything else is the clock the app had.
 *
 * A request's work is background work once its handler fiber has ended, or once the client
 * has its whole response (see `answered`): an exchange still in progress, such as a streamed
 * body the test is reading, is not. A task of the kit's own
 * `TaskQueue` is background work from the start: each task (and what it forks) is work of its
 * own, named by the request that queued it, or as queued outside any request (at the app's
 * startup). `drainTasks` waits, event-driven and bounded on the wall clock, until no
 * background work is running.
 *
 * The app's layers are built with the hooks too (`hooks`), so a handler that restores the
 * context its layer was built in (as `HttpApiBuilder`'s do) keeps them. Limits: a fiber whose
 * context drops these services (a region that provides its own Scheduler or Clock, or sets
 * `PreventSchedulerYield`) is counted but cannot be named or interrupted.
 *
 * @internal
 */
import { drainShare, fitMillis } from "@effect-http-testkit/core"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import { HttpServer, HttpServerRequest } from "effect/http"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Scheduler from "effect/Scheduler"
import * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { type Service as TaskQueueService, TaskTracking } from "../TaskQueue.js"
import { setWallTimer } from "./clock.js"

/**
 * Background work did not end within `drainTimeout` (on the wall clock): `running` names
 * each fiber still running and the request that started it.
 *
 * @internal
 */
export class DrainTimeout extends Data.TaggedError("DrainTimeout")<{
  readonly timeout: Duration.Duration
  /** What is still running, one description each. */
  readonly running: ReadonlyArray<string>
  /** When it was waited for: a `drainTasks` call, or the client's scope closing. */
  readonly during?: "drainTasks" | "scope close" | undefined
  /** What the kit did about it, or a hint (e.g. fibers waiting on the TestClock). */
  readonly notes?: ReadonlyArray<string> | undefined
}> {
  override get message(): string {
    const when =
      this.during === "drainTasks"
        ? `drainTasks waited ${Duration.format(this.timeout)} for the app's background work`
        : `still running ${Duration.format(this.timeout)} after the scope began to close`
    const notes = this.notes === undefined || this.notes.length === 0 ? "" : `\n${this.notes.join("\n")}`
    return (
      `${when} (raise drainTimeout, or make them stop on interruption):\n` +
      `${this.running.map((what) => `  - ${what}`).join("\n")}${notes}`
    )
  }
}

/**
 * `drainTasks` was called from inside the app's own tracked work, where it would wait for
 * itself.
 *
 * @internal
 */
export class DrainDeadlock extends Data.TaggedError("DrainDeadlock")<{
  /** The request whose work called `drainTasks`. */
  readonly request: string
}> {
  override get message(): string {
    return (
      `drainTasks was called from inside the app's own tracked work (started by ${this.request}): it would wait ` +
      "for itself forever. Call it from the test, after the request, instead."
    )
  }
}

type AnyFiber = Fiber.Fiber<unknown, unknown>

const isFiber = (value: unknown): value is AnyFiber => Fiber.isFiber(value)

/**
 * The work of one request (its handler fiber and every fiber forked from it, however deeply),
 * or of one task of the kit's TaskQueue (the task's fiber and what it forks).
 */
class Work {
  /** Fibers carrying this work still running, the handler included: counted as each is created and ends. */
  live = 0
  /** Whether what runs of this work is background work: the handler has ended, or it is a task's. */
  background: boolean
  /** Fibers of this work met at their first step, until they end. */
  readonly fibers = new Set<AnyFiber>()
  /** Reported at scope close as still running after the kit interrupted it: later waits skip it. */
  reported = false
  constructor(
    readonly tracker: Tracker,
    /** The request that started it (`POST /jobs`); none for a task queued outside any request. */
    readonly request: string | undefined,
    /** The request's handler fiber; none for a task's work. */
    handler: AnyFiber | undefined
  ) {
    this.background = handler === undefined
  }

  get startedBy(): string {
    return this.request === undefined ? "started outside any request" : `started by ${this.request}`
  }
}

/** The work the current fiber belongs to, if it is the app's tracked work. */
const CurrentWork = Context.Reference<Work | undefined>("@effect-http-testkit/effect4/internal/CurrentWork", {
  defaultValue: () => undefined
})

const isTestClock = (clock: Clock.Clock): boolean =>
  typeof (clock as { readonly adjust?: unknown }).adjust === "function" &&
  typeof (clock as { readonly setTime?: unknown }).setTime === "function"

const testClockHint =
  "A fiber that sleeps on the TestClock (Effect.sleep, Schedule, timeouts under it.effect) only wakes when " +
  "the test advances it: TestClock.adjust(...) before draining, or run the test with it.live."

/** drainTimeout's default, before it is fitted to the time the current test has left. */
const defaultDrainMillis = 5_000

/** How the client treats background work: its settings, or what is wrong with them. */
export interface Settings {
  readonly drainTimeout: Duration.Duration
  readonly backgroundWork: "drain" | "interrupt"
}

const describeValue = (value: unknown): string =>
  typeof value === "string"
    ? JSON.stringify(value)
    : typeof value === "number" || typeof value === "boolean"
      ? String(value)
      : Object.prototype.toString.call(value)

/**
 * Takes the background-work options (`drainTimeout`, `backgroundWork`) out of the client's
 * options: the settings (defaults for what is bad), what is wrong with them, and the rest of
 * the options for the client's own checks.
 */
export const splitOptions = (
  options: unknown
): { readonly settings: Settings; readonly problem: string | undefined; readonly rest: unknown } => {
  const defaults: Settings = {
    // Read at each use: an unset drainTimeout fits the time the current test has left, so
    // the kit's DrainTimeout comes before the runner's own timeout.
    get drainTimeout() {
      return Duration.millis(fitMillis(defaultDrainMillis, drainShare))
    },
    backgroundWork: "drain"
  }
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    return { settings: defaults, problem: undefined, rest: options }
  }
  const { drainTimeout, backgroundWork, ...rest } = options as Record<string, unknown>
  const problems: Array<string> = []
  let timeout = defaults.drainTimeout
  if (drainTimeout !== undefined) {
    const decoded =
      typeof drainTimeout === "number" && Number.isNaN(drainTimeout)
        ? Option.none()
        : Duration.fromInput(drainTimeout as Duration.Input)
    if (Option.isSome(decoded) && Duration.toMillis(decoded.value) > 0) timeout = decoded.value
    else {
      problems.push(
        `drainTimeout ${describeValue(drainTimeout)} is not a positive Duration: use e.g. "5 seconds", a number of ` +
          "millis, or Duration.infinity for no bound"
      )
    }
  }
  if (backgroundWork !== undefined && backgroundWork !== "drain" && backgroundWork !== "interrupt") {
    problems.push(`backgroundWork must be "drain" or "interrupt", got ${describeValue(backgroundWork)}`)
  }
  const mode = backgroundWork === "interrupt" ? "interrupt" : "drain"
  return {
    settings:
      drainTimeout === undefined
        ? mode === "drain"
          ? defaults
          : {
              get drainTimeout() {
                return defaults.drainTimeout
              },
              backgroundWork: mode
            }
        : { drainTimeout: timeout, backgroundWork: mode },
    problem: problems.length === 0 ? undefined : problems.join("; "),
    rest
  }
}

/**
 * Tracks the work of every request an in-process server serves: see the module's docs.
 *
 * @internal
 */
export class Tracker {
  private readonly works = new Set<Work>()
  /** Fibers met at their first step (or known not to be the app's work). */
  private readonly seen = new WeakSet<AnyFiber>()
  private readonly listeners = new Set<() => void>()
  /** The wrappers this tracker made, so a context already wrapped is not wrapped again. */
  private readonly own = new WeakSet<object>()
  /** Tasks of the kit's TaskQueue, to name them as such. */
  readonly tasks = new WeakSet<AnyFiber>()
  /** When each fiber sleeping on a wrapped clock wakes, on that clock. */
  private readonly sleeping = new WeakMap<AnyFiber, { readonly clock: Clock.Clock; readonly until: number }>()
  /**
   * Set once the kit interrupts background work (at scope close): a fiber of it met later (one
   * forked before but not started yet), or left by a handler that ends later, is interrupted
   * at once.
   */
  private interrupting = false

  constructor(readonly settings: Settings) {}

  /**
   * The in-process `HttpServer` with the tracker's hooks in the context it serves in: each
   * handler fiber, and everything it forks, inherits them. When the app stops serving (its
   * scope closes), background work is drained first (see `beforeShutdown`): the finalizer
   * is added after the server's own, so it runs before the server interrupts its handlers and
   * before the app's other layers shut down.
   */
  server(inner: HttpServer.HttpServer["Service"]): HttpServer.HttpServer["Service"] {
    return HttpServer.make({
      address: inner.address,
      serve: (httpEffect, middleware) =>
        Effect.andThen(
          // Run last in the serve scope, after the server has waited for its handlers: the
          // serving part of the app's shutdown (bounded on its own) is over.
          Effect.addFinalizer(() => Effect.sync(() => this.serveClosed())),
          Effect.andThen(
            this.hooked(middleware === undefined ? inner.serve(httpEffect) : inner.serve(httpEffect, middleware)),
            Effect.addFinalizer(() =>
              Effect.andThen(
                Effect.sync(() => {
                  this.serveClosing = true
                }),
                Effect.orDie(this.beforeShutdown)
              )
            )
          )
        )
    })
  }

  /** Whether the serving part of the app's shutdown (drain, handlers' end; bounded on their own) runs. */
  private serveClosing = false
  private readonly serveClosedListeners = new Set<() => void>()

  private serveClosed(): void {
    this.serveClosing = false
    for (const listener of Array.from(this.serveClosedListeners)) listener()
  }

  /**
   * `layer` (the app) built in a scope of its own, whose close (the app's shutdown: its layers'
   * finalizers) is bounded by `drainTimeout` on the wall clock: a shutdown still running
   * then fails the client's scope close with `DrainTimeout` instead of hanging the test, and
   * goes on in the background. The time the serving part of the shutdown takes (draining
   * background work, waiting for handlers: each bounded by drainTimeout already) does not count.
   * The shutdown starts at once, in a fiber of its own: one that ends within that first step
   * (the usual case) needs no timer, and runs before what the closing fiber had forked and not
   * yet started, as production's server is gone by then too.
   */
  boundShutdown<A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> {
    return Layer.effectContext(
      Effect.flatMap(Scope.make(), (appScope) =>
        Effect.andThen(
          Effect.addFinalizer((exit) => this.shutdown(appScope, exit)),
          Layer.buildWithScope(layer, appScope)
        )
      )
    )
  }

  private shutdown(appScope: Scope.Closeable, exit: Parameters<typeof Scope.close>[1]): Effect.Effect<void> {
    return Effect.flatMap(Effect.forkDetach(Scope.close(appScope, exit), { startImmediately: true }), (closing) => {
      // Most shutdowns end within their first step: no timer, no wait. Its exit (an Effect)
      // is the close's, a finalizer's defect included.
      const closed = closing.pollUnsafe()
      if (closed !== undefined) return closed
      return Effect.callback<void>((resume) => {
        const timeout = this.settings.drainTimeout
        const expired = () => {
          // The serving part is bounded on its own: the bound restarts once it is over.
          if (this.serveClosing) return
          resume(
            Effect.die(
              new DrainTimeout({
                timeout,
                during: "scope close",
                running: ["the app's shutdown (the finalizers of its layers)"],
                notes: ["It goes on in the background; make its finalizers finish, or raise drainTimeout."]
              })
            )
          )
        }
        let cancelTimer = setWallTimer(Duration.toMillis(timeout), expired)
        const restart = () => {
          cancelTimer()
          cancelTimer = setWallTimer(Duration.toMillis(timeout), expired)
        }
        this.serveClosedListeners.add(restart)
        const cancel = () => {
          cancelTimer()
          this.serveClosedListeners.delete(restart)
        }
        // The shutdown's own failure (a DrainTimeout of the serving part, a finalizer's defect) is the close's.
        closing.addObserver((closed) => {
          cancel()
          resume(closed)
        })
        return Effect.sync(() => cancel())
      })
    })
  }

  /** The tracker's hooks around the scheduler, runtime metrics and clock `fiber` has. */
  private hooksOf(fiber: Fiber.Fiber<unknown, unknown>): Context.Context<never> {
    const scheduler = fiber.getRef(Scheduler.Scheduler)
    const metrics = fiber.getRef(Metric.FiberRuntimeMetrics)
    const clock = fiber.getRef(Clock.Clock)
    return Context.make(Scheduler.Scheduler, this.own.has(scheduler) ? scheduler : this.scheduler(scheduler)).pipe(
      Context.add(
        Metric.FiberRuntimeMetrics,
        metrics !== undefined && this.own.has(metrics) ? metrics : this.metrics(metrics)
      ),
      Context.add(Clock.Clock, this.own.has(clock) ? clock : this.clock(clock)),
      Context.add(TaskTracking, this.trackTask)
    ) as Context.Context<never>
  }

  /**
   * The tracker's hooks, for the app's layers to be built with: a handler that restores the
   * context its layer was built in (as `HttpApiBuilder`'s do) keeps them, and so does what it
   * forks.
   */
  readonly hooks: Effect.Effect<Context.Context<never>> = Effect.withFiber((fiber) =>
    Effect.succeed(this.hooksOf(fiber))
  )

  /** Runs `effect` with the tracker's hooks around the scheduler, runtime metrics and clock it has. */
  private hooked<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.withFiber((fiber) => Effect.provideContext(effect, this.hooksOf(fiber)))
  }

  private scheduler(inner: Scheduler.Scheduler): Scheduler.Scheduler {
    const wrapper: Scheduler.Scheduler = {
      executionMode: inner.executionMode,
      makeDispatcher: () => inner.makeDispatcher(),
      shouldYield: (fiber) => {
        if (fiber.currentOpCount === 1) this.met(fiber)
        return inner.shouldYield(fiber)
      }
    }
    this.own.add(wrapper)
    return wrapper
  }

  private metrics(inner: Metric.FiberRuntimeMetricsService | undefined): Metric.FiberRuntimeMetricsService {
    const wrapper: Metric.FiberRuntimeMetricsService = {
      recordFiberStart: (context) => {
        inner?.recordFiberStart(context)
        const work = Context.get(context, CurrentWork)
        if (work !== undefined && work.tracker === this) {
          work.live++
          this.works.add(work)
        }
      },
      recordFiberEnd: (context, exit) => {
        inner?.recordFiberEnd(context, exit)
        const work = Context.get(context, CurrentWork)
        if (work !== undefined && work.tracker === this) {
          work.live--
          this.changed(work)
        }
      }
    }
    this.own.add(wrapper)
    return wrapper
  }

  private clock(inner: Clock.Clock): Clock.Clock {
    const sleeping = this.sleeping
    // Everything but `sleep` is the clock the app had (a TestClock stays one).
    const wrapper: Clock.Clock = Object.create(inner, {
      sleep: {
        value: (duration: Duration.Duration) =>
          Effect.withFiber((fiber) => {
            sleeping.set(fiber, { clock: inner, until: inner.currentTimeMillisUnsafe() + Duration.toMillis(duration) })
            // Not the app's work: what the clock forks to sleep (the TestClock's warning fiber).
            return Effect.ensuring(
              Effect.provideService(inner.sleep(duration), CurrentWork, undefined),
              Effect.sync(() => sleeping.delete(fiber))
            )
          })
      }
    })
    this.own.add(wrapper)
    return wrapper
  }

  /** A fiber of the served context at its first step: a new handler, a fiber of a request's work, or neither. */
  private met(fiber: AnyFiber): void {
    if (this.seen.has(fiber)) return
    this.seen.add(fiber)
    const work = fiber.getRef(CurrentWork)
    if (work !== undefined) {
      if (work.tracker !== this) return
      work.fibers.add(fiber)
      fiber.addObserver(() => work.fibers.delete(fiber))
      if (this.interrupting && work.background) fiber.interruptUnsafe()
      return
    }
    const request = Context.getOrUndefined(fiber.context, HttpServerRequest.HttpServerRequest)
    if (request === undefined) return
    // The server starts one fiber per request, in the served context: the request's handler.
    const handled = new Work(this, `${request.method} ${request.url}`, fiber)
    handled.live = 1
    this.works.add(handled)
    fiber.setContext(Context.add(fiber.context, CurrentWork, handled))
    fiber.addObserver(() => {
      handled.background = true
      if (this.interrupting) for (const left of handled.fibers) left.interruptUnsafe()
      this.changed(handled)
    })
  }

  /**
   * The client has the whole response of the request `handler` serves (the platform
   * `HttpClient` returns at the headers): what the handler still runs (its request scope's
   * finalizers, a middleware's work after the response) is background work from now on, which
   * `drainTasks` waits for. A streamed body the test is still reading is not whole yet, so
   * waiting cannot wait on the test itself.
   */
  answered(handler: AnyFiber | undefined): void {
    if (handler === undefined) return
    const work = handler.getRef(CurrentWork)
    if (work === undefined || work.tracker !== this || work.background || handler.pollUnsafe() !== undefined) return
    // Named by its fiber in a DrainTimeout, and interrupted with background work at scope close.
    work.fibers.add(handler)
    handler.addObserver(() => work.fibers.delete(handler))
    work.background = true
    if (this.interrupting) handler.interruptUnsafe()
    this.changed(work)
  }

  private changed(work: Work): void {
    if (work.background && work.live <= 0) this.works.delete(work)
    for (const listener of this.listeners) listener()
  }

  /** Whether no request has background work running (but what was reported as ignoring interruption). */
  private get idle(): boolean {
    for (const work of this.works) if (work.background && work.live > 0 && !work.reported) return false
    return true
  }

  private background(): Array<Work> {
    return Array.from(this.works).filter((work) => work.background && work.live > 0 && !work.reported)
  }

  private describe(fiber: AnyFiber, work: Work): { readonly line: string; readonly onTestClock: boolean } {
    const what = this.tasks.has(fiber) ? `TaskQueue task (fiber #${fiber.id})` : `fiber #${fiber.id}`
    const { inSpan, sleeping, onTestClock } = this.whereOf(fiber)
    return { line: `${what} ${work.startedBy}${inSpan === "" ? "" : `, ${inSpan}`}${sleeping}`, onTestClock }
  }

  /** A fiber's open span (`in span "db.query"`) and, if it sleeps on a clock of ours, when it wakes. */
  private whereOf(fiber: AnyFiber): {
    readonly inSpan: string
    readonly sleeping: string
    readonly onTestClock: boolean
  } {
    const span = Context.getOrUndefined(fiber.context, Tracer.ParentSpan)
    const inSpan = span !== undefined && span._tag === "Span" ? `in span "${span.name}"` : ""
    const sleep = this.sleeping.get(fiber)
    if (sleep === undefined) return { inSpan, sleeping: "", onTestClock: false }
    const due = Math.max(0, Math.ceil(sleep.until - sleep.clock.currentTimeMillisUnsafe()))
    const onTestClock = isTestClock(sleep.clock)
    const sleeping = onTestClock
      ? ` (it sleeps on the TestClock, due in ${Duration.format(Duration.millis(due))}: TestClock.adjust("${due} millis") wakes it)`
      : ` (it sleeps, due in ${Duration.format(Duration.millis(due))})`
    return { inSpan, sleeping, onTestClock }
  }

  /** Where a request's handler was when its request timed out, for the RequestTimeout's message. */
  readonly whereIs = (fiber: AnyFiber): string => {
    const { inSpan, sleeping } = this.whereOf(fiber)
    return `${inSpan}${sleeping}`.trim()
  }

  /** What background work still runs, one line each, and whether any of it sleeps on a TestClock. */
  private running(): { readonly lines: ReadonlyArray<string>; readonly onTestClock: boolean } {
    const lines: Array<string> = []
    let onTestClock = false
    for (const work of this.background()) {
      let named = 0
      for (const fiber of work.fibers) {
        if (fiber.pollUnsafe() !== undefined) continue
        named++
        const described = this.describe(fiber, work)
        lines.push(described.line)
        onTestClock ||= described.onTestClock
      }
      const unnamed = work.live - named
      if (unnamed > 0) {
        lines.push(`${unnamed} fiber(s) ${work.startedBy} that have not run a step the kit could see yet`)
      }
    }
    return { lines, onTestClock }
  }

  /**
   * Interrupts every fiber of background work; one not started yet is interrupted at its first
   * step, and what a handler leaves from now on as it ends.
   */
  private interruptBackground(): void {
    this.interrupting = true
    for (const work of this.background()) for (const fiber of work.fibers) fiber.interruptUnsafe()
  }

  /** A scope close's report: the background work still running is not waited for again. */
  private report(notes: ReadonlyArray<string>, running = this.running()): DrainTimeout {
    for (const work of this.background()) work.reported = true
    return new DrainTimeout({
      timeout: this.settings.drainTimeout,
      during: "scope close",
      running: running.lines,
      notes: [...(running.onTestClock ? [testClockHint] : []), ...notes]
    })
  }

  /** Waits, event-driven, until no request has background work running; fails past `timeout` on the wall clock. */
  private awaitIdle(timeout: Duration.Duration): Effect.Effect<void, "timeout"> {
    return Effect.suspend(() => {
      if (this.idle) return Effect.void
      return Effect.callback<void, "timeout">((resume) => {
        const check = () => {
          if (!this.idle) return
          cleanup()
          resume(Effect.void)
        }
        const cancel = setWallTimer(Duration.toMillis(timeout), () => {
          cleanup()
          resume(Effect.fail("timeout"))
        })
        const cleanup = () => {
          cancel()
          this.listeners.delete(check)
        }
        this.listeners.add(check)
        return Effect.sync(cleanup)
      })
    })
  }

  /**
   * `TestClient.drainTasks`: waits until every fiber the app's handlers forked (and the kit's
   * TaskQueue tasks) has ended, including work that work forks. Bounded by `timeout` on the
   * wall clock; from inside the app's tracked work it fails at once, as it would wait for
   * itself.
   */
  get drain(): Effect.Effect<void, DrainTimeout | DrainDeadlock> {
    const timeout = this.settings.drainTimeout
    return Effect.withFiber<void, DrainTimeout | DrainDeadlock>((current) => {
      const work = current.getRef(CurrentWork)
      if (work !== undefined && work.tracker === this) {
        return Effect.fail(
          new DrainDeadlock({ request: work.request ?? "a TaskQueue task queued outside any request" })
        )
      }
      return Effect.mapError(this.awaitIdle(timeout), () => {
        const running = this.running()
        return new DrainTimeout({
          timeout,
          running: running.lines,
          during: "drainTasks",
          notes: running.onTestClock ? [testClockHint] : []
        })
      })
    })
  }

  /**
   * At scope close, before the app shuts down: with `"drain"`, waits like `drain`, then
   * interrupts what is left and fails with `DrainTimeout` naming it; with `"interrupt"`,
   * interrupts background work at once, as a production shutdown does. Interrupted fibers are
   * awaited, bounded by `drainTimeout` too.
   */
  private get beforeShutdown(): Effect.Effect<void, DrainTimeout> {
    const { drainTimeout: timeout, backgroundWork: mode } = this.settings
    if (mode === "interrupt") return this.interruptAndAwait(timeout, 'backgroundWork: "interrupt" interrupted them')
    return Effect.catch(this.awaitIdle(timeout), () => {
      const running = this.running()
      this.interruptBackground()
      return Effect.flatMap(Effect.exit(this.awaitIdle(timeout)), (stopped) =>
        Effect.fail(
          this.report(
            [
              stopped._tag === "Failure"
                ? "The kit then interrupted them, but some ignore interruption and are still running."
                : 'The kit then interrupted them, so nothing outlives the test. Pass backgroundWork: "interrupt" to interrupt background work at scope close without failing, as a production shutdown does.'
            ],
            running
          )
        )
      )
    })
  }

  /**
   * At scope close, after the app has shut down: interrupts what is left of the app's work
   * (fibers forked by handlers that were still running when the scope began to close), and
   * anything of it met later, so nothing outlives the test.
   */
  get afterShutdown(): Effect.Effect<void, DrainTimeout> {
    return this.interruptAndAwait(this.settings.drainTimeout, "The kit interrupted them after the app shut down")
  }

  private interruptAndAwait(timeout: Duration.Duration, what: string): Effect.Effect<void, DrainTimeout> {
    return Effect.suspend(() => {
      this.interruptBackground()
      return Effect.mapError(this.awaitIdle(timeout), () => this.report([`${what}, but they ignore interruption.`]))
    })
  }

  /**
   * The kit's `TaskQueue`: tasks run detached from the request, as in production. Each task
   * (and what it forks) is background work of its own from the start, named by the request
   * that queued it: `drainTasks` waits for it even while that request's exchange is still in
   * progress. The client's scope close drains tasks (see `beforeShutdown`), then whatever is
   * left is interrupted.
   */
  readonly taskQueue: Effect.Effect<TaskQueueService, never, Scope.Scope> = Effect.map(
    FiberSet.make<void, never>(),
    (set) => ({
      fork: <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> =>
        Effect.asVoid(this.trackTask(FiberSet.run(set, logFailure(effect), { startImmediately: false }))),
      size: FiberSet.size(set)
    })
  )

  /**
   * Starts a task (`start` gives its fiber) as background work of its own, named by the
   * request that queued it, or as queued outside any request: the kit's TaskQueue, and an
   * app's own `TaskQueue.layer` through `TaskTracking`.
   */
  readonly trackTask = <A, E, R>(start: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.withFiber((caller) => {
      const queuedBy = caller.getRef(CurrentWork)
      const ours = queuedBy !== undefined && queuedBy.tracker === this
      // A caller outside the app's work (the app's startup, the test) runs with the hooks
      // while it forks: it is marked as met, so it is not taken for the task's work.
      if (!ours) this.seen.add(caller)
      const run = Effect.tap(start, (fiber) =>
        Effect.sync(() => {
          if (isFiber(fiber)) this.tasks.add(fiber)
        })
      )
      // The task's fiber is created with its work in context: counted from its creation.
      return this.hooked(
        Effect.provideService(run, CurrentWork, new Work(this, ours ? queuedBy.request : undefined, undefined))
      )
    })
}

/** A task as the queue runs it: its value dropped, a failure logged with its cause, as in production. */
const logFailure = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<void, never, R> =>
  effect.pipe(
    Effect.asVoid,
    Effect.catchCause((cause) => Effect.logError("TaskQueue: a background task failed", cause))
  )
