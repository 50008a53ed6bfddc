import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

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
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"]
  }
})
