/**
 * The package as a user installs it: built with `npm run build`, packed with `npm pack` (so
 * `files` and `exports` are what is tested), unpacked into a temporary project whose other
 * dependencies are this repository's own (symlinked: nothing is downloaded; Effect 4 and
 * platform-node 4 from this package's own node_modules, the rest from the repository's), then:
 *
 * - compiled by a strict consumer, with `skipLibCheck: false` and declarations emitted, under
 *   `NodeNext` and under `Bundler` resolution: a wrong export path fails to resolve, and a
 *   public type that names an internal one fails the declaration emit ("cannot be named
 *   without a reference to .../dist/internal/...");
 * - loaded by Node from every entry point, and used: a request served in process;
 * - walked with the compiler API from every public export, failing on any named type it
 *   reaches that a user cannot import;
 * - for `@effect-http-testkit/effect4/TaskQueue`, production code: its built import graph holds
 *   only `effect` and its own helpers, and it runs in a project where only `effect` is installed.
 *
 * The entry points come from the package's `exports`, so a module added there is covered.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("..", import.meta.url))
/** The repository: the workspace holding this package and the core beside it. */
const repo = path.resolve(root, "..", "..")
/** Where npm installed the workspace's dependencies (hoisted to the repository root). */
const repoModules = path.join(repo, "node_modules")
/** This package's own dependencies, nested: Effect 4, platform-node 4, vitest 5. */
const ownModules = path.join(root, "node_modules")
const tsc = path.join(repoModules, "typescript", "bin", "tsc")
const packageName = "@effect-http-testkit/effect4"
const corePackage = "@effect-http-testkit/core"

/** Runs a command; resolves with its exit code and its output (stdout and stderr, in order). */
const run = (
  file: string,
  args: ReadonlyArray<string>,
  cwd: string
): Promise<{ readonly code: number; readonly output: string }> =>
  new Promise((resolve) => {
    execFile(file, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
      resolve({
        code,
        output: `${stdout}${stderr}${error !== null && typeof error.code !== "number" ? error.message : ""}`
      })
    })
  })

const runOk = async (file: string, args: ReadonlyArray<string>, cwd: string): Promise<string> => {
  const result = await run(file, args, cwd)
  if (result.code !== 0) {
    throw new Error(
      `${path.basename(file)} ${args.join(" ")} (in ${cwd}) exited with ${result.code}:\n${result.output}`
    )
  }
  return result.output
}

type Exports = Record<string, string | { readonly types: string; readonly import: string }>
interface Manifest {
  readonly version: string
  readonly main?: string
  readonly types?: string
  readonly sideEffects?: boolean
  readonly engines?: Record<string, string>
  readonly exports: Exports
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
}

let tmp = ""
/** The unpacked package, as `node_modules/@effect-http-testkit/effect4` of the consumer project. */
let pkg = ""
/** The unpacked core, as `node_modules/@effect-http-testkit/core` of the consumer project. */
let core = ""
let consumer = ""
/** What `npm pack` put in each tarball. */
let packed: ReadonlyArray<string> = []
let corePacked: ReadonlyArray<string> = []
let manifest: Manifest
/** The consumer's two compiles, started together once the project is written (tsc is slow). */
const projects = [
  ["NodeNext", "tsconfig.nodenext.json"],
  ["Bundler", "tsconfig.bundler.json"]
] as const
const compiles = new Map<string, Promise<{ readonly code: number; readonly output: string }>>()

/** The packages of a node_modules directory, by name (`@scope/name` for scoped ones). */
const packagesIn = (modules: string): Map<string, string> => {
  const found = new Map<string, string>()
  for (const name of fs.readdirSync(modules)) {
    if (name.startsWith(".")) continue
    if (name.startsWith("@")) {
      for (const scoped of fs.readdirSync(path.join(modules, name))) {
        if (!scoped.startsWith(".")) found.set(`${name}/${scoped}`, path.join(modules, name, scoped))
      }
    } else {
      found.set(name, path.join(modules, name))
    }
  }
  return found
}

/**
 * Links the packages of `layers` into `modules`, a later layer's package replacing an earlier
 * one's of the same name (this package's Effect 4 over the repository's Effect 3), but the
 * workspace's own; and the repository's `.bin` (the builds run `tsc` from it, whoever started
 * the suite).
 */
