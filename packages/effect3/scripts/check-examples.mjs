// Type-checks the ```ts code blocks in the JSDoc of the public modules (src/*.ts), so the API
// reference never shows an example that does not compile. TypeDoc renders the examples but
// does not compile them; this does, with the project's own compiler options.
//
// Each block becomes a module of its own in a temporary directory and the lot is compiled
// against src (the package name resolves to src/index.ts, as in the tests). Two conveniences
// keep examples short; everything else must be in the block itself:
// - a block with no `import` gets the standard prelude: the kit's modules, @effect/vitest's
//   `describe`/`expect`/`it`, and the usual names from `effect` and `@effect/platform`
//   (see PRELUDE below);
// - a block with a `yield*` outside any function is the body of an `Effect.gen` (its imports,
//   `declare`d givens and type declarations at the top stay outside it).
// A name the block uses but neither defines nor gets from the prelude is an error: write the
// example so it stands on its own, stating what it takes as given with `declare`
// (`declare const router: HttpRouter.HttpRouter`).
//
// Usage: node scripts/check-examples.mjs [--keep]   (--keep leaves the temporary directory)
import fs from "node:fs"
import { createRequire } from "node:module"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const keep = process.argv.includes("--keep")

const PRELUDE = [
  'import { describe, expect, it } from "@effect/vitest"',
  'import { Chunk, Data, Duration, Effect, Exit, Fiber, Layer, Option, Ref, Schema, Scope, Stream, TestClock } from "effect"',
  'import { HttpApiBuilder, HttpClient, HttpClientRequest, HttpClientResponse, HttpMiddleware, HttpRouter, HttpServer, HttpServerRequest, HttpServerResponse, Socket } from "@effect/platform"',
  'import { TaskQueue, TestClient, TestLayer, TestRequest, TestStream, TestTracer, TestWebSocket } from "effect-http-testkit"'
].join("; ")

/** Every ```ts / ```typescript block inside a JSDoc comment of `file`, with its line. */
const extract = (file) => {
  const text = fs.readFileSync(file, "utf8")
  const examples = []
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const firstLine = text.slice(0, comment.index).split("\n").length
    const lines = comment[0].split("\n").map((line) => line.replace(/^\s*\/?\*+\/?\s?/, "").replace(/\s*\*\/$/, ""))
    let open = -1
    let code = []
    lines.forEach((line, i) => {
      if (open < 0) {
        if (/^```(ts|typescript)\s*$/.test(line.trim())) {
          open = i
          code = []
        }
      } else if (line.trim() === "```") {
        // `line`: the source line of the example's first line.
        examples.push({ file, line: firstLine + open + 1, code: code.join("\n") })
        open = -1
      } else {
        code.push(line)
      }
    })
    if (open >= 0) examples.push({ file, line: firstLine + open, code: null })
  }
  return examples
}

const isFunctionLike = (node) =>
  ts.isFunctionDeclaration(node) ||
  ts.isFunctionExpression(node) ||
  ts.isArrowFunction(node) ||
  ts.isMethodDeclaration(node) ||
  ts.isGetAccessor(node) ||
  ts.isSetAccessor(node) ||
  ts.isConstructorDeclaration(node)

/** Whether `node` holds a `yield` that belongs to no function inside it. */
const holdsYield = (node) => {
  if (ts.isYieldExpression(node)) return true
  if (isFunctionLike(node)) return false
  return ts.forEachChild(node, holdsYield) ?? false
}

/**
 * Whether `code` uses `yield` outside any function of its own. Outside a generator the parser
 * reads `yield` as a name, so the code is parsed as the body of a generator instead.
 */
const hasTopLevelYield = (code) => {
  const generator = ts.createSourceFile("body.ts", `function* body() {\n${code}\n}`, ts.ScriptTarget.Latest, true)
  const body = generator.statements[0].body
  return body.statements.some(holdsYield)
}

const importedNames = (source) => {
  const names = new Set()
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || statement.importClause === undefined) continue
    const clause = statement.importClause
    if (clause.name) names.add(clause.name.text)
    const bindings = clause.namedBindings
    if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text)
    if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) names.add(element.name.text)
  }
  return names
}

/**
 * The module checked for one example. Line n of the example is line n + 1 of the module (the
 * first line is the header), so diagnostics map back to the source line by line.
 */
