/**
 * Subjects run each in a child process of its own (both editions). Subjects sharing a process
 * change each other's cost: V8 learns allocation sites (pretenuring) and call-site shapes
 * from one subject and applies them to the next, and one subject's retained heap makes the
 * next one's garbage collections dearer. A scenario that compares subjects running the same
 * Effect runtime (the GET round trip, SSE parsing) starts one worker per subject, keeps them
 * all up for the whole comparison, and asks one at a time for a timed run, rotating the
 * order every round (`compare` in ./harness.ts).
 *
 * The worker (an edition's bench file calling `serveWorker`) builds its subject from its
 * arguments, says it is ready, then answers each "run" with one timed run (a `Sample`), until
 * "exit", over Node's IPC channel.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createRequire } from "node:module"
import * as path from "node:path"
import { compare, type Measurement, measureOnce, type Sample } from "./harness.js"

/**
 * How to start an edition's worker: a command run with `--expose-gc`, its vite-node and
 * config, and the worker file; the subject's own arguments follow.
 */
export interface WorkerCommand {
  /** The executable (this process's Node, so the worker runs on the same Node). */
  readonly command: string
  /** The arguments before the subject's own. */
  readonly args: ReadonlyArray<string>
  readonly cwd: string
}

/** vite-node wherever npm installed it (the workspace hoists it to the repository root). */
export const viteNode = path.join(
  path.dirname(createRequire(import.meta.url).resolve("vite-node/package.json")),
  "vite-node.mjs"
)

/**
 * The worker command of an edition's bench: `file` (in its bench/) run with vite-node and the
 * package's vitest config, whose aliases resolve the kit and its core to their sources.
 */
export const editionWorker = (benchDir: string, file: string): WorkerCommand => ({
  command: process.execPath,
  args: [
    "--expose-gc",
    viteNode,
    "--config",
    path.resolve(benchDir, "../vitest.config.ts"),
    path.resolve(benchDir, file)
  ],
  cwd: path.resolve(benchDir, "..")
})

type Message<I> = { readonly ready: I } | { readonly sample: Sample }
type Command = "run" | "exit"

/** How long a worker may take to start (build, compile, warm up), and one timed run. */
const startMillis = 180_000
const runMillisBound = 180_000
/** How long a worker may take to exit once told to, before it is killed. */
const exitMillis = 10_000

/** A worker process running one subject, answering `run` with a Sample. */
export interface Worker<I> {
  /** What the worker said when it was ready (its input's size, its request count, ...). */
  readonly info: I
  readonly run: () => Promise<Sample>
  /** Tells it to dispose of its subject and exit; rejects if it did not exit cleanly. */
  readonly close: () => Promise<void>
}

/**
 * Starts a worker with the subject's `args`; resolves once it is ready. Messages go over
 * Node's IPC channel (the worker's stdout and stderr are passed through as they are). A
 * worker that exits, fails or takes longer than the bounds above rejects what waits on it,
 * so the bench fails rather than hangs.
 */