const linkDependencies = (modules: string, layers: ReadonlyArray<string>): void => {
  const chosen = new Map<string, string>()
  for (const layer of layers) for (const [name, dir] of packagesIn(layer)) chosen.set(name, dir)
  fs.mkdirSync(modules, { recursive: true })
  fs.symlinkSync(path.join(repoModules, ".bin"), path.join(modules, ".bin"), "junction")
  for (const [name, dir] of chosen) {
    if (name === "effect-http-testkit" || name.startsWith("@effect-http-testkit/")) continue
    fs.mkdirSync(path.dirname(path.join(modules, name)), { recursive: true })
    fs.symlinkSync(dir, path.join(modules, name), "junction")
  }
}

/** Packs a staged, built workspace package and unpacks it to `into`. */
const pack = async (dir: string, into: string): Promise<ReadonlyArray<string>> => {
  const result = JSON.parse(
    await runOk("npm", ["pack", "--json", "--ignore-scripts", "--silent", "--pack-destination", tmp], dir)
  ) as ReadonlyArray<{ readonly filename: string; readonly files: ReadonlyArray<{ readonly path: string }> }>
  await runOk("tar", ["-xzf", path.join(tmp, result[0]!.filename), "-C", tmp], tmp)
  fs.mkdirSync(path.dirname(into), { recursive: true })
  fs.renameSync(path.join(tmp, "package"), into)
  return result[0]!.files.map((file) => file.path)
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "eht4-consumer-"))

  // A copy of what the builds read, laid out as the repository is and built with each
  // package's own build script, so the test never writes to the working tree's dist/ (and two
  // runs of the suite cannot collide). The staged core is what the staged package builds
  // against, as npm's workspace link makes it in the repository.
  const staging = path.join(tmp, "staging")
  fs.mkdirSync(staging)
  fs.copyFileSync(path.join(repo, "tsconfig.base.json"), path.join(staging, "tsconfig.base.json"))
  // The workspace root, so the package's build script can build the core beside it first.
  fs.writeFileSync(
    path.join(staging, "package.json"),
    JSON.stringify({ name: "staging", private: true, workspaces: ["packages/core", "packages/effect4"] })
  )
  const stage = (name: string): string => {
    const from = path.join(repo, "packages", name)
    const to = path.join(staging, "packages", name)
    fs.mkdirSync(to, { recursive: true })
    for (const file of [
      "package.json",
      "README.md",
      "CHANGELOG.md",
      "LICENSE",
      "tsconfig.json",
      "tsconfig.build.json"
    ]) {
      if (fs.existsSync(path.join(from, file))) fs.copyFileSync(path.join(from, file), path.join(to, file))
    }
    fs.cpSync(path.join(from, "src"), path.join(to, "src"), { recursive: true })
    return to
  }
  const stagedCore = stage("core")
  const stagedPackage = stage("effect4")
  linkDependencies(path.join(staging, "node_modules"), [repoModules])
  fs.mkdirSync(path.join(staging, "node_modules", "@effect-http-testkit"), { recursive: true })
  fs.symlinkSync(stagedCore, path.join(staging, "node_modules", ...corePackage.split("/")), "junction")
  // As in the repository: Effect 4 and platform-node 4 nested in the package's node_modules.
  fs.symlinkSync(ownModules, path.join(stagedPackage, "node_modules"), "junction")

  // The consumer: both unpacked tarballs, and every other dependency from this repository.
  consumer = path.join(tmp, "consumer")
  const modules = path.join(consumer, "node_modules")
  linkDependencies(modules, [repoModules, ownModules])
  // The package's own build script builds the core beside it first: one build makes both.
  await runOk("npm", ["run", "build", "--silent"], stagedPackage)
  core = path.join(modules, ...corePackage.split("/"))
  corePacked = await pack(stagedCore, core)
  pkg = path.join(modules, ...packageName.split("/"))
  packed = await pack(stagedPackage, pkg)
  manifest = JSON.parse(fs.readFileSync(path.join(pkg, "package.json"), "utf8"))
  writeConsumer(consumer)
  for (const [resolution, project] of projects) {
    compiles.set(resolution, run(process.execPath, [tsc, "-p", project], consumer))
  }
}, 180_000)

