/**
 * Scenario 1: sequential small GET round trips returning JSON, through each way of testing
 * an Effect 4 app, all against the same app (bench/app.ts) unless said, served by
 * `HttpRouter.serve` without its request logger wherever it is served, each subject in a
 * process of its own (scripts/bench/roundtrip.ts; the worker is bench/worker.ts):
 *
 * - ours, on one long-lived client;
 * - the pipeline floor: what platform-node 4.1's server pays per request minus the socket (a
 *   fresh request with a client's headers, a fiber per request, `toHandled` with its tracer
 *   and a request scope; see app.ts). The target compares against this one;
 * - the same floor with the kit's span recorder as its tracer: under Effect's native tracer
 *   `toHandled` records no span, under `TestClient.layer`'s `TestTracer` it records the server
 *   span, so this is the most a client recording every span, as the kit does, could reach;
 * - the bare floor (`toHandled` run inline on one reused request) and
 *   `HttpEffect.toWebHandler`, for reference;
 * - undici's `Client` with keep-alive against the app served by `NodeHttpServer` on
 *   127.0.0.1: the best a socket can do;
 * - `NodeHttpServer.layerTest` + `HttpClient` (a socket, fetch with `keepalive: false`);
 * - supertest and light-my-request against the app's Node handler (`makeHandler`);
 * - Fastify's `inject` and Hono's `app.request`, each on its own framework's app with the
 *   same JSON route (they cannot run an Effect app): reference lines, no target.
 *
 * The subjects and targets are the Effect 3 edition's (packages/effect3/bench/roundtrip.ts).
 * Each subject does its own number of requests per run (the slow ones fewer, so every run
 * takes a fraction of a second); the figures compared are requests per second.
 */
import * as http from "node:http"
import { fileURLToPath } from "node:url"
import { NodeHttpServer } from "@effect/platform-node"
import { TestClient, TestTracer } from "@effect-http-testkit/effect4"
import * as Effect from "effect/Effect"
import { HttpClient, HttpEffect, HttpRouter, HttpServer, HttpServerRequest } from "effect/http"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { Client } from "undici"
import type { Row } from "../../../scripts/bench/harness.js"
import { editionWorker } from "../../../scripts/bench/isolated.js"
import * as roundtrip from "../../../scripts/bench/roundtrip.js"
import {
  app,
  checkPayload,
  floor,
  freshRequest,
  makePipeline,
  type Pipeline,
  serveOptions,
  sinkJson,
  times
} from "./app.js"

/**
 * Requests per run for each subject: about twice the Effect 3 edition's where Effect 4 runs
 * them about twice as fast, so a run still takes 0.1–0.3 s (the figures are per second).
 */
export const counts = {
  ours: 1_000,
  pipeline: 3_000,
  recorded: 2_000,
  floor: 10_000,
  webHandler: 2_000,
  undici: 500,
  layerTest: 150,
  supertest: 200,
  lightMyRequest: 1_000,
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

/** platform-node's own request handler for the served app, in the serve fiber's context. */
const nodeHandler = (pipeline: Pipeline) =>
  Effect.runPromiseWith(pipeline.served.context)(
    NodeHttpServer.makeHandler(pipeline.served.httpEffect, {
      scope: pipeline.served.scope,
      middleware: pipeline.served.middleware
    }) as Effect.Effect<(request: http.IncomingMessage, response: http.ServerResponse) => void>
  )

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
   * `TestClient.layer` installs it): `toHandled` then records the server span, as it does under
   * the kit. The most a client that records every span could reach.
   */
  recorded: async () => {
    const tracing = ManagedRuntime.make(TestTracer.layer)
    const pipeline = await makePipeline(app, { tracer: await tracing.runPromise(Effect.tracer) })
    // The premise: the floor's requests are recorded.
    await Effect.runPromise(pipeline.handle(freshRequest("/json")))
    roundtrip.checkRecorded((await tracing.runPromise(TestTracer.spans)).map((span) => span.kind))
    return pipelineSubject(roundtrip.floorNames.recorded, counts.recorded, pipeline, tracing.dispose)
  },
  /** The bare floor: `HttpEffect.toHandled` run inline with one prebuilt request, reused. */
  floor: async () => {
    const pipeline = await makePipeline()
    const prebuilt = HttpServerRequest.fromWeb(new Request("http://bench/json"))
    const { once, sink } = floor(pipeline.served, prebuilt)
    const loop = times(
      counts.floor,
      Effect.andThen(
        once,
        Effect.sync(() => {
          if (sink.status !== 200) throw new Error(`floor: status ${sink.status}`)
          checkPayload(JSON.parse(new TextDecoder().decode(sink.bytes)), "bare floor")
        })
      )
    )
    return {
      name: "bare floor: toHandled inline, one reused request (reference)",
      n: counts.floor,
      run: () => Effect.runPromise(loop),
      dispose: pipeline.dispose
    }
  },
  /** The served app and its context, as HttpRouter.toWebHandler hands them to toWebHandlerWith. */
  webHandler: async () => {
    const pipeline = await makePipeline()
    return roundtrip.webHandlerSubject(
      "HttpEffect.toWebHandler + res.json() (reference)",
      counts.webHandler,
      HttpEffect.toWebHandlerWith(pipeline.served.context)(pipeline.served.httpEffect, pipeline.served.middleware),
      pipeline.dispose
    )
  },
  /** The app on a real server on 127.0.0.1, and undici's Client keeping one connection alive. */
  undici: async () => {
    const served = ManagedRuntime.make(
      HttpRouter.serve(app, serveOptions).pipe(
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
    const address = (await served.runPromise(Effect.service(HttpServer.HttpServer))).address
    if (address._tag !== "InetAddressV4") throw new Error(`roundtrip: expected an IPv4 address, got ${address._tag}`)
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
   * NodeHttpServer.layerTest: a real server on a random port and an HttpClient for it (fetch
   * with `keepalive: false`, as layerTest builds it).
   */
  layerTest: async () => {
    const socketRuntime = ManagedRuntime.make(
      HttpRouter.serve(app, serveOptions).pipe(Layer.provideMerge(NodeHttpServer.layerTest))
    )
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
  supertest: async () => {
    const pipeline = await makePipeline()
    return roundtrip.supertestSubject(
      http.createServer(await nodeHandler(pipeline)),
      counts.supertest,
      pipeline.dispose
    )
  },
  lightMyRequest: async () => {
    const pipeline = await makePipeline()
    return roundtrip.lightMyRequestSubject(await nodeHandler(pipeline), counts.lightMyRequest, pipeline.dispose)
  },
  fastify: () => roundtrip.fastifySubject(counts.fastify),
  hono: () => roundtrip.honoSubject(counts.hono)
}

export const run = (runs: number): Promise<ReadonlyArray<Row>> =>
  roundtrip.run(editionWorker(fileURLToPath(new URL(".", import.meta.url)), "worker.ts"), runs)
