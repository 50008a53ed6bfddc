/**
 * `npm run bench` in this package (`npm run bench:effect4` at the root): runs every scenario
 * (or those named: `npm run bench -- roundtrip post`) on Node 24 with this package's Effect 4
 * (scripts/bench/node24.mjs), prints one table, writes bench/RESULTS.md (scripts/bench/run.ts).
 * The scenarios are the Effect 3 edition's (packages/effect3/bench/), run the same way;
 * bench/COMPARISON.md at the repository root sets the two side by side.
 */
import { fileURLToPath } from "node:url"
import { main } from "../../../scripts/bench/run.js"
import * as cookies from "./cookies.js"
import * as fresh from "./fresh.js"
import * as longlines from "./longlines.js"
import * as memory from "./memory.js"
import * as post from "./post.js"
import * as roundtrip from "./roundtrip.js"
import * as sse from "./sse.js"
import * as streaming from "./streaming.js"
import * as tracing from "./tracing.js"
import * as userfelt from "./userfelt.js"

main({
  scenarios: [
    // First: its RSS target needs a process that has not already grown its heap.
    { name: "streaming", run: streaming.run },
    { name: "roundtrip", run: roundtrip.run },
    { name: "fresh", run: fresh.run },
    { name: "post", run: post.run },
    { name: "sse", run: sse.run },
    { name: "longlines", run: longlines.run },
    { name: "cookies", run: cookies.run },
    { name: "memory", run: memory.run },
    { name: "tracing", run: tracing.run },
    { name: "userfelt", run: userfelt.run }
  ],
  results: fileURLToPath(new URL("./RESULTS.md", import.meta.url)),
  method: [
    "The Effect 4 edition's figures, by the Effect 3 edition's method and scenarios (see",
    "bench/COMPARISON.md at the repository root for the two side by side). Every figure is the",
    "median over the rounds followed by its range [min–max]. Every ratio is computed per round",
    "from the two subjects' runs in that round, then given as median [min–max]; targets (the",
    "Effect 3 edition's) are checked against the median. The streaming, GET round-trip,",
    "fresh-client and SSE subjects each run in a child process of their own, warmed 2 s; a",
    "round-trip or fresh-client run lasts about 0.5 s, and neither it nor an SSE run is preceded",
    "by a forced full GC; a streaming run is one stream after a full GC. The other scenarios run",
    "their subjects in one process, each run after a full GC. Floors: the pipeline floor is what",
    "`@effect/platform-node` 4.1 pays per request minus the socket: the app served by",
    "`HttpRouter.serve` as `TestClient.layer` serves it (no request logger), each request a fresh",
    "request with a client's headers run as `NodeHttpServer.makeHandler` runs it, a fiber per",
    "request forked in the serve fiber's context into the serve scope through",
    "`HttpEffect.toHandled` (error mapping, the tracer, a request scope); under Effect's native",
    "tracer with no middleware `toHandled` skips the server span, in production too (the GET",
    "scenario's \"pipeline floor recording spans\" runs it with the kit's `TestTracer` as its",
    "tracer, the most a client recording every span, as the kit does, could reach; the tracing",
    "rows measure a tracer that records). The direct stream floor runs the app's body Stream in",
    "the handler fiber. Request counts per run are scaled to Effect 4's speed where it runs about",
    "twice as fast (the figures are per second). Reproduce with `npm run bench:effect4` at the",
    "repository root (Node 24, fetched with `npx -y node@24` if this Node is another)."
  ]
})
