// `npm test`: every package's typecheck and lint, then every package's tests: the core and the
// Effect 3 edition in one vitest 3 run (the root vitest.config.ts), the Effect 4 edition in its
// own vitest 5 run (Node >= 22.12: packages/effect4/scripts/vitest.mjs fetches Node 24 when
// this Node is older). Arguments are handed to both runs; an `--outputFile=<file>` gets
// `-effect4` before its extension for the second, so each run keeps its own report.
// `npm run examples` is `--examples`: no checks, and only the example suites of both runs.
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import path from "node:path"

const vitest = path.join(path.dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs")

const run = (command, args, options = {}) => {
  const result = spawnSync(command, args, { stdio: "inherit", ...options })
  return result.status ?? 1
}
const npm = process.platform === "win32" ? "npm.cmd" : "npm"
const examples = process.argv[2] === "--examples"
const args = [...(examples ? ["examples"] : []), ...process.argv.slice(examples ? 3 : 2)]
const forEffect4 = args.map((arg) => {
  const match = /^--outputFile=(.*)$/.exec(arg)
  if (match === null) return arg
  const file = path.resolve(match[1])
  const parsed = path.parse(file)
  return `--outputFile=${path.join(parsed.dir, `${parsed.name}-effect4${parsed.ext}`)}`
})

let status = examples ? 0 : run(npm, ["run", "check"])
if (status === 0) {
  const effect3 = run(process.execPath, [vitest, "run", ...args])
  const effect4 = run(process.execPath, ["scripts/vitest.mjs", "run", ...forEffect4], {
    cwd: path.join("packages", "effect4")
  })
  status = effect3 !== 0 ? effect3 : effect4
}
process.exitCode = status