afterAll(async () => {
  await Promise.all(compiles.values())
  if (tmp !== "") fs.rmSync(tmp, { recursive: true, force: true })
}, 180_000)

/** A package's entry points, from its `exports`: subpath and built `.d.ts`/`.js`. */
const entriesOf = (
  exports: Exports
): ReadonlyArray<{ readonly subpath: string; readonly types: string; readonly js: string }> =>
  Object.entries(exports).flatMap(([subpath, target]) =>
    typeof target === "string" ? [] : [{ subpath, types: target.types, js: target.import }]
  )
const entries = () => entriesOf(manifest.exports)

/** The built top-level modules a module re-exports (`export * as X from "./X.js"`). */
const reexported = (file: string): ReadonlyArray<string> => {
  const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
  return source.statements.flatMap((statement) =>
    ts.isExportDeclaration(statement) &&
    statement.moduleSpecifier !== undefined &&
    ts.isStringLiteral(statement.moduleSpecifier) &&
    statement.moduleSpecifier.text.startsWith("./")
      ? [path.resolve(path.dirname(file), statement.moduleSpecifier.text)]
      : []
  )
}

describe("the packed package", () => {
  it("holds every file its exports name; the main module and TaskQueue are entry points", () => {
    const subpaths = entries().map((entry) => entry.subpath)
    expect(subpaths).toContain(".")
    expect(subpaths).toContain("./TaskQueue")
    expect(manifest.exports["./package.json"]).toBe("./package.json")
    for (const entry of entries()) {
      expect(packed).toContain(entry.types.replace(/^\.\//, ""))
      expect(packed).toContain(entry.js.replace(/^\.\//, ""))
    }
    expect(packed).toContain(manifest.main!.replace(/^\.\//, ""))
    expect(packed).toContain(manifest.types!.replace(/^\.\//, ""))
    expect(packed).toContain("package.json")
    expect(packed).toContain("README.md")
    expect(packed).toContain("LICENSE")
    expect(packed).toContain("CHANGELOG.md")
    // The declaration and source maps point into src/, which is packed with them.
    expect(packed).toContain("src/index.ts")
    expect(packed.filter((file) => file.startsWith("test/") || file.startsWith("node_modules/"))).toEqual([])
  })

  it("every public module (each top-level module of src) is an entry point or a namespace of the main one", () => {
    const dist = path.join(pkg, "dist")
    const reachable = new Set([
      ...entries().map((entry) => path.join(pkg, entry.js)),
      ...reexported(path.join(dist, "index.js"))
    ])
    const modules = fs
      .readdirSync(path.join(pkg, "src"))
      .filter((file) => file.endsWith(".ts"))
      .map((file) => path.join(dist, file.replace(/\.ts$/, ".js")))
    expect(modules.length).toBeGreaterThan(2)
    expect(modules.filter((file) => !reachable.has(file))).toEqual([])
  })

  it("declares what a user installs it with: Node >= 22.12, Effect 4.1 and platform-node 4.1 as peers", () => {
    expect(manifest.engines?.node).toBe(">=22.12")
    expect(manifest.peerDependencies?.effect).toBe("^4.1.0")
    expect(manifest.peerDependencies?.["@effect/platform-node"]).toBe("^4.1.0")
    expect(manifest.sideEffects).toBe(false)
    // The peers are not also dependencies (npm would install a second Effect).
    expect(
      Object.keys(manifest.dependencies ?? {}).filter((name) => name in (manifest.peerDependencies ?? {}))
    ).toEqual([])
  })

  it.each(projects)(
    "a strict consumer compiles against it with %s resolution (skipLibCheck off, declarations emitted)",
    async (resolution) => {
      const result = await compiles.get(resolution)!
      expect(result.output).toBe("")
      expect(result.code).toBe(0)
    },
    120_000
  )

  it("Node loads every entry point, and the main one serves an app in process", async () => {
    const script = path.join(consumer, "load.mjs")
    fs.writeFileSync(
      script,
      `const subpaths = ${JSON.stringify(entries().map((entry) => entry.subpath))}
const loaded = {}
for (const subpath of subpaths) {
  loaded[subpath] = await import(${JSON.stringify(packageName)} + subpath.slice(1))
  console.log(subpath + ": " + (Object.keys(loaded[subpath]).length > 0))
}
const { TestClient, TaskQueue } = loaded["."]
console.log("one TaskQueue: " + (TaskQueue.TaskQueue === loaded["./TaskQueue"].TaskQueue))
const { Effect } = await import("effect")
const { HttpRouter, HttpServerResponse } = await import("effect/http")
const app = HttpRouter.add("GET", "/hello", HttpServerResponse.text("hello"))
const answer = await Effect.runPromise(
  Effect.gen(function* () {
    const response = yield* TestClient.get("/hello")
    return response.status + " " + (yield* response.text)
  }).pipe(Effect.provide(TestClient.layer(app)))
)
console.log("served: " + answer)
`
    )
    const result = await run(process.execPath, [script], consumer)
    expect(result.output).toBe(
      `${entries()
        .map((entry) => `${entry.subpath}: true\n`)
        .join("")}one TaskQueue: true\nserved: 200 hello\n`
    )
    expect(result.code).toBe(0)
  }, 60_000)

  it("every package the built entries import is a dependency or a peer dependency of the package", () => {
    const declared = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {})
    ])
    // `@effect/platform-node/NodeStream` is the package `@effect/platform-node`, `effect/http` is `effect`.
    const packageOf = (specifier: string) =>
      specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]
    const graphs = entries().map((entry) => importGraph(path.join(pkg, entry.js)))
    expect(graphs.flatMap((graph) => graph.dynamic)).toEqual([])
    const imported = new Set(graphs.flatMap((graph) => graph.packages.map(packageOf)))
    const undeclared = Array.from(imported).filter((name) => !name.startsWith("node:") && !declared.has(name))
    expect(undeclared).toEqual([])
    expect(imported.has("effect")).toBe(true)
    expect(imported.has("@effect/platform-node")).toBe(true)
    expect(imported.has(corePackage)).toBe(true)
  })

  it("no public export reaches a named type that users cannot import", () => {
    expect(findLeaks(pkg, entries())).toEqual([])
  }, 60_000)
})

describe("the packed core, @effect-http-testkit/core", () => {
  const coreManifest = (): Manifest => JSON.parse(fs.readFileSync(path.join(core, "package.json"), "utf8"))
  const coreEntries = () => entriesOf(coreManifest().exports)

  it("holds every file its exports name: the rules and the scenario tables", () => {
    expect(coreEntries().map((entry) => entry.subpath)).toEqual([".", "./scenarios"])
    for (const entry of coreEntries()) {
      expect(corePacked).toContain(entry.types.replace(/^\.\//, ""))
      expect(corePacked).toContain(entry.js.replace(/^\.\//, ""))
    }
    expect(corePacked.filter((file) => file.startsWith("test/") || file.startsWith("node_modules/"))).toEqual([])
  })

  it("is what the package depends on, at the very version packed beside it", () => {
    expect(manifest.dependencies?.[corePackage]).toBe(coreManifest().version)
  })

  it("its built modules import only Node built-ins and its declared dependencies, statically: nothing of Effect", () => {
    const declared = new Set(Object.keys(coreManifest().dependencies ?? {}))
    expect(Object.keys(coreManifest().peerDependencies ?? {})).toEqual([])
    const graphs = coreEntries().map((entry) => importGraph(path.join(core, entry.js)))
    expect(graphs.flatMap((graph) => graph.dynamic)).toEqual([])
    const imported = graphs.flatMap((graph) => graph.packages)
    expect(imported.filter((name) => !name.startsWith("node:") && !declared.has(name.split("/")[0]!))).toEqual([])
    expect(imported).toContain("tough-cookie")
  })

  it("runs where only its own dependencies are installed: the package's cookie jar and SSE parser", async () => {
    const app = path.join(tmp, "core-only")
    fs.mkdirSync(path.join(app, "node_modules", "@effect-http-testkit"), { recursive: true })
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ type: "module", private: true }))
    for (const name of Object.keys(coreManifest().dependencies ?? {})) {
      fs.symlinkSync(path.join(repoModules, name), path.join(app, "node_modules", name), "junction")
    }
    // tough-cookie's own dependency (tldts) resolves from the repository's node_modules by its real path.
    fs.cpSync(core, path.join(app, "node_modules", ...corePackage.split("/")), { recursive: true })
    fs.writeFileSync(
      path.join(app, "main.js"),
      `import { Jar, SseParser } from "@effect-http-testkit/core"
import { cookieCases } from "@effect-http-testkit/core/scenarios"

const jar = new Jar()
jar.store(["session=abc; Path=/"], "http://testserver/login")
const events = []
new SseParser().push(new TextEncoder().encode("data: hi\\n\\n"), events)
console.log(jar.header("http://testserver/"), JSON.stringify(events), cookieCases.length > 0)
let effect = "installed"
try { await import("effect") } catch (error) { effect = error.code }
console.log("effect: " + effect)
`
    )
    const result = await run(process.execPath, ["main.js"], app)
    expect(result.output).toBe('session=abc [{"data":"hi"}] true\neffect: ERR_MODULE_NOT_FOUND\n')
    expect(result.code).toBe(0)
  }, 60_000)

  it("no public export reaches a named type that users cannot import", () => {
    expect(findLeaks(core, coreEntries())).toEqual([])
  }, 60_000)
})

describe("@effect-http-testkit/effect4/TaskQueue", () => {
  it("imports nothing but effect and its own helpers (the built import graph)", () => {
    const graph = importGraph(path.join(pkg, "dist", "TaskQueue.js"))
    expect(graph.packages.filter((name) => name !== "effect" && !name.startsWith("effect/"))).toEqual([])
    expect(graph.dynamic).toEqual([])
    expect(
      graph.files.map((file) => path.relative(path.join(pkg, "dist"), file).split(path.sep).join("/")).sort()
    ).toEqual(["TaskQueue.js", "internal/clock.js"])
  })

  it("runs in an app that has only effect installed", async () => {
    const app = path.join(tmp, "effect-only")
    fs.mkdirSync(path.join(app, "node_modules", "@effect-http-testkit"), { recursive: true })
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ type: "module", private: true }))
    fs.symlinkSync(path.join(ownModules, "effect"), path.join(app, "node_modules", "effect"), "junction")
    // A copy, not a link: Node resolves a link to its real path, whose neighbours are the
    // consumer's full node_modules.
    fs.cpSync(pkg, path.join(app, "node_modules", ...packageName.split("/")), { recursive: true })
    fs.writeFileSync(
      path.join(app, "main.js"),
      `import { Deferred, Effect } from "effect"
import * as TaskQueue from "@effect-http-testkit/effect4/TaskQueue"

const program = Effect.gen(function* () {
  const done = yield* Deferred.make()
  yield* TaskQueue.fork(Deferred.succeed(done, "task ran"))
  return yield* Deferred.await(done)
}).pipe(Effect.provide(TaskQueue.layer))
console.log(await Effect.runPromise(program))
let main = "loaded"
try { await import("@effect-http-testkit/effect4") } catch (error) { main = error.code }
console.log("main entry: " + main)
`
    )
    const result = await run(process.execPath, ["main.js"], app)
    expect(result.output).toBe("task ran\nmain entry: ERR_MODULE_NOT_FOUND\n")
    expect(result.code).toBe(0)
  }, 60_000)
})

// ---------------------------------------------------------------------------
// the consumer project
// ---------------------------------------------------------------------------

const consumerSource = `import {
  TaskQueue as TaskQueueForTests,
  TestClient,
  TestStream,
  TestTracer,
  type TestWebSocket
} from "@effect-http-testkit/effect4"
import * as TaskQueue from "@effect-http-testkit/effect4/TaskQueue"
import { Context, Effect, Layer, Schema, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"

// ----- production code -----

export class Greeter extends Context.Service<Greeter, { readonly greet: (name: string) => string }>()("Greeter") {}

export const greet = Effect.gen(function* () {
  const greeter = yield* Greeter
  const { name } = yield* HttpRouter.schemaPathParams(Schema.Struct({ name: Schema.String }))
  yield* TaskQueue.fork(Effect.log("greeted"))
  return HttpServerResponse.text(greeter.greet(name))
})

export const echo = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const socket = yield* request.upgrade
  const { write } = yield* socket.writer
  const { pull } = yield* socket.reader
  const frames = yield* pull
  yield* write(\`echo: \${String(frames[0])}\`)
  return HttpServerResponse.empty()
})

export const Routes = Layer.mergeAll(
  HttpRouter.add("GET", "/hello/:name", greet),
  HttpRouter.add("GET", "/feed", HttpServerResponse.text("a\\nb\\n")),
  HttpRouter.add("GET", "/echo", echo)
)

export const ServicesLive = Layer.mergeAll(
  Layer.succeed(Greeter)({ greet: (name) => \`hello \${name}\` }),
  TaskQueue.layer
)
export const SlowShutdown: Layer.Layer<TaskQueue.TaskQueue, TaskQueue.InvalidOptions> = TaskQueue.layerWith({
  shutdownTimeout: "1 second"
})
export const options: TaskQueue.Options = { shutdownTimeout: 1000 }
export const AppLive = Routes.pipe(Layer.provide(ServicesLive))
export const ServerLive = HttpRouter.serve(AppLive)

// ----- tests: inferred types, written out as declarations -----

export const sameTag: typeof TaskQueueForTests.TaskQueue = TaskQueue.TaskQueue

export const TestApp = TestClient.layer(Routes, { baseUrl: "http://example.test" })
export const TestAppLive = TestApp.pipe(Layer.provide(Layer.succeed(Greeter)({ greet: (name) => \`hi \${name}\` })))
export const TestServer = TestClient.layerServer(ServerLive, { serverErrors: "respond", spanLimit: 100 })
export const Migrated = TestClient.layerTest
export const MigratedTyped: Layer.Layer<TestClient.TestOutputs> = TestClient.layerTestWith({ timeout: "5 seconds" })
export const provided = (services: TestClient.Provided): TestClient.Provided => services
export const Sockets = TestClient.layerWebSocket("/echo").pipe(Layer.provide(TestAppLive))
export const Constructor = TestClient.layerWebSocketConstructor
export const Tracer = TestTracer.layer
export const TracerWith = TestTracer.layerWith({ spanLimit: 10 })

export const hello = Effect.gen(function* () {
  const response = yield* TestClient.get("/hello/ada", { headers: { accept: "text/plain" } })
  const typed: TestClient.TestResponse = response
  const text = yield* response.text
  const span = yield* TestTracer.getSpan(response.spanId)
  const recorded: TestTracer.RecordedSpan = span
  const tree = yield* TestTracer.render(response.spanId)
  yield* TestClient.drainTasks
  const exchanges: ReadonlyArray<TestClient.Exchange> = yield* TestClient.exchanges
  yield* TestClient.setCookie("session", "abc", { path: "/", httpOnly: true })
  const cookies = yield* TestClient.cookies
  return { status: typed.status, text, route: recorded.attributes.get("http.route"), tree, exchanges, cookies }
}).pipe(Effect.provide(TestAppLive))

export const feed = Effect.gen(function* () {
  const response = yield* TestClient.stream("GET", "/feed")
  const streamed: TestClient.StreamResponse = response
  return yield* streamed.stream.pipe(TestStream.lines, Stream.runCollect)
}).pipe(Effect.scoped, Effect.provide(TestAppLive))

export const events = (bytes: Stream.Stream<Uint8Array>): Stream.Stream<TestStream.SseEvent> =>
  bytes.pipe(TestStream.sse)
export const values = (bytes: Stream.Stream<Uint8Array>) =>
  bytes.pipe(TestStream.ndjsonSchema(Schema.Struct({ n: Schema.Number })))

export const conversation = Effect.gen(function* () {
  const ws: TestWebSocket.TestWebSocket = yield* TestClient.websocket("/echo", { protocols: ["chat"] })
  yield* ws.send("hi")
  const reply = yield* ws.receiveText
  yield* ws.close()
  return { reply, closed: yield* ws.closed }
}).pipe(Effect.scoped, Effect.provide(TestAppLive))

export const failures = hello.pipe(
  Effect.catchTags({
    ServerError: (error) => Effect.succeed(error.cause),
    RequestTimeout: (error) => Effect.succeed(error.message),
    DrainTimeout: (error) => Effect.succeed(error.message),
    SpanNotFound: (error) => Effect.succeed(error.message)
  })
)

export const describeError = (error: TestClient.TestClientError | TestWebSocket.WebSocketError): string => error._tag

// @ts-expect-error the package's internals are not part of its exports
export type Internal = typeof import("@effect-http-testkit/effect4/dist/internal/client.js")
`

const writeConsumer = (dir: string): void => {
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
  fs.mkdirSync(path.join(dir, "src"), { recursive: true })
  fs.writeFileSync(path.join(dir, "src", "consumer.ts"), consumerSource)
  const compilerOptions = {
    target: "ES2022",
    lib: ["ES2022", "DOM", "DOM.Iterable"],
    types: ["node"],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    declaration: true,
    emitDeclarationOnly: true,
    noErrorTruncation: true,
    pretty: false
  }
  for (const [file, resolution] of [
    ["tsconfig.nodenext.json", { module: "NodeNext", moduleResolution: "NodeNext", outDir: "out/nodenext" }],
    ["tsconfig.bundler.json", { module: "ESNext", moduleResolution: "Bundler", outDir: "out/bundler" }]
  ] as const) {
    fs.writeFileSync(
      path.join(dir, file),
      JSON.stringify({ compilerOptions: { ...compilerOptions, ...resolution }, include: ["src"] }, null, 2)
    )
  }
}

// ---------------------------------------------------------------------------
// the public API's reach
// ---------------------------------------------------------------------------

/**
 * Every named type (class, interface, enum, type alias) of the package that some public
 * export reaches — through signatures, properties, type arguments, unions, base types — and
 * that no public export names: a user would see it in a hover or an error and could not
 * import it, and a declaration emit that must write it fails. Types of other packages are
 * entered only through their type arguments.
 */
const findLeaks = (
  packageDir: string,
  publicEntries: ReadonlyArray<{ readonly subpath: string; readonly types: string }>
): ReadonlyArray<string> => {
  const dist = `${path.join(fs.realpathSync(packageDir), "dist")}${path.sep}`
  const program = ts.createProgram(
    publicEntries.map((entry) => path.join(packageDir, entry.types)),
    {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      exactOptionalPropertyTypes: true,
      types: ["node"],
      typeRoots: [path.join(repoModules, "@types")],
      noEmit: true,
      skipLibCheck: true
    }
  )
  const checker = program.getTypeChecker()
  const ours = (declaration: ts.Node): boolean =>
    path.resolve(fs.realpathSync(declaration.getSourceFile().fileName)).startsWith(dist)
  const isOurs = (symbol: ts.Symbol | undefined): boolean => (symbol?.declarations ?? []).some(ours)
  const fileOf = (symbol: ts.Symbol): string =>
    path.relative(dist, fs.realpathSync(symbol.declarations![0]!.getSourceFile().fileName)).split(path.sep).join("/")

  // What users can name: every export of every entry point, through `export * as` namespaces.
  const named = new Set<ts.Symbol>()
  const roots: Array<readonly [string, ts.Symbol]> = []
  const resolve = (symbol: ts.Symbol): ts.Symbol =>
    symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
  const collect = (module: ts.Symbol, prefix: string): void => {
    for (const exported of checker.getExportsOfModule(module)) {
      const target = resolve(exported)
      const name = `${prefix}${exported.name}`
      if (target.flags & ts.SymbolFlags.ValueModule && isOurs(target)) {
        if (!named.has(target)) {
          named.add(target)
          collect(target, `${name}.`)
        }
        continue
      }
      named.add(target)
      roots.push([name, target])
    }
  }
  const leaks = new Map<string, string>()
  for (const entry of publicEntries) {
    const file = program.getSourceFile(path.join(packageDir, entry.types))
    const module = file === undefined ? undefined : checker.getSymbolAtLocation(file)
    if (module === undefined) leaks.set(`${entry.subpath}: ${entry.types} is not a module`, "the package's exports")
    else collect(module, entry.subpath === "." ? "" : `${entry.subpath.slice(2)}:`)
  }

  const seen = new Set<ts.Type>()
  const namedKinds = ts.SymbolFlags.Class | ts.SymbolFlags.Interface | ts.SymbolFlags.Enum | ts.SymbolFlags.TypeAlias
  const check = (symbol: ts.Symbol | undefined, via: string): void => {
    if (symbol === undefined || !(symbol.flags & namedKinds) || !isOurs(symbol) || named.has(symbol)) return
    const key = `${symbol.name} (dist/${fileOf(symbol)})`
    if (!leaks.has(key)) leaks.set(key, via)
  }
  const visitSignature = (signature: ts.Signature, via: string): void => {
    for (const parameter of signature.typeParameters ?? []) {
      const constraint = checker.getBaseConstraintOfType(parameter)
      if (constraint !== undefined) visit(constraint, via)
    }
    for (const parameter of signature.parameters) {
      visit(checker.getTypeOfSymbol(parameter), `${via}(${parameter.name})`)
    }
    visit(checker.getReturnTypeOfSignature(signature), `${via}()`)
  }
  const visit = (type: ts.Type, via: string): void => {
    if (seen.has(type)) return
    seen.add(type)
    check(type.aliasSymbol, via)
    for (const argument of type.aliasTypeArguments ?? []) visit(argument, via)
    if (type.isUnionOrIntersection()) {
      for (const member of type.types) visit(member, via)
      return
    }
    const symbol = type.getSymbol()
    check(symbol, via)
    if (type.flags & ts.TypeFlags.Object && (type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference) {
      for (const argument of checker.getTypeArguments(type as ts.TypeReference)) visit(argument, via)
    }
    if (!isOurs(symbol) || !(type.flags & ts.TypeFlags.Object)) return
    if (symbol!.flags & namedKinds) via = `${via} → ${symbol!.name}`
    for (const base of type.isClassOrInterface() ? (checker.getBaseTypes(type) ?? []) : []) visit(base, via)
    for (const property of checker.getPropertiesOfType(type)) {
      if (property.declarations?.some(ours) === true) {
        visit(checker.getTypeOfSymbol(property), `${via}.${property.name}`)
      }
    }
    for (const signature of type.getCallSignatures()) visitSignature(signature, via)
    for (const signature of type.getConstructSignatures()) visitSignature(signature, `new ${via}`)
    for (const info of checker.getIndexInfosOfType(type)) visit(info.type, `${via}[]`)
  }
  for (const [name, symbol] of roots) {
    if (symbol.flags & ts.SymbolFlags.Value) visit(checker.getTypeOfSymbol(symbol), name)
    if (symbol.flags & (ts.SymbolFlags.Type & ~ts.SymbolFlags.TypeParameter)) {
      visit(checker.getDeclaredTypeOfSymbol(symbol), name)
    }
  }
  return Array.from(leaks, ([type, via]) => `${type}, reached from ${via}`).sort()
}

// ---------------------------------------------------------------------------
// the built import graph
// ---------------------------------------------------------------------------

/**
 * The modules a built file loads, transitively: its own files and the packages, from its
 * static `import`/`export ... from` declarations. A dynamic `import()` or a `require` is
 * reported apart: its target cannot be followed statically.
 */
const importGraph = (
  entry: string
): {
  readonly files: ReadonlyArray<string>
  readonly packages: ReadonlyArray<string>
  readonly dynamic: ReadonlyArray<string>
} => {
  const files: Array<string> = []
  const packages = new Set<string>()
  const dynamic: Array<string> = []
  const pending = [entry]
  while (pending.length > 0) {
    const file = pending.pop()!
    if (files.includes(file)) continue
    files.push(file)
    const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
    const walk = (node: ts.Node): void => {
      if (
        (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
        node.moduleSpecifier !== undefined &&
        ts.isStringLiteral(node.moduleSpecifier)
      ) {
        const specifier = node.moduleSpecifier.text
        if (specifier.startsWith(".")) pending.push(path.resolve(path.dirname(file), specifier))
        else packages.add(specifier)
      } else if (
        ts.isCallExpression(node) &&
        (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
          (ts.isIdentifier(node.expression) && node.expression.text === "require"))
      ) {
        dynamic.push(`${node.getText(source)} in ${path.basename(file)}`)
      }
      ts.forEachChild(node, walk)
    }
    walk(source)
  }
  return { files, packages: Array.from(packages).sort(), dynamic }
}
