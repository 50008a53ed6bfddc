/**
 * Scenario 1: sequential small GET round trips returning JSON, through each way of testing
 * an Effect app, all against the same app (bench/app.ts) unless said, each subject in a
 * process of its own (scripts/bench/roundtrip.ts; the worker is bench/worker.ts):
 *
 * - ours, on one long-lived client;
 * - the pipeline floor: what platform-node's server pays per request minus the socket (a
 *   fresh request with a client's headers, a fiber per request, `toHandled` with the tracer
 *   middleware and a request scope; see app.ts). The target compares against this one;
 * - the same floor with the kit's span recorder (`TestTracer`) as its tracer in place of
 *   Effect's native one: the most a client recording every span, as the kit does, could reach;
 * - the bare floor (`toHandled` run inline on one reused request) and `toWebHandler`, for
 *   reference;
 * - undici's `Client` with keep-alive against the app served by `NodeHttpServer` on
 *   127.0.0.1: the best a socket can do;
 * - `NodeHttpServer.layerTest` + `HttpClient` (a socket, one connection per request);
 * - supertest and light-my-request against the app's Node handler (`makeHandler`);
 * - Fastify's `inject` and Hono's `app.request`, each on its own framework's app with the
 *   same JSON route (they cannot run an Effect app): reference lines, no target.
 */
import * as http from "node:http"
import { fileURLToPath } from "node:url"
import { HttpApp, HttpClient, HttpServer, HttpServerRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, ManagedRuntime } from "effect"
import { Client } from "undici"
import type { Row } from "../../../scripts/bench/harness.js"
import { editionWorker } from "../../../scripts/bench/isolated.js"
import * as roundtrip from "../../../scripts/bench/roundtrip.js"
import * as TestClient from "../src/Client.js"
import * as TestTracer from "../src/Tracer.js"
import { app, checkPayload, floor, freshRequest, makePipeline, type Pipeline, sinkJson, times } from "./app.js"

/** Requests per run for each subject. */
export const counts = {
  ours: 600,
  pipeline: 1_500,
  recorded: 1_500,
  floor: 2_500,
  webHandler: 600,
  undici: 300,
  layerTest: 80,
  supertest: 120,
  lightMyRequest: 500,
  fastify: 2_500,
  hono: 4_000
}

/** `n` GETs of /json a run through `pipeline`, each in a fiber of its own, each body checked. */
const pipelineSubject = (name: string, n: number, pipeline: Pipeline, dispose?: () => Promise<void>) => {
  const once = Effect.map(
    Effect.suspend(() => pipeline.handle(freshRequest("/json"))),
    (sink) => {
      if (sink.status !== 200) throw new Error(`${name}: status ${sink.status}`)
      checkPayload(sinkJson(sink), name)
    }
  )
  const loop = times(n, once)
  return {
    name,
    n,
    run: () => Effect.runPromise(loop),
    dispose: async () => {
      await pipeline.dispose()
      await dispose?.()
    }
  }
}

/** The app served by platform-node's own request handler (`makeHandler`), not listening. */
const nodeHandler = () => Effect.runPromise(NodeHttpServer.makeHandler(app))

