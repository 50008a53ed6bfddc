/**
 * Scenario 1 (both editions): sequential small GET round trips returning JSON, through each
 * way of testing an Effect app. Each edition's bench/roundtrip.ts makes the subjects (`Makers`)
 * and its bench/worker.ts serves one of them per process (./isolated.ts `serveMade`: warmed,
 * runs of about half a second, no forced GC); `run` here compares them.
 *
 * Each subject runs in a process of its own: they share the Effect runtime's code (ours, the
 * floors, layerTest, the platform handler under supertest and light-my-request), and in one
 * process each changed the others' cost (V8's allocation-site pretenuring and call-site
 * shapes, one subject's retained heap making the next one's collections dearer).
 *
 * The subjects, in order (ours first, the pipeline floor second: the rows' ratios rely on it):
 * ours on one long-lived client; the pipeline floor (the target's); the same floor with the
 * kit's span recorder (`TestTracer`) as its tracer, the most a client that records every
 * span as the kit's layers do could reach (the peers' rows show it); the bare floor and the
 * platform's web handler (references); undici with keep-alive against the app on a real
 * server; `NodeHttpServer.layerTest`; supertest and light-my-request on the app's Node
 * handler; Fastify's `inject` and Hono's `app.request` on their own apps (references).
 * The figures compared are requests per second.
 */
import type * as http from "node:http"
import Fastify from "fastify"
import { Hono } from "hono"
import { inject } from "light-my-request"
import request from "supertest"
import { checkPayload, formatRss, payload, type Row, rateRows } from "./harness.js"
import { compareMade, type Made, type WorkerCommand } from "./isolated.js"

export const subjectKeys = [
  "ours",
  "pipeline",
  "recorded",
  "floor",
  "webHandler",
  "undici",
  "layerTest",
  "supertest",
  "lightMyRequest",
  "fastify",
  "hono"
] as const
export type SubjectKey = (typeof subjectKeys)[number]

/** The two pipeline floors' names, the same in both editions' results (`bench:compare` pairs rows by name). */
export const floorNames = {
  pipeline: "pipeline floor: fresh request + fiber per request, toHandled (tracer, scope)",
  recorded: "pipeline floor recording spans: the kit's TestTracer as its tracer"
} as const

/** The recorded floor's premise, given the kinds of the spans its tracer kept: a request left a server span. */
export const checkRecorded = (kinds: ReadonlyArray<string>): void => {
  if (!kinds.includes("server")) throw new Error("recorded floor: no server span was recorded")
}

/** The minimum ratio of ours to a subject (requests per second), where it is a target. */
const targets: Partial<Record<SubjectKey, number>> = {
  pipeline: 0.8,
  undici: 4,
  layerTest: 20,
  supertest: 15,
  lightMyRequest: 2.5
}

/** Each subject, as an edition makes it in its worker (`bench/worker.ts roundtrip <key>`). */
export type Makers = Record<SubjectKey, () => Promise<Made>>

/** A platform web handler (`toWebHandler`), `n` GETs of /json a run, each body checked. */
export const webHandlerSubject = (
  name: string,
  n: number,
  handler: (request: Request) => Promise<Response>,
  dispose?: () => Promise<unknown>
): Made => ({
  name,
  n,
  run: async () => {
    for (let i = 0; i < n; i++) {
      const res = await handler(new Request("http://bench/json"))
      checkPayload(await res.json(), "toWebHandler")
    }
  },
  ...(dispose === undefined ? {} : { dispose })
})

/**
 * supertest on the app's Node handler (platform-node's `makeHandler`), not listening:
 * supertest listens on a random port for each request and closes after, as `request(app)`
 * does in a typical test.
 */
export const supertestSubject = (server: http.Server, n: number, dispose?: () => Promise<unknown>): Made => ({
  name: "supertest(http.createServer(makeHandler))",
  n,
  run: async () => {
    for (let i = 0; i < n; i++) {
      const res = await request(server).get("/json")
      checkPayload(res.body, "supertest")
    }
  },
  ...(dispose === undefined ? {} : { dispose })
})

/** light-my-request's `inject` on the app's Node handler (platform-node's `makeHandler`). */
export const lightMyRequestSubject = (
  handler: (request: http.IncomingMessage, response: http.ServerResponse) => void,
  n: number,
  dispose?: () => Promise<unknown>
): Made => ({
  name: "light-my-request inject(makeHandler)",
  n,
  run: async () => {
    for (let i = 0; i < n; i++) {
      const res = await inject(handler, { method: "GET", url: "/json" })
      checkPayload(res.json(), "light-my-request")
    }
  },
  ...(dispose === undefined ? {} : { dispose })
})

/** Fastify's `inject` on Fastify's own app with the same JSON route (a reference line). */
export const fastifySubject = async (n: number): Promise<Made> => {
  const fastify = Fastify({ logger: false })
  fastify.get("/json", async () => payload)
  await fastify.ready()
  return {
    name: "Fastify inject, on Fastify's own app (reference: cannot run the Effect app)",
    n,
    run: async () => {
      for (let i = 0; i < n; i++) {
        const res = await fastify.inject({ method: "GET", url: "/json" })
        checkPayload(res.json(), "fastify inject")
      }
    },
    dispose: () => fastify.close()
  }
}

/** Hono's `app.request` on Hono's own app with the same JSON route (a reference line). */
export const honoSubject = async (n: number): Promise<Made> => {
  const hono = new Hono()
  hono.get("/json", (c) => c.json(payload))
  return {
    name: "Hono app.request, on Hono's own app (reference: cannot run the Effect app)",
    n,
    run: async () => {
      for (let i = 0; i < n; i++) {
        const res = await hono.request("/json")
        checkPayload(await res.json(), "hono app.request")
      }
    }
  }
}

export const run = async (worker: WorkerCommand, runs: number): Promise<ReadonlyArray<Row>> => {
  const { subjects: made, measured } = await compareMade(worker, "roundtrip", subjectKeys, runs)
  const subjects = made.map((s) => {
    const target = targets[s.key]
    return target === undefined ? s : { ...s, target }
  })
  const floorIndex = subjectKeys.indexOf("pipeline")
  const recordedIndex = subjectKeys.indexOf("recorded")
  const bareIndex = subjectKeys.indexOf("floor")
  const labels = new Map([
    [subjects[floorIndex], "pipeline floor"],
    [subjects[recordedIndex], "pipeline floor recording spans"],
    [subjects[bareIndex], "bare floor"]
  ])
  const rows = rateRows("GET round trip", subjects, measured, (s) => labels.get(s) ?? "", floorIndex, recordedIndex)
  rows.push({
    scenario: "memory",
    subject: `${measured[0].name}: peak RSS growth over a run of ${subjects[0].n.toLocaleString("en-US")}, from the heap as it was (no GC before the run)`,
    value: formatRss(measured[0])
  })
  return rows
}
