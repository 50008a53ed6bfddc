import { fileURLToPath } from "node:url"
import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from "vitest/config"

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))

/**
 * Tests, examples and the bench import the package by its public name, as users do, and the
 * core by its package name: both resolve to their sources, so nothing needs building first.
 */
export const alias = [
  { find: /^effect-http-testkit\/TaskQueue$/, replacement: here("./src/TaskQueue.ts") },
  { find: /^effect-http-testkit$/, replacement: here("./src/index.ts") },
  { find: /^@effect-http-testkit\/core\/scenarios$/, replacement: here("../core/src/scenarios/index.ts") },
  { find: /^@effect-http-testkit\/core$/, replacement: here("../core/src/index.ts") }
]

const include = ["test/**/*.test.ts", "examples/**/*.test.ts"]

/**
 * vitest's default timeouts (5 s a test, 10 s a hook): the suite lives what users live. The
 * whole suite runs twice: once in process (the default transport) and once with
 * EFFECT_HTTP_TESTKIT_TRANSPORT=socket, as a user switches a suite to real sockets. The
 * suites that pick their transports themselves run once. The repository's root config runs
 * these projects beside the core's.
 */
export const projects: Array<TestProjectInlineConfiguration> = [
  { resolve: { alias }, test: { name: "effect3:in-process", root: here("."), include } },
  {
    resolve: { alias },
    test: {
      name: "effect3:socket",
      root: here("."),
      include,
      exclude: [
        // These pick their transports themselves.
        "test/Behaviours.test.ts",
        "test/Transport.test.ts",
        // These serve no app (parsers, the detached TestRequest, the packed package).
        "test/EventStreamSpec.test.ts",
        "test/SseParsing.test.ts",
        "test/Stream.test.ts",
        "test/TestRequest.test.ts",
        "test/Consumer.test.ts",
        ...configDefaults.exclude
      ],
      env: { EFFECT_HTTP_TESTKIT_TRANSPORT: "socket" }
    }
  }
]

export default defineConfig({ resolve: { alias }, test: { projects } })
