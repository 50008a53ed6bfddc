/**
 * The core's boundary: what every edition of the kit shares. Its modules may import Node's
 * built-ins, each other and the core's declared dependencies, and nothing from `effect` or
 * `@effect/*`, nor from an edition. The scenario tables import nothing at all.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import { describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("..", import.meta.url))
const src = path.join(root, "src")
const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  readonly dependencies: Record<string, string>
  readonly peerDependencies?: Record<string, string>
}

/**
 * Every module a file names: static and dynamic imports, re-exports, `require` calls and
 * `/// <reference types>` (TypeScript's own pre-processor reads them, whatever the quotes),
 * and, as `<computed: ...>`, any import, `require` or `createRequire` whose module is not a
 * plain string: the check cannot see what those load, so they are not allowed at all.
 */
const specifiers = (source: string): ReadonlyArray<string> => {
  const info = ts.preProcessFile(source, true, true)
  const named = [...info.importedFiles, ...info.referencedFiles, ...info.typeReferenceDirectives].map(
    (reference) => reference.fileName
  )
  const computed = Array.from(
    source.matchAll(/\b(?:import|require)\s*\(\s*(?!["'][^"'`$]*["']\s*\))([^)]*)\)|\bcreateRequire\b/g),
    (match) => `<computed: ${match[0]}>`
  )
  return [...named, ...computed]
}

/** The package a bare specifier names: `@scope/name/sub` is `@scope/name`, `name/sub` is `name`. */
const packageOf = (specifier: string): string =>
  specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!

/** Every file below `dir` (a `.mts`, `.js` or JSON file is code too). */
const sources = (dir: string): ReadonlyArray<string> =>
  fs
    .readdirSync(dir, { recursive: true, encoding: "utf8", withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .map((file) => file.split(path.sep).join("/"))
    .sort()

describe("the Effect-free core", () => {
  it("holds the modules every edition shares, and the scenario tables", () => {
    expect(sources(src)).toEqual([
      "contentLength.ts",
      "cookieJar.ts",
      "decode.ts",
      "headerLines.ts",
      "index.ts",
      "nodeRefusals.ts",
      "redirect.ts",
      "render.ts",
      "report.ts",
      "ring.ts",
      "runner.ts",
      "scenarios/badInput.ts",
      "scenarios/cookies.ts",
      "scenarios/index.ts",
      "scenarios/parity.ts",
      "scenarios/redirects.ts",
      "scenarios/sse.ts",
      "text.ts",
      "transport.ts",
      "values.ts",
      "websocket.ts"
    ])
  })

  it("imports only Node built-ins, its own modules and its declared dependencies", () => {
    const outside: Array<string> = []
    for (const file of sources(src)) {
      for (const specifier of specifiers(fs.readFileSync(path.join(src, file), "utf8"))) {
        const own = specifier.startsWith("./") && path.resolve(src, path.dirname(file), specifier).startsWith(src)
        const allowed =
          specifier.startsWith("node:") || own || Object.hasOwn(manifest.dependencies, packageOf(specifier))
        if (!allowed) outside.push(`${file}: ${specifier}`)
      }
    }
    expect(outside).toEqual([])
  })

  it("depends on no Effect package, not even as a peer", () => {
    const names = [...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies ?? {})]
    expect(names.filter((name) => name === "effect" || name.startsWith("@effect/"))).toEqual([])
  })

  it("the scenario tables are plain data: apart from their index, they import nothing", () => {
    const scenarios = sources(path.join(src, "scenarios")).filter((file) => file !== "index.ts")
    const imports = scenarios.flatMap((file) =>
      specifiers(fs.readFileSync(path.join(src, "scenarios", file), "utf8")).map((s) => `${file}: ${s}`)
    )
    expect(imports).toEqual([])
  })

  it("the check sees what it must refuse", () => {
    expect(
      specifiers(
        [
          'import * as Effect from "effect/Effect"',
          "import type { X } from '../Client.js'",
          'const m = import("@effect/platform")',
          'export * from "effect"',
          'const r = require("effect")',
          '/// <reference types="effect" />',
          "const t = import(`effect`)",
          'const d = import("eff" + "ect")',
          'const q = createRequire(import.meta.url)("effect")'
        ].join("\n")
      )
    ).toEqual([
      "effect/Effect",
      "../Client.js",
      "@effect/platform",
      "effect",
      "effect",
      "effect",
      "eff",
      "<computed: import(`effect`)>",
      '<computed: import("eff" + "ect")>',
      "<computed: createRequire>"
    ])
    expect(specifiers('const ok = import("./values.js")')).toEqual(["./values.js"])
    expect(packageOf("@effect/platform/Headers")).toBe("@effect/platform")
    expect(packageOf("tough-cookie")).toBe("tough-cookie")
  })
})