/** Each subject, as its worker makes it. */
export const makers: roundtrip.Makers = {
  /** Ours: `TestClient.get("/json")` and `r.json`, on one client kept for the whole scenario. */
  ours: async () => {
    const runtime = ManagedRuntime.make(TestClient.layer(app))
    const once = Effect.flatMap(TestClient.get("/json"), (r) =>
      Effect.map(r.json, (body) => {
        if (r.status !== 200) throw new Error(`TestClient: status ${r.status}`)
        checkPayload(body, "TestClient")
      })
    )
    const loop = times(counts.ours, once)
    return {
      name: "TestClient.get + json (one client)",
      n: counts.ours,
      run: () => runtime.runPromise(loop),
      dispose: () => runtime.dispose()
    }
  },
  /** The pipeline floor for GET /json: a fresh request and a fiber per request. */
  pipeline: async () => pipelineSubject(roundtrip.floorNames.pipeline, counts.pipeline, await makePipeline()),
  /**
   * The pipeline floor with the kit's span recorder as its tracer (`TestTracer.layer`'s, as
   * `TestClient.layer` installs it) in place of Effect's native one: the most a client that
   * records every span could reach.
   */
  recorded: async () => {
    const tracing = ManagedRuntime.make(TestTracer.layer)
    const pipeline = await makePipeline(app, { tracer: await tracing.runPromise(Effect.tracer) })
    // The premise: the floor's requests are recorded.
    await Effect.runPromise(pipeline.handle(freshRequest("/json")))
    roundtrip.checkRecorded((await tracing.runPromise(TestTracer.spans)).map((span) => span.kind))
    return pipelineSubject(roundtrip.floorNames.recorded, counts.recorded, pipeline, tracing.dispose)
  },
  /** The bare floor: `HttpApp.toHandled` run inline with one prebuilt request, reused. */
  floor: async () => {
    const prebuilt = HttpServerRequest.fromWeb(new Request("http://bench/json"))
    const { once, sink } = floor(prebuilt)
    const loop = times(
      counts.floor,
      Effect.zipRight(
        once,
        Effect.sync(() => {
          if (sink.status !== 200) throw new Error(`floor: status ${sink.status}`)
          checkPayload(sinkJson(sink), "bare floor")
        })
      )
    )
    return {
      name: "bare floor: toHandled inline, one reused request (reference)",
      n: counts.floor,
      run: () => Effect.runPromise(loop)
    }
  },
  webHandler: async () =>
    roundtrip.webHandlerSubject(
      "HttpApp.toWebHandler + res.json() (reference)",
      counts.webHandler,
      HttpApp.toWebHandler(app)
    ),
  /** The app on a real server on 127.0.0.1, and undici's Client keeping one connection alive. */
  undici: async () => {
    const served = ManagedRuntime.make(
      HttpServer.serve(app).pipe(
        Layer.provideMerge(
          NodeHttpServer.layer(
            () => {
              const server = http.createServer()
              server.keepAliveTimeout = 60_000
              return server
            },
            { port: 0, host: "127.0.0.1" }
          )
        )
      )
    )
    const address = (await served.runPromise(HttpServer.HttpServer)).address
    if (address._tag !== "TcpAddress") throw new Error("roundtrip: expected a TCP address")
    const undici = new Client(`http://127.0.0.1:${address.port}`, { keepAliveTimeout: 60_000 })
    return {
      name: "undici Client, keep-alive, NodeHttpServer on 127.0.0.1",
      n: counts.undici,
      run: async () => {
        for (let i = 0; i < counts.undici; i++) {
          const res = await undici.request({ method: "GET", path: "/json" })
          if (res.statusCode !== 200) throw new Error(`undici: status ${res.statusCode}`)
          checkPayload(await res.body.json(), "undici")
        }
      },
      dispose: async () => {
        await undici.close()
        await served.dispose()
      }
    }
  },
  /**
   * NodeHttpServer.layerTest: a real server on a random port and an HttpClient for it, with
   * the agent layerTest builds (keepAlive: false, so one connection per request).
   */
  layerTest: async () => {
    const socketRuntime = ManagedRuntime.make(HttpServer.serve(app).pipe(Layer.provideMerge(NodeHttpServer.layerTest)))
    const loop = times(
      counts.layerTest,
      Effect.flatMap(HttpClient.get("/json"), (r) => Effect.map(r.json, (body) => checkPayload(body, "layerTest")))
    )
    return {
      name: "NodeHttpServer.layerTest + HttpClient",
      n: counts.layerTest,
      run: () => socketRuntime.runPromise(loop),
      dispose: () => socketRuntime.dispose()
    }
  },
  supertest: async () => roundtrip.supertestSubject(http.createServer(await nodeHandler()), counts.supertest),
  lightMyRequest: async () => roundtrip.lightMyRequestSubject(await nodeHandler(), counts.lightMyRequest),
  fastify: () => roundtrip.fastifySubject(counts.fastify),
  hono: () => roundtrip.honoSubject(counts.hono)
}

export const run = (runs: number): Promise<ReadonlyArray<Row>> =>
  roundtrip.run(editionWorker(fileURLToPath(new URL(".", import.meta.url)), "worker.ts"), runs)