export const startWorker = <I>(worker: WorkerCommand, args: ReadonlyArray<string>): Promise<Worker<I>> =>
  new Promise((resolveStart, rejectStart) => {
    const label = `bench worker ${args.join(" ")}`
    const child: ChildProcess = spawn(worker.command, [...worker.args, ...args], {
      cwd: worker.cwd,
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    /** What waits on the worker now: its start, or one run. */
    let waiting: { readonly reject: (error: Error) => void; readonly timer: NodeJS.Timeout } | undefined
    let onSample: ((sample: Sample) => void) | undefined
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
    let closing = false
    const bounded = (millis: number, what: string, reject: (error: Error) => void) => {
      const timer = setTimeout(() => {
        reject(new Error(`${label}: ${what} took longer than ${millis / 1000} s; killed`))
        child.kill("SIGKILL")
      }, millis)
      waiting = { reject, timer }
    }
    const settle = () => {
      if (waiting !== undefined) clearTimeout(waiting.timer)
      waiting = undefined
    }
    const exited = new Promise<void>((resolveExit) => {
      child.on("exit", (code, signal) => {
        exit = { code, signal }
        const pending = waiting
        settle()
        pending?.reject(new Error(`${label} exited (code ${code}, signal ${signal})`))
        resolveExit()
      })
    })
    child.on("error", (error) => {
      const pending = waiting
      settle()
      pending?.reject(error)
    })
    const send = (command: Command) => {
      if (exit === undefined && child.connected) child.send(command)
    }
    bounded(startMillis, "starting", rejectStart)
    child.on("message", (raw) => {
      const message = raw as Message<I>
      if ("ready" in message) {
        settle()
        resolveStart({
          info: message.ready,
          run: () =>
            new Promise<Sample>((resolve, reject) => {
              if (exit !== undefined) return reject(new Error(`${label} is gone`))
              bounded(runMillisBound, "a run", reject)
              onSample = (sample) => {
                settle()
                resolve(sample)
              }
              send("run")
            }),
          close: async () => {
            if (exit === undefined && !closing) {
              closing = true
              send("exit")
              const timer = setTimeout(() => child.kill("SIGKILL"), exitMillis)
              await exited
              clearTimeout(timer)
            }
            await exited
            if (exit?.code !== 0) {
              throw new Error(`${label} did not exit cleanly (code ${exit?.code}, signal ${exit?.signal})`)
            }
          }
        })
      } else {
        const deliver = onSample
        onSample = undefined
        deliver?.(message.sample)
      }
    })
  })

/**
 * Starts one worker per entry of `args`, one after another (a worker's start-up does not
 * overlap another's); if one fails to start, the ones started are closed and it throws.
 */
export const startWorkers = async <I>(
  worker: WorkerCommand,
  args: ReadonlyArray<ReadonlyArray<string>>
): Promise<ReadonlyArray<Worker<I>>> => {
  const workers: Array<Worker<I>> = []
  try {
    for (const a of args) workers.push(await startWorker<I>(worker, a))
    return workers
  } catch (error) {
    // The start's failure is the one to report, whatever the others' closing says.
    await closeWorkers(workers).catch(() => undefined)
    throw error
  }
}

/** Closes every worker; rejects, once all are closed, if any did not exit cleanly. */
export const closeWorkers = async (workers: ReadonlyArray<Worker<unknown>>): Promise<void> => {
  const closed = await Promise.allSettled(workers.map((w) => w.close()))
  const failed = closed.flatMap((c) => (c.status === "rejected" ? [c.reason] : []))
  if (failed.length !== 0) throw failed[0]
}

/** A subject as a worker builds it: `run` is one timed run. */
export interface WorkerSubject<I> {
  readonly info: I
  readonly run: () => Promise<unknown>
  readonly dispose?: () => Promise<void>
  /** Whether each timed run starts with a full GC (`measureOnce`). */
  readonly collect: boolean
}

/**
 * The worker's side: builds the subject named by the process arguments (after the worker
 * file), says it is ready, answers each "run" with one timed run, and on "exit" disposes of
 * the subject and exits.
 */
export const serveWorker = <I>(make: (args: ReadonlyArray<string>) => Promise<WorkerSubject<I>>): void => {
  const say = (message: Message<I>) => {
    process.send?.(message)
  }
  const fail = (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
  if (process.send === undefined) fail(new Error("a bench worker runs with an IPC channel (see startWorker)"))
  make(process.argv.slice(2)).then((subject) => {
    let queue = Promise.resolve()
    const exit = async () => {
      await subject.dispose?.()
      process.exit(0)
    }
    process.on("message", (command: Command) => {
      queue = queue.then(async () => {
        if (command === "run") say({ sample: await measureOnce(subject.run, subject.collect) })
        else if (command === "exit") await exit()
      })
      queue.catch(fail)
    })
    // The parent went away: nothing more to answer.
    process.on("disconnect", () => {
      queue = queue.then(exit)
      queue.catch(fail)
    })
    say({ ready: subject.info })
  }, fail)
}

/** How long a steady-state worker runs its subject before it says it is ready. */
const warmupMillis = 2_000
/** About how long each timed run of a steady-state worker lasts. */
const runMillis = 500

/**
 * Runs `run` for 2 s, at least 3 times: the JIT optimises a subject's code after some
 * thousands of operations, and a subject timed before would be timed while it is still being
 * compiled. Returns how long the last run took, in milliseconds.
 */
export const warmUp = async (run: () => Promise<unknown>): Promise<number> => {
  const began = performance.now()
  let last = 0
  for (let i = 0; i < 3 || performance.now() - began < warmupMillis; i++) {
    const start = performance.now()
    await run()
    last = performance.now() - start
  }
  return last
}

/** A subject as an edition makes it for a steady-state worker: `n` operations per `run`. */
export interface Made {
  readonly name: string
  readonly n: number
  readonly run: () => Promise<unknown>
  readonly dispose?: () => Promise<unknown>
  /**
   * `false`: every timed run is one run of the subject's own, already long (a 256 MiB
   * stream). By default it is repeated to last about half a second.
   */
  readonly repeat?: boolean
  /**
   * `true`: a full GC before each timed run, so its peak RSS growth starts from the live heap
   * (a scenario with an RSS target). By default none.
   */
  readonly collect?: boolean
}

/** Each scenario's subjects, by key: what an edition's bench/worker.ts serves. */
export type ScenarioMakers = Readonly<Record<string, Readonly<Record<string, () => Promise<Made>>>>>

/** What a steady-state worker says once its subject is warm. */
export interface MadeInfo {
  readonly name: string
  /** Operations per timed run (the subject's own `n` times the runs repeated to fill one). */
  readonly n: number
}

/**
 * The worker's side for steady-state subjects: makes the subject named by the process
 * arguments (`<scenario> <key>`), warms it, and serves its timed runs.
 *
 * - Warmed for 2 s (at least 3 runs) before the first timed run, whatever its own count: the
 *   JIT optimises a subject's code after some thousands of operations, and a subject making
 *   fewer per run would otherwise be timed while it is still being compiled.
 * - Every timed run repeats the subject's own run to last about half a second, whatever its
 *   speed: long enough for its share of garbage collections to even out (unless `repeat` is
 *   `false`).
 * - No forced full GC before a run (`measureOnce`): the subject is timed in the steady state
 *   of its own heap; a run's peak RSS growth is from the heap as it was (unless `collect`).
 */
export const serveMade = (makers: ScenarioMakers): void =>
  serveWorker<MadeInfo>(async ([scenario, key]) => {
    const make = makers[scenario]?.[key]
    if (make === undefined) {
      const known = Object.entries(makers).map(([name, keys]) => `${name} <${Object.keys(keys).join("|")}>`)
      throw new Error(`usage: worker.ts <scenario> <subject>, one of: ${known.join("; ")}; got ${scenario} ${key}`)
    }
    const made = await make()
    const last = await warmUp(made.run)
    const repeats = made.repeat === false ? 1 : Math.max(1, Math.round(runMillis / Math.max(last, 1e-3)))
    return {
      info: { name: made.name, n: made.n * repeats },
      run: async () => {
        for (let i = 0; i < repeats; i++) await made.run()
      },
      collect: made.collect === true,
      ...(made.dispose === undefined ? {} : { dispose: async () => void (await made.dispose?.()) })
    }
  })

/**
 * Starts a steady-state worker for each of `keys` of `scenario` and compares them
 * (`compare`: one warm-up, then `runs` rotating rounds). Their names say "[own process]".
 */
export const compareMade = async <K extends string>(
  worker: WorkerCommand,
  scenario: string,
  keys: ReadonlyArray<K>,
  runs: number
): Promise<{
  readonly subjects: ReadonlyArray<MadeInfo & { readonly key: K }>
  readonly measured: ReadonlyArray<Measurement>
}> => {
  const workers = await startWorkers<MadeInfo>(
    worker,
    keys.map((key) => [scenario, key])
  )
  try {
    const subjects = workers.map((w, i) => ({ key: keys[i], name: `${w.info.name} [own process]`, n: w.info.n }))
    const measured = await compare(
      subjects.map((s, i) => ({ name: s.name, sample: workers[i].run })),
      runs
    )
    return { subjects, measured }
  } finally {
    await closeWorkers(workers)
  }
}
