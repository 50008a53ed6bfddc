// Runs this package's vitest (vitest 5, which needs Node >= 22.12) with the given arguments.
// On an older Node (the repository's other packages support Node 20) it runs the same vitest
// under Node 24 fetched from the registry (`npx -y node@24`), so `npm test` works anywhere.
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import path from "node:path"

const vitest = path.join(path.dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs")
const [major, minor] = process.versions.node.split(".").map(Number)
const recent = major > 22 || (major === 22 && minor >= 12)
const [command, args] = recent
  ? [process.execPath, [vitest, ...process.argv.slice(2)]]
  : ["npx", ["-y", "node@24", vitest, ...process.argv.slice(2)]]
const result = spawnSync(command, args, { stdio: "inherit" })
process.exitCode = result.status ?? 1
