import { defineConfig } from "vitest/config"
import { projects as core } from "./packages/core/vitest.config.js"
import { projects as effect3 } from "./packages/effect3/vitest.config.js"

/** Every package's tests in one run: the core's, then the Effect 3 edition's two transports. */
export default defineConfig({ test: { projects: [...core, ...effect3] } })
