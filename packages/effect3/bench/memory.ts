/**
 * Scenario 5: what a long-lived client keeps. 100,000 sequential GET /json on one client;
 * the heap is measured after a full GC (`--expose-gc`) right after building the client and
 * doing one warm-up request (the base), at 20,000, at 60,000 and at 100,000 requests.
 *
 * Two targets: what the client retains after 20,000 requests over the base (the last 100
 * exchanges and the recorded spans it keeps, at most the tracer's `spanLimit`) stays
 * <= 10 MiB; and from 20,000 on, once every bound is reached, the heap stays flat
 * (<= 2 MiB growth to 100,000).
 */
import { Effect, ManagedRuntime } from "effect"
import { mib, type Row } from "../../../scripts/bench/harness.js"
import * as TestClient from "../src/Client.js"
import * as TestTracer from "../src/Tracer.js"
import { app, checkPayload, times } from "./app.js"

export const settings = {
  first: 20_000,
  middle: 60_000,
  total: 100_000,
  /** Heap retained after `first` requests, over the base. */
  retained: 10 * 1024 * 1024,
  /** Growth from `first` to `total` requests. */
  growth: 2 * 1024 * 1024
}

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
  await runtime.runPromise(once)
  const base = heapAfterGc()
  await runtime.runPromise(times(settings.first - 1, once))
  const atFirst = heapAfterGc()
  const first = await runtime.runPromise(facts)
  await runtime.runPromise(times(settings.middle - settings.first, once))
  const atMiddle = heapAfterGc()
  await runtime.runPromise(times(settings.total - settings.middle, once))
  const atTotal = heapAfterGc()
  const last = await runtime.runPromise(facts)
  const seconds = (Date.now() - started) / 1000
  await runtime.dispose()

  const retained = atFirst - base
  const growth = atTotal - atFirst
  const count = (n: number) => n.toLocaleString("en-US")
  const scenario = `heap, ${count(settings.total)} requests on one client`
  const kept = (facts: { exchanges: number; spans: number }) =>
    `${count(facts.exchanges)} exchanges, ${count(facts.spans)} finished spans kept`
  return [
    {
      scenario,
      subject: `heapUsed after GC at 1 / ${count(settings.first)} / ${count(settings.middle)} / ${count(settings.total)}`,
      value: `${mib(base)} / ${mib(atFirst)} / ${mib(atMiddle)} / ${mib(atTotal)} (${seconds.toFixed(1)} s)`
    },
    {
      scenario,
      subject: `heap retained after ${count(settings.first)} requests (over the client + 1 warm-up request)`,
      value: `${signed(retained)} (${kept(first)}; ${(retained / Math.max(first.spans, 1)).toFixed(0)} B per kept span, all included)`,
      target: `<= ${mib(settings.retained)}`,
      met: retained <= settings.retained
    },
    {
      scenario,
      subject: `heap growth from ${count(settings.first)} to ${count(settings.total)} requests`,
      value: `${signed(growth)} (${(growth / (settings.total - settings.first)).toFixed(1)} B/request; ${signed(atTotal - atMiddle)} over the last ${count(settings.total - settings.middle)}; ${kept(last)})`,
      target: `flat: <= ${mib(settings.growth)}`,
      met: growth <= settings.growth
    }
  ]
}
