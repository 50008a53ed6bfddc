/**
 * One subject of a steady-state scenario, in a process of its own (scripts/bench/isolated.ts,
 * `serveMade`): the streaming, GET round-trip and fresh-client subjects.
 *
 *   node --expose-gc ../../node_modules/vite-node/vite-node.mjs --config vitest.config.ts bench/worker.ts <scenario> <subject>
 *
 * (on Node >= 22.12).
 */
import { serveMade } from "../../../scripts/bench/isolated.js"
import * as fresh from "./fresh.js"
import * as roundtrip from "./roundtrip.js"
import * as streaming from "./streaming.js"

serveMade({ streaming: streaming.makers, roundtrip: roundtrip.makers, fresh: fresh.makers })
