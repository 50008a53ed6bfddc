// Adds lock entries for optional platform packages the registry here does not serve, so that
// `npm ci` sees the lock in sync with package.json. Such packages are skipped at install.
import fs from "node:fs"
const path = process.argv[2] ?? "package-lock.json"
const lock = JSON.parse(fs.readFileSync(path, "utf8"))
const pkgs = lock.packages
let added = 0
for (const [key, entry] of Object.entries(pkgs)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    // resolve like node: nearest node_modules up the tree
    const base = key === "" ? "" : key + "/"
    const nested = `${base}node_modules/${name}`
    const top = `node_modules/${name}`
    if (pkgs[nested] || pkgs[top]) continue
    pkgs[top] = { version, ...(entry.dev ? { dev: true } : {}), optional: true }
    added++
  }
}
const sorted = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))))
lock.packages = sorted
fs.writeFileSync(path, JSON.stringify(lock, null, 2) + "\n")
console.log(`added ${added} entries`)
