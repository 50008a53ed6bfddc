// Runs a package's bench (its bench/run.ts, with vite-node and its vitest.config.ts, and
// `--expose-gc`) on Node 24: this Node if it is Node 24, else Node 24 fetched from the registry
// (`npx -y node@24`), so every run of it is on the same Node whatever Node starts it.
//
//   node scripts/bench/node24.mjs <package dir> [--results <file>] [scenario...]
//
// `--results <file>` writes the results there (BENCH_RESULTS, relative to the package dir)
// instead of the package's bench/RESULTS.md; BENCH_RUNS passes through.
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import path from "node:path"

const [packageDir, ...rest] = process.argv.slice(2)
if (packageDir === undefined) {
  console.error("usage: node scripts/bench/node24.mjs <package dir> [--results <file>] [scenario...]")
  process.exit(2)
}
const env = { ...process.env }
const scenarios = []
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === "--results") {
    if (rest[i + 1] === undefined) {
      console.error("--results needs a file")
      process.exit(2)
    }
    env.BENCH_RESULTS = path.resolve(rest[++i])
  } else scenarios.push(rest[i])
}
const cwd = path.resolve(packageDir)
const viteNode = path.join(
  path.dirname(createRequire(path.join(cwd, "package.json")).resolve("vite-node/package.json")),
  "vite-node.mjs"
)
const args = ["--expose-gc", viteNode, "--config", "vitest.config.ts", "bench/run.ts", ...scenarios]
const onNode24 = process.versions.node.split(".")[0] === "24"
const [command, commandArgs] = onNode24 ? [process.execPath, args] : ["npx", ["-y", "node@24", ...args]]
const result = spawnSync(command, commandArgs, { stdio: "inherit", cwd, env })
process.exitCode = result.status ?? 1
