import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    // Tests and examples import the package by its public name, as users do.
    alias: { "effect-http-testkit": fileURLToPath(new URL("./src/index.ts", import.meta.url)) }
  },
  test: {
    // vitest's default timeouts (5 s a test, 10 s a hook): the suite lives what users live.
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"]
  }
})
