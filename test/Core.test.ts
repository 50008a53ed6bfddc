/**
 * The Effect-free core (`src/internal/core/`): what every edition of the kit shares. It may
 * import Node's built-ins, its own modules and the package's declared dependencies, and
 * nothing from `effect` or `@effect/*`, nor from the rest of the kit.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("..", import.meta.url))
const core = path.join(root, "src", "internal", "core")
const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
  readonly dependencies: Record<string, string>
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
const specifiers = (source: string): ReadonlyArray<string> =>
  Array.from(source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)"([^"]+)"/gm), (match) => match[1])

describe("the Effect-free core", () => {
  const files = fs.readdirSync(core).filter((file) => file.endsWith(".ts"))

  it("holds the modules every edition shares", () => {
    expect(files.sort()).toEqual([
      "cookieJar.ts",
      "decode.ts",
      "headerLines.ts",
      "nodeRefusals.ts",
      "redirect.ts",
      "text.ts",
      "values.ts"
    ])
  })

  it("imports only Node built-ins, its own modules and declared dependencies", () => {
    const outside: Array<string> = []
    for (const file of files) {
      for (const specifier of specifiers(fs.readFileSync(path.join(core, file), "utf8"))) {
        const allowed =
          specifier.startsWith("node:") ||
          (specifier.startsWith("./") && !specifier.includes("/..")) ||
          Object.hasOwn(manifest.dependencies, specifier.split("/")[0])
        if (!allowed) outside.push(`${file}: ${specifier}`)
      }
    }
    expect(outside).toEqual([])
  })

  it("the shared test scenarios (test/scenarios/) are plain data: they import nothing", () => {
    const scenarios = path.join(root, "test", "scenarios")
    const imports = fs
      .readdirSync(scenarios)
      .flatMap((file) => specifiers(fs.readFileSync(path.join(scenarios, file), "utf8")).map((s) => `${file}: ${s}`))
    expect(fs.readdirSync(scenarios).sort()).toEqual(["cookies.ts", "sse.ts"])
    expect(imports).toEqual([])
  })

  it("the check sees what it must refuse", () => {
    expect(
      specifiers(
        'import * as Effect from "effect/Effect"\nimport type { X } from "../Client.js"\nconst m = import("@effect/platform")'
      )
    ).toEqual(["effect/Effect", "../Client.js", "@effect/platform"])
  })
})
