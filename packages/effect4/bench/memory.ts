/**
 * Scenario 5: what a long-lived client keeps. 100,000 sequential GET /json on one client;
 * the heap is measured after a full GC (`--expose-gc`) right after building the client and
 * doing one warm-up request (the base), at 20,000, at 60,000 and at 100,000 requests.
 *
 * The Effect 3 edition's two targets: what the client retains after 20,000 requests over the
 * base stays <= 10 MiB (in both editions: the last 100 exchanges and the last 10,000 spans
 * the client's TestTracer recorded);
 * and from 20,000 on the heap stays flat (<= 2 MiB growth to 100,000).
 */
import { TestClient } from "@effect-http-testkit/effect4"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { mib, type Row } from "../../../scripts/bench/harness.js"
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
  const started = Date.now()
  await runtime.runPromise(once)
  const base = heapAfterGc()
  await runtime.runPromise(times(settings.first - 1, once))
  const atFirst = heapAfterGc()
  await runtime.runPromise(times(settings.middle - settings.first, once))
  const atMiddle = heapAfterGc()
  await runtime.runPromise(times(settings.total - settings.middle, once))
  const atTotal = heapAfterGc()
  const seconds = (Date.now() - started) / 1000
  await runtime.dispose()

  const retained = atFirst - base
  const growth = atTotal - atFirst
  const count = (n: number) => n.toLocaleString("en-US")
  const scenario = `heap, ${count(settings.total)} requests on one client`
  return [
    {
      scenario,
      subject: `heapUsed after GC at 1 / ${count(settings.first)} / ${count(settings.middle)} / ${count(settings.total)}`,
      value: `${mib(base)} / ${mib(atFirst)} / ${mib(atMiddle)} / ${mib(atTotal)} (${seconds.toFixed(1)} s)`
    },
    {
      scenario,
      subject: `heap retained after ${count(settings.first)} requests (over the client + 1 warm-up request)`,
      value: `${signed(retained)} (the last 100 exchanges and the spans the TestTracer keeps)`,
      target: `<= ${mib(settings.retained)}`,
      met: retained <= settings.retained
    },
    {
      scenario,
      subject: `heap growth from ${count(settings.first)} to ${count(settings.total)} requests`,
      value: `${signed(growth)} (${(growth / (settings.total - settings.first)).toFixed(1)} B/request; ${signed(atTotal - atMiddle)} over the last ${count(settings.total - settings.middle)})`,
      target: `flat: <= ${mib(settings.growth)}`,
      met: growth <= settings.growth
    }
  ]
}
