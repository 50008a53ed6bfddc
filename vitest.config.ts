import { fileURLToPath } from "node:url"
import { configDefaults, defineConfig } from "vitest/config"

const include = ["test/**/*.test.ts", "examples/**/*.test.ts"]

export default defineConfig({
  resolve: {
    // Tests and examples import the package by its public name, as users do.
    alias: [
      {
        find: /^effect-http-testkit\/TaskQueue$/,
        replacement: fileURLToPath(new URL("./src/TaskQueue.ts", import.meta.url))
      },
      { find: /^effect-http-testkit$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) }
    ]
  },
  test: {
    // vitest's default timeouts (5 s a test, 10 s a hook): the suite lives what users live.
    // The whole suite runs twice: once in process (the default transport) and once with
    // EFFECT_HTTP_TESTKIT_TRANSPORT=socket, as a user switches a suite to real sockets. The
    // suites that pick their transports themselves run once.
    projects: [
      { extends: true, test: { name: "in-process", include } },
      {
        extends: true,
        test: {
          name: "socket",
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
            "test/Core.test.ts",
            ...configDefaults.exclude
          ],
          env: { EFFECT_HTTP_TESTKIT_TRANSPORT: "socket" }
        }
      }
    ]
  }
})