const toModule = (example) => {
  const source = ts.createSourceFile("example.ts", example.code, ts.ScriptTarget.Latest, true)
  const statements = source.statements
  const hasImports = statements.some(ts.isImportDeclaration)
  const header = ["export {}"]
  if (!hasImports) header.push(PRELUDE)
  // Imports, `declare`d givens and types stay at the top; the wrapper starts after them.
  const firstBody = statements.findIndex(
    (statement) =>
      !ts.isImportDeclaration(statement) &&
      !ts.isTypeAliasDeclaration(statement) &&
      !ts.isInterfaceDeclaration(statement) &&
      !(ts.getModifiers(statement) ?? []).some((modifier) => modifier.kind === ts.SyntaxKind.DeclareKeyword)
  )
  const wrap = firstBody >= 0 && hasTopLevelYield(example.code.slice(statements[firstBody].getStart(source)))
  if (!wrap) return `${header.join("; ")}\n${example.code}\n`
  if (statements.slice(firstBody).some(ts.isImportDeclaration)) {
    return { error: "imports must come before the example's first statement" }
  }
  if (hasImports && !importedNames(source).has("Effect")) header.push('import { Effect } from "effect"')
  const start = statements[firstBody].getStart(source)
  const { line } = source.getLineAndCharacterOfPosition(start)
  const lines = example.code.split("\n")
  lines[line] = `const example = Effect.gen(function* () { ${lines[line]}`
  return `${header.join("; ")}\n${lines.join("\n")}\n})\n`
}

const sources = fs
  .readdirSync(path.join(root, "src"))
  .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))
  .sort()
  .map((name) => path.join(root, "src", name))
const examples = sources.flatMap(extract)

/** The `node_modules` directory npm installed `effect` into (the workspace hoists it to the repository root). */
const nodeModules = () => path.dirname(path.dirname(createRequire(import.meta.url).resolve("effect/package.json")))

const problems = []
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-http-testkit-examples-"))
try {
  // Packages resolve from the node_modules the tests use.
  fs.symlinkSync(nodeModules(), path.join(dir, "node_modules"), "junction")
  const files = new Map()
  examples.forEach((example, i) => {
    const where = `${path.relative(root, example.file)}:${example.line}`
    if (example.code === null) {
      problems.push(`${where}: the code block is never closed`)
      return
    }
    const module = toModule(example)
    if (typeof module !== "string") {
      problems.push(`${where}: ${module.error}`)
      return
    }
    const name = path.join(dir, `${path.basename(example.file, ".ts")}-${example.line}-${i}.ts`)
    fs.writeFileSync(name, module)
    files.set(path.resolve(name), example)
  })

  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
    }
  })
  const options = {
    ...config.options,
    noEmit: true,
    declaration: false,
    declarationMap: false,
    // An example may define something only to show it: that is not a mistake here.
    noUnusedLocals: false,
    noUnusedParameters: false
  }
  const program = ts.createProgram([...files.keys()], options)
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
    const file = diagnostic.file
    if (file === undefined) {
      problems.push(`error TS${diagnostic.code}: ${message}`)
      continue
    }
    const { line, character } = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0)
    const example = files.get(path.resolve(file.fileName))
    if (example === undefined) {
      problems.push(`${path.relative(root, file.fileName)}:${line + 1}:${character + 1}: error TS${diagnostic.code}: ${message}`)
    } else if (line === 0) {
      problems.push(`${path.relative(root, example.file)}:${example.line - 1}: error TS${diagnostic.code} (prelude): ${message}`)
    } else {
      // Module line 1 is the example's first line, the one after the opening fence.
      const sourceLine = example.line + line - 1
      const text = example.code.split("\n")[line - 1] ?? ""
      problems.push(
        `${path.relative(root, example.file)}:${sourceLine}: error TS${diagnostic.code}: ${message}\n    ${text.trim()}`
      )
    }
  }
} finally {
  if (keep) console.log(`examples kept in ${dir}`)
  else fs.rmSync(dir, { recursive: true, force: true })
}

if (problems.length > 0) {
  const key = (problem) => problem.replace(/^([^:]*):(\d+).*/s, (_, file, line) => `${file}:${line.padStart(6, "0")}`)
  problems.sort((a, b) => key(a).localeCompare(key(b)))
  for (const problem of problems) console.error(problem)
  console.error(`\n${problems.length} problem(s) in the examples of src/*.ts`)
  process.exit(1)
}
console.log(`${examples.length} examples in src/*.ts type-check`)
