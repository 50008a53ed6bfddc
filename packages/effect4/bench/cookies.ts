/**
 * Scenario: storing many cookies once a Secure cookie is in the jar. Over plain http every
 * non-Secure cookie is checked against the Secure ones ("leave secure cookies alone", RFC
 * 6265bis); a jar that walked (serialised) all of itself per check took 258 s for 10,000.
 *
 * Each run builds a client for `http://localhost` (a secure context, so the Secure cookie is
 * stored), has the app set the Secure cookie, then answer one GET with 10,000 `Set-Cookie`
 * lines, and reads the `Cookie` header back to check every cookie is there. Against the same
 * run with no Secure cookie (where no check applies): the ratio is the check's cost.
 */
import { TestClient } from "@effect-http-testkit/effect4"
import * as Effect from "effect/Effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Layer from "effect/Layer"
import {
  compare,
  formatSeconds,
  formatSpread,
  type Measurement,
  paired,
  perRun,
  type Row
} from "../../../scripts/bench/harness.js"
import { formatRatios } from "./app.js"

export const settings = { cookies: 10_000 }

const app = Layer.mergeAll(
  HttpRouter.add(
    "GET",
    "/secure",
    HttpServerResponse.empty({ status: 204, headers: { "set-cookie": "s=1; Secure; Path=/" } })
  ),
  HttpRouter.add(
    "GET",
    "/many",
    Effect.gen(function* () {
      const n = Number((yield* Effect.service(HttpServerRequest.ParsedSearchParams)).n)
      return HttpServerResponse.empty({ status: 204 }).pipe(
        HttpServerResponse.setCookiesUnsafe(Array.from({ length: n }, (_, i) => [`c${i}`, String(i), { path: "/" }]))
      )
    })
  )
)

const store = (withSecure: boolean) => () =>
  Effect.runPromise(
    Effect.gen(function* () {
      if (withSecure) yield* TestClient.get("/secure")
      const r = yield* TestClient.get("/many", { params: { n: settings.cookies } })
      const sent = (yield* TestClient.cookieHeader("/")).split("; ").length
      const expected = settings.cookies + (withSecure ? 1 : 0)
      if (r.setCookie.length !== settings.cookies || sent !== expected) {
        throw new Error(`${r.setCookie.length} Set-Cookie lines, ${sent} cookies sent back, expected ${expected}`)
      }
    }).pipe(Effect.scoped, Effect.provide(TestClient.layer(app, { baseUrl: "http://localhost" })))
  )

export const run = async (runs: number): Promise<ReadonlyArray<Row>> => {
  const [a, b] = await compare(
    [
      { name: "with a Secure cookie in the jar (every cookie checked against it)", run: store(true) },
      { name: "no Secure cookie (no check)", run: store(false) }
    ],
    runs
  )
  const scenario = `${settings.cookies.toLocaleString("en-US")} Set-Cookie in one response over http`
  const value = (m: Measurement) =>
    `${formatSeconds(m)} (${formatSpread(
      perRun(m, (s) => (1e6 * s) / settings.cookies),
      (x) => x.toFixed(1),
      " µs/cookie"
    )}; client, response and Cookie header read back included)`
  return [
    { scenario, subject: b.name, value: value(b) },
    {
      scenario,
      subject: a.name,
      value: value(a),
      ratio: `${formatRatios(paired(a, b, (x, y) => y / x))} no Secure cookie`,
      target: "< 1 s",
      met: a.seconds < 1
    }
  ]
}
