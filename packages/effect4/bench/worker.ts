/**
 * One subject of a steady-state scenario, in a process of its own (scripts/bench/isolated.ts,
 * `serveMade`): the GET round trip's and the fresh client's subjects.
 *
 *   node --expose-gc ../../node_modules/vite-node/vite-node.mjs --config vitest.config.ts bench/worker.ts <scenario> <subject>
 *
 * (on Node >= 22.12).
 */
import { serveMade } from "../../../scripts/bench/isolated.js"
import * as fresh from "./fresh.js"
import * as roundtrip from "./roundtrip.js"

serveMade({ roundtrip: roundtrip.makers, fresh: fresh.makers })
