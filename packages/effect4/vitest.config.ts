import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))

/**
 * The Effect 4 edition's tests run on vitest 5 (Node >= 22.12), apart from the root config's
 * vitest 3 run: `npm test` here, or `npm run test:effect4` at the root. The package and the
 * core resolve to their sources.
 */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@effect-http-testkit\/effect4$/, replacement: here("./src/index.ts") },
      { find: /^@effect-http-testkit\/effect4\/TaskQueue$/, replacement: here("./src/TaskQueue.ts") },
      { find: /^@effect-http-testkit\/core\/scenarios$/, replacement: here("../core/src/scenarios/index.ts") },
      { find: /^@effect-http-testkit\/core$/, replacement: here("../core/src/index.ts") }
    ]
  },
  test: { name: "effect4", include: ["test/**/*.test.ts", "examples/**/*.test.ts"] }
})
