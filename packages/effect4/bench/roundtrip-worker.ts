/**
 * One subject of the GET round-trip scenario, in a process of its own (see
 * scripts/bench/roundtrip.ts):
 *
 *   node --expose-gc ../../node_modules/vite-node/vite-node.mjs --config vitest.config.ts bench/roundtrip-worker.ts <subject>
 *
 * (on Node >= 22.12).
 */
import { serveRoundtripWorker } from "../../../scripts/bench/roundtrip.js"
import { makers } from "./roundtrip.js"

serveRoundtripWorker(makers)
