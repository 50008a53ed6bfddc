import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as Option from "effect/Option"
import * as Supervisor from "effect/Supervisor"
import { setWallTimer } from "./clock.js"
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
  private readonly listeners = new Set<() => void>()
  readonly value: Effect.Effect<void> = Effect.void

  constructor(readonly recorder: Recorder) {
    super()
    recorder.ownerOf = (fiber) => this.alive.get(fiber)
  }

  /** A request handler has started. */
  handler(fiber: Fiber.RuntimeFiber<unknown, unknown>, request: string): void {
    this.alive.set(fiber, request)
    fiber.addObserver(() => this.ended(fiber))
  }

  override onStart<A, E, R>(
    _context: Context.Context<R>,
    _effect: Effect.Effect<A, E, R>,
    parent: Option.Option<Fiber.RuntimeFiber<unknown, unknown>>,
    fiber: Fiber.RuntimeFiber<A, E>
  ): void {
    const owner = parent._tag === "Some" ? this.alive.get(parent.value) : undefined
    if (owner !== undefined) this.alive.set(fiber, owner)
  }

  override onEnd<A, E>(_value: Exit.Exit<A, E>, fiber: Fiber.RuntimeFiber<A, E>): void {
    this.ended(fiber)
  }

  private ended(fiber: Fiber.RuntimeFiber<unknown, unknown>): void {
    if (this.alive.delete(fiber)) for (const listener of this.listeners) listener()
  }

  /** Whether the current fiber is part of the app's tracked work. */
  owns(fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean {
    return this.alive.has(fiber)
  }

  get idle(): boolean {
    return this.alive.size === 0 && this.recorder.openAppSpans.size === 0
  }

  /** What still runs, one line each: fibers with their request, then open spans. */
  running(): ReadonlyArray<string> {
    const out: Array<string> = []
    for (const [fiber, request] of this.alive) {
      out.push(`fiber #${fiber.id().id} started by ${request}`)
    }
    for (const span of this.recorder.openAppSpans) {
      out.push(`open span "${span.name}" (${span.spanId}) started by ${span.owner ?? "the app"}`)
    }
    return out
  }

  /**
   * Waits, event-driven, until the tracked work is idle: no fiber running and no span
   * open, including work that work schedules. Bounded by `timeout` on the wall clock; from
   * inside tracked work it fails at once, since it would wait for itself.
   */
  drain(timeout: Duration.Duration): Effect.Effect<void, DrainTimeout | DrainDeadlock> {
    return Effect.withFiberRuntime((current) => {
      const request = this.alive.get(current)
      if (request !== undefined) return Effect.fail(new DrainDeadlock({ request }))
      if (this.idle) return Effect.void
      return Effect.async<void, DrainTimeout>((resume) => {
        const check = () => {
          if (!this.idle) return
          cleanup()
          resume(Effect.void)
        }
        const cancel = setWallTimer(timeout, () => {
          cleanup()
          resume(Effect.fail(new DrainTimeout({ timeout, running: this.running() })))
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
