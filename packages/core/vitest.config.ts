import { fileURLToPath } from "node:url"
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config"

/** Plain vitest, no Effect. The repository's root config runs this project beside the editions'. */
export const projects: Array<TestProjectInlineConfiguration> = [
  { test: { name: "core", root: fileURLToPath(new URL(".", import.meta.url)), include: ["test/**/*.test.ts"] } }
]

export default defineConfig({ test: { projects } })
