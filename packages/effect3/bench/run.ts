/**
 * `npm run bench`: runs every scenario (or those named: `npm run bench -- roundtrip post`),
 * prints one table, writes bench/RESULTS.md (scripts/bench/run.ts).
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
    "Every figure is the median over the rounds followed by its range [min–max]. Every ratio is",
    "computed per round from the two subjects' runs in that round, then given as median",
    "[min–max]; targets are checked against the median. The streaming, GET round-trip,",
    "fresh-client and SSE subjects each run in a child process of their own (in one process, V8's",
    "pretenuring and one subject's heap change the others' cost), warmed 2 s; a round-trip or",
    "fresh-client run lasts about 0.5 s, and neither it nor an SSE run is preceded by a forced",
    "full GC; a streaming run is one stream after a full GC. The other scenarios run their",
    "subjects in one process, each run after a full GC. Floors: the pipeline floor is what",
    "`@effect/platform-node` pays per request minus the socket (a fresh request with a client's",
    "headers, a fiber per request, `HttpApp.toHandled` with the tracer middleware and a request",
    "scope); the GET scenario also runs it with the kit's `TestTracer` as its tracer (\"pipeline",
    'floor recording spans": the most a client recording every span, as the kit does, could',
    "reach); the direct stream floor runs the app's body Stream in the handler fiber. Reproduce",
    "with `npm run bench`."
  ]
})
