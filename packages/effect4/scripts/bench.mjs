// Runs the comparison benchmark (bench/comparison.ts) with vite-node, which resolves the kit's
// sources as the tests do. Like scripts/vitest.mjs, it runs under Node 24 fetched from the
// registry (`npx -y node@24`) when this Node is older than the package's 22.12.
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import path from "node:path"

const viteNode = path.join(path.dirname(createRequire(import.meta.url).resolve("vite-node/package.json")), "vite-node.mjs")
const [major, minor] = process.versions.node.split(".").map(Number)
const recent = major > 22 || (major === 22 && minor >= 12)
const args = [viteNode, "--config", "vitest.config.ts", "bench/comparison.ts", ...process.argv.slice(2)]
const [command, commandArgs] = recent ? [process.execPath, args] : ["npx", ["-y", "node@24", ...args]]
const result = spawnSync(command, commandArgs, { stdio: "inherit" })
process.exitCode = result.status ?? 1
