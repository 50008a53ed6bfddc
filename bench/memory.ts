/**
 * Scenario 5: a long-lived client does not grow. 100,000 sequential GET /json on one
 * client; the heap is measured after a full GC (`--expose-gc`) at 10,000 and at 100,000
 * requests. The client keeps at most 100 exchanges and 10,000 recorded spans (oldest
 * dropped), so from 10,000 requests on the heap should stay flat.
 */
import { Effect, ManagedRuntime } from "effect"
import * as TestClient from "../src/Client.js"
import * as TestTracer from "../src/Tracer.js"
import { app, checkPayload, times } from "./app.js"
import { mib, type Row } from "./harness.js"

export const settings = { first: 10_000, middle: 55_000, total: 100_000, limit: 2 * 1024 * 1024 }

const signed = (bytes: number) => `${bytes >= 0 ? "+" : "-"}${mib(Math.abs(bytes))}`

const heapAfterGc = () => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("memory: run node with --expose-gc")
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

export const run = async (_runs: number): Promise<ReadonlyArray<Row>> => {
  const runtime = ManagedRuntime.make(TestClient.layer(app))
  const once = Effect.flatMap(TestClient.get("/json"), (r) => Effect.map(r.json, (b) => checkPayload(b, "TestClient")))
  const facts = Effect.all({
    exchanges: Effect.map(TestClient.exchanges, (e) => e.length),
    spans: Effect.map(TestTracer.spans, (s) => s.length)
  })
  const started = Date.now()
  await runtime.runPromise(times(settings.first, once))
  const atFirst = heapAfterGc()
  const first = await runtime.runPromise(facts)
  await runtime.runPromise(times(settings.middle - settings.first, once))
  const atMiddle = heapAfterGc()
  await runtime.runPromise(times(settings.total - settings.middle, once))
  const atTotal = heapAfterGc()
  const last = await runtime.runPromise(facts)
  const seconds = (Date.now() - started) / 1000
  await runtime.dispose()

  const growth = atTotal - atFirst
  const perRequest = growth / (settings.total - settings.first)
  const count = (n: number) => n.toLocaleString("en-US")
  const scenario = `heap, ${count(settings.total)} requests on one client`
  return [
    {
      scenario,
      subject: `heapUsed after GC at ${count(settings.first)} / ${count(settings.middle)} / ${count(settings.total)}`,
      value: `${mib(atFirst)} / ${mib(atMiddle)} / ${mib(atTotal)} (${count(first.exchanges)} / ${count(last.exchanges)} exchanges, ${count(first.spans)} / ${count(last.spans)} finished spans kept; ${seconds.toFixed(1)} s)`
    },
    {
      scenario,
      subject: `heap growth from ${count(settings.first)} to ${count(settings.total)} requests`,
      value: `${signed(growth)} (${perRequest.toFixed(1)} B/request; ${signed(atTotal - atMiddle)} over the last ${count(settings.total - settings.middle)})`,
      target: `flat: <= ${mib(settings.limit)} (${(settings.limit / (settings.total - settings.first)).toFixed(0)} B/request)`,
      met: growth <= settings.limit
    }
  ]
}
