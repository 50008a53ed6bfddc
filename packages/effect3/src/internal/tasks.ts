import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import type * as Option from "effect/Option"
import * as Supervisor from "effect/Supervisor"
import type * as TestClock from "effect/TestClock"
import { awaitFibers, setWallTimer } from "./clock.js"
import { DrainDeadlock, DrainTimeout } from "./errors.js"
import type { Recorder } from "./tracer.js"

/**
 * Tracks the app's work: every request handler fiber and every fiber they fork, however
 * (`fork`, `forkDaemon`, `forkIn`, `TaskQueue.fork`, and the forks of those), each tagged
 * with the request that started it. A `Supervisor` sees each fork as it happens.
 *
 * @internal
 */
export class Tracker extends Supervisor.AbstractSupervisor<void> {
  /** Live fibers of the app's work and the request each belongs to. */
  private readonly alive = new Map<Fiber.RuntimeFiber<unknown, unknown>, string>()
  /** The request handler each live fiber descends from. */
  private readonly roots = new Map<Fiber.RuntimeFiber<unknown, unknown>, Fiber.RuntimeFiber<unknown, unknown>>()
  /**
   * Handlers whose exchange is still open (no complete response yet, a stream being written,
   * a WebSocket). Work descending from one is part of its exchange (a stream's producers, a
   * WebSocket's readers); once the response is complete or the handler has ended, whatever
   * it still runs is background work.
   */
  private readonly handlers = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
  private readonly listeners = new Set<() => void>()
  readonly value: Effect.Effect<void> = Effect.void

  constructor(readonly recorder: Recorder) {
    super()
    recorder.ownerOf = (fiber) => this.alive.get(fiber)
    recorder.rootOf = (fiber) => this.roots.get(fiber)
  }

  /** The handler `fork` is about to start, for `onStart` to register. */
  private starting:
    | { readonly request: string; readonly started: (fiber: Fiber.RuntimeFiber<void>) => void }
    | undefined

  /**
   * Starts a request handler with `fork`, which must fork (at most) one root fiber in a
   * runtime this tracker supervises: `onStart` registers that fiber as the handler of
   * `request` before it runs its first step, then `started` is told of it. `fork` may be
   * a server's own dispatch (platform-node's request listener), which forks the handler.
   */
  startHandler<A>(request: string, started: (fiber: Fiber.RuntimeFiber<void>) => void, fork: () => A): A {
    this.starting = { request, started }
    try {
      return fork()
    } finally {
      this.starting = undefined
    }
  }

  /** The request a tracked fiber belongs to (`GET /feed`), if it is tracked. */
  requestOf(fiber: Fiber.RuntimeFiber<unknown, unknown>): string | undefined {
    return this.alive.get(fiber)
  }

  /** The request handlers still running (whatever their exchange's state). */
  liveHandlers(): Array<Fiber.RuntimeFiber<unknown, unknown>> {
    const out: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
    for (const [fiber, root] of this.roots) if (fiber === root) out.push(fiber)
    return out
  }

  /** A handler has written its whole response: its exchange is over, what it still runs is background. */
  responded(fiber: Fiber.RuntimeFiber<unknown, unknown>): void {
    if (this.handlers.delete(fiber)) for (const listener of this.listeners) listener()
  }

  override onStart<A, E, R>(
    _context: Context.Context<R>,
    _effect: Effect.Effect<A, E, R>,
    parent: Option.Option<Fiber.RuntimeFiber<unknown, unknown>>,
    fiber: Fiber.RuntimeFiber<A, E>
  ): void {
    if (parent._tag === "None") {
      const starting = this.starting
      if (starting === undefined) return
      this.starting = undefined
      this.alive.set(fiber, starting.request)
      this.roots.set(fiber, fiber)
      this.handlers.add(fiber)
      starting.started(fiber as unknown as Fiber.RuntimeFiber<void>)
      return
    }
    const owner = this.alive.get(parent.value)
    if (owner === undefined) return
    this.alive.set(fiber, owner)
    this.roots.set(fiber, this.roots.get(parent.value)!)
  }

  override onEnd<A, E>(_value: Exit.Exit<A, E>, fiber: Fiber.RuntimeFiber<A, E>): void {
    this.ended(fiber)
  }

  private ended(fiber: Fiber.RuntimeFiber<unknown, unknown>): void {
    // A handler's end can turn the work it left running into background work: listeners
    // re-check either way.
    const wasHandler = this.handlers.delete(fiber)
    this.roots.delete(fiber)
    if (this.alive.delete(fiber) || wasHandler) for (const listener of this.listeners) listener()
  }

  private isBackground(root: Fiber.RuntimeFiber<unknown, unknown> | undefined): boolean {
    return root !== undefined && !this.handlers.has(root)
  }

  /**
   * Background work still running: fibers (and open spans) left by handlers that have
   * ended. An exchange still in progress — a stream or WebSocket the test holds open, a
   * request in flight — is not background work, nor is what its handler runs for it.
   */
  private backgroundFibers(): Array<Fiber.RuntimeFiber<unknown, unknown>> {
    const fibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
    for (const [fiber, root] of this.roots) if (this.isBackground(root)) fibers.push(fiber)
    return fibers
  }

  get idle(): boolean {
    for (const root of this.roots.values()) if (this.isBackground(root)) return false
    for (const span of this.recorder.openAppSpans) if (this.isBackground(span.root)) return false
    return true
  }

