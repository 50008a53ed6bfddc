/**
 * Scenario 4: parsing Server-Sent Events, `TestStream.sse` against eventsource-parser@3, in
 * several chunkings of the input (scripts/bench/sse.ts), each subject in a process of its own
 * running bench/sse-worker.ts with vite-node on this Node.
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Row } from "../../../scripts/bench/harness.js"
import * as sse from "../../../scripts/bench/sse.js"

const benchDir = path.dirname(fileURLToPath(import.meta.url))

export const run = (runs: number): Promise<ReadonlyArray<Row>> =>
  sse.run(
    {
      command: process.execPath,
      args: [
        "--expose-gc",
        sse.viteNode,
        // The package's vitest config: its aliases resolve the kit and its core to their sources.
        "--config",
        path.resolve(benchDir, "../vitest.config.ts"),
        path.resolve(benchDir, "sse-worker.ts")
      ],
      cwd: path.resolve(benchDir, "..")
    },
    runs
  )
