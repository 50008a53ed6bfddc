/**
 * Scenario 4: parsing Server-Sent Events, `TestStream.sse` against eventsource-parser@3, in
 * the Effect 3 edition's chunkings of the input (scripts/bench/sse.ts), each subject in a
 * process of its own running bench/sse-worker.ts with vite-node on this Node
 * (scripts/bench/isolated.ts) (Node 24: the
 * bench runs there).
 */
import { fileURLToPath } from "node:url"
import type { Row } from "../../../scripts/bench/harness.js"
import { editionWorker } from "../../../scripts/bench/isolated.js"
import * as sse from "../../../scripts/bench/sse.js"

export const run = (runs: number): Promise<ReadonlyArray<Row>> =>
  sse.run(editionWorker(fileURLToPath(new URL(".", import.meta.url)), "sse-worker.ts"), runs)
