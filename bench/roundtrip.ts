/**
 * Scenario 1: sequential small GET round trips returning JSON, through each way of testing
 * an Effect app: ours on one long-lived client, the platform's bare `toHandled` pipeline
 * (the floor), `toWebHandler`, `NodeHttpServer.layerTest` over a real socket, supertest and
 * light-my-request against the app's Node handler.
 *
 * Each subject does its own number of requests per run (the slow ones fewer, so every run
 * takes a fraction of a second); the figures compared are requests per second.
 */
import * as http from "node:http"
import { HttpApp, HttpClient, HttpServer, HttpServerRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, ManagedRuntime } from "effect"
import { inject } from "light-my-request"
import request from "supertest"
import * as TestClient from "../src/Client.js"
import { app, checkPayload, floor, formatRate, formatRatio, perSecond, runNote, times } from "./app.js"
import { compare, mib, type Row } from "./harness.js"

/** Requests per run for each subject. */
export const counts = {
  ours: 3_000,
  floor: 8_000,
  webHandler: 1_500,
  layerTest: 150,
  supertest: 200,
  lightMyRequest: 1_500
}

export interface Subject {
  readonly name: string
  readonly n: number
  readonly run: () => Promise<void>
}

/** Ours: `TestClient.get("/json")` and `r.json`, on one client kept for the whole scenario. */
export const oursSubject = (n: number = counts.ours) => {
  const runtime = ManagedRuntime.make(TestClient.layer(app))
  const once = Effect.flatMap(TestClient.get("/json"), (r) =>
    Effect.map(r.json, (body) => {
      if (r.status !== 200) throw new Error(`TestClient: status ${r.status}`)
      checkPayload(body, "TestClient")
    })
  )
  const loop = times(n, once)
  return {
    subject: { name: "TestClient.get + json (one client)", n, run: () => runtime.runPromise(loop) } as Subject,
    dispose: () => runtime.dispose()
  }
}

/** The floor: `HttpApp.toHandled` with one prebuilt request, reused; `handleResponse` takes the bytes. */
export const floorSubject = (n: number = counts.floor): Subject => {
  const prebuilt = HttpServerRequest.fromWeb(new Request("http://bench/json"))
  const { once, sink } = floor(prebuilt)
  const loop = times(
    n,
    Effect.zipRight(
      once,
      Effect.sync(() => {
        if (sink.status !== 200 || sink.bytes.length === 0) throw new Error(`floor: status ${sink.status}`)
      })
    )
  )
  return { name: "floor: HttpApp.toHandled, prebuilt request", n, run: () => Effect.runPromise(loop) }
}

export const run = async (runs: number): Promise<ReadonlyArray<Row>> => {
  const ours = oursSubject()

  const webHandler = HttpApp.toWebHandler(app)
  const viaWebHandler = async () => {
    for (let i = 0; i < counts.webHandler; i++) {
      const res = await webHandler(new Request("http://bench/json"))
      checkPayload(await res.json(), "toWebHandler")
    }
  }

  // NodeHttpServer.layerTest: a real server on a random port and an HttpClient for it,
  // with the agent layerTest builds (keepAlive: false, so one connection per request).
  const socketRuntime = ManagedRuntime.make(HttpServer.serve(app).pipe(Layer.provideMerge(NodeHttpServer.layerTest)))
  const socketLoop = times(
    counts.layerTest,
    Effect.flatMap(HttpClient.get("/json"), (r) => Effect.map(r.json, (body) => checkPayload(body, "layerTest")))
  )

  const nodeHandler = await Effect.runPromise(NodeHttpServer.makeHandler(app))
  // Not listening: supertest listens on a random port for each request and closes after,
  // as `request(app)` does in a typical test.
  const server = http.createServer(nodeHandler)
  const viaSupertest = async () => {
    for (let i = 0; i < counts.supertest; i++) {
      const res = await request(server).get("/json")
      checkPayload(res.body, "supertest")
    }
  }

  const viaLightMyRequest = async () => {
    for (let i = 0; i < counts.lightMyRequest; i++) {
      const res = await inject(nodeHandler, { method: "GET", url: "/json" })
      checkPayload(res.json(), "light-my-request")
    }
  }

  const subjects: ReadonlyArray<Subject> = [
    ours.subject,
    floorSubject(),
    { name: "HttpApp.toWebHandler + res.json()", n: counts.webHandler, run: viaWebHandler },
    {
      name: "NodeHttpServer.layerTest + HttpClient",
      n: counts.layerTest,
      run: () => socketRuntime.runPromise(socketLoop)
    },
    { name: "supertest(http.createServer(makeHandler))", n: counts.supertest, run: viaSupertest },
    { name: "light-my-request inject(makeHandler)", n: counts.lightMyRequest, run: viaLightMyRequest }
  ]
  const measured = await compare(subjects, runs)
  await ours.dispose()
  await socketRuntime.dispose()

  const rates = measured.map((m, i) => perSecond(subjects[i].n, m.seconds))
  const oursRate = rates[0]
  const targets: ReadonlyArray<number | undefined> = [undefined, 0.7, undefined, 10, 10, 1]
  const rows: Array<Row> = measured.map((m, i) => {
    const value = `${formatRate(rates[i])} (${runNote(subjects[i].n, m.seconds)})`
    if (i === 0) return { scenario: "GET round trip", subject: m.name, value }
    const ratio = oursRate / rates[i]
    const target = targets[i]
    return {
      scenario: "GET round trip",
      subject: m.name,
      value,
      ratio: `ours ${formatRatio(ratio)}x`,
      ...(target === undefined ? {} : { target: `>= ${target}x`, met: ratio >= target })
    }
  })
  rows.push({
    scenario: "memory",
    subject: `${measured[0].name}: peak RSS growth over a run of ${subjects[0].n.toLocaleString("en-US")}`,
    value: mib(measured[0].rssGrowth)
  })
  return rows
}