  /**
   * Where a handler is stuck, for a timeout's message: the spans its work has open (the
   * innermost last) and whether it runs on a TestClock with sleeps pending.
   */
  whereIs(handler: Fiber.RuntimeFiber<unknown, unknown>): ReadonlyArray<string> {
    const out: Array<string> = []
    for (const span of this.recorder.openAppSpans) {
      if (span.root === handler) out.push(`in span "${span.name}"`)
    }
    const clock = testClockSleeps(handler)
    if (clock !== "") out.push(clock.trim().replace(/^\(|\)$/g, ""))
    return out
  }

  /** What background work still runs, one line each: fibers with their request, then open spans. */
  running(): ReadonlyArray<string> {
    const out: Array<string> = []
    for (const fiber of this.backgroundFibers()) {
      out.push(`fiber #${fiber.id().id} started by ${this.alive.get(fiber)}${testClockSleeps(fiber)}`)
    }
    for (const span of this.recorder.openAppSpans) {
      if (this.isBackground(span.root))
        out.push(`open span "${span.name}" (${span.spanId}) started by ${span.owner ?? "the app"}`)
    }
    return out
  }

  /**
   * Waits, event-driven, until the background work is idle: no forked fiber running and no
   * span of theirs open, including work that work schedules. Bounded by `timeout` on the
   * wall clock; from inside tracked work it fails at once, since it would wait for itself.
   */
  drain(timeout: Duration.Duration): Effect.Effect<void, DrainTimeout | DrainDeadlock> {
    return Effect.withFiberRuntime((current) => {
      const request = this.alive.get(current)
      if (request !== undefined) return Effect.fail(new DrainDeadlock({ request }))
      return Effect.mapError(
        this.awaitIdle(timeout),
        () => new DrainTimeout({ timeout, running: this.running(), during: "drainTasks", notes: [testClockHint] })
      )
    })
  }

  /**
   * At scope close: with `"drain"`, waits like `drain`, then interrupts what is left and
   * fails with `DrainTimeout` naming it; with `"interrupt"`, interrupts the background work at
   * once, as a production shutdown does. Either way nothing of the app's work outlives the
   * test: interrupted fibers are awaited (bounded by `timeout` too).
   */
  close(timeout: Duration.Duration, mode: "drain" | "interrupt"): Effect.Effect<void, DrainTimeout> {
    const interruptLeft = Effect.suspend(() => {
      const fibers = this.backgroundFibers()
      for (const fiber of fibers) fiber.unsafeInterruptAsFork(FiberId.none)
      return awaitFibers(fibers, timeout)
    })
    if (mode === "interrupt") {
      return Effect.flatMap(interruptLeft, (stuck) =>
        stuck.length === 0
          ? Effect.void
          : Effect.fail(
              new DrainTimeout({
                timeout,
                during: "scope close",
                running: stuck.map((fiber) => `fiber #${fiber.id().id} started by ${this.alive.get(fiber)}`),
                notes: ['backgroundWork: "interrupt" interrupted them, but they ignore interruption.']
              })
            )
      )
    }
    return Effect.catchAll(this.awaitIdle(timeout), () => {
      const running = this.running()
      return Effect.flatMap(interruptLeft, (stuck) =>
        Effect.fail(
          new DrainTimeout({
            timeout,
            during: "scope close",
            running,
            notes: [
              testClockHint,
              stuck.length === 0
                ? 'The kit then interrupted them, so nothing outlives the test. Pass backgroundWork: "interrupt" to interrupt background work at scope close without failing, as a production shutdown does.'
                : `The kit then interrupted them; ${stuck.length} ignore interruption and are still running.`
            ]
          })
        )
      )
    })
  }

  private awaitIdle(timeout: Duration.Duration): Effect.Effect<void, "timeout"> {
    return Effect.suspend(() => {
      if (this.idle) return Effect.void
      return Effect.async<void, "timeout">((resume) => {
        const check = () => {
          if (!this.idle) return
          cleanup()
          resume(Effect.void)
        }
        const cancel = setWallTimer(timeout, () => {
          cleanup()
          resume(Effect.fail("timeout"))
        })
        this.listeners.add(check)
        const unsubscribe = this.recorder.subscribe(check)
        const cleanup = () => {
          cancel()
          this.listeners.delete(check)
          unsubscribe()
        }
        return Effect.sync(cleanup)
      })
    })
  }
}

const testClockHint =
  "A fiber that sleeps on the TestClock (Effect.sleep, Schedule, timeouts under it.effect/it.scoped) only " +
  "wakes when the test advances it: TestClock.adjust(...) before draining, or run the test with it.live."

/**
 * Says whether a fiber runs on a TestClock that has sleeps pending, which is what a
 * background fiber stuck under `it.effect` is usually waiting for.
 */
const testClockSleeps = (fiber: Fiber.RuntimeFiber<unknown, unknown>): string => {
  const clock = Context.get(fiber.getFiberRef(DefaultServices.currentServices), Clock.Clock)
  if (!("sleeps" in clock) || !("adjust" in clock)) return ""
  const pending = Effect.runSync((clock as TestClock.TestClock).sleeps)
  if (pending.length === 0) return ""
  const now = clock.unsafeCurrentTimeMillis()
  const next = Math.min(...pending) - now
  return (
    ` (it runs on the TestClock, which has ${pending.length} sleep(s) pending, the next due in ` +
    `${Duration.format(Duration.millis(Math.max(0, next)))}: TestClock.adjust("${Math.max(0, next)} millis") wakes it)`
  )
}
