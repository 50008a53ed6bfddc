import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClient } from "effect-http-testkit"

const app = HttpRouter.empty.pipe(
  HttpRouter.get("/ping", HttpServerResponse.text("pong")),
  HttpRouter.post(
    "/echo",
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (r) =>
      Effect.map(r.json, (j) => HttpServerResponse.unsafeJson(j))
    )
  ),
  HttpRouter.get("/boom", Effect.die("boom"))
)

it.scoped("ping", () =>
  Effect.gen(function* () {
    const r = yield* TestClient.get("/ping")
    expect(r.status).toBe(200)
    expect(yield* r.text).toBe("pong")
    console.log(r.headers)
    const e = yield* TestClient.post("/echo", { json: { a: 1 } })
    expect(yield* e.json).toEqual({ a: 1 })
    const nf = yield* TestClient.get("/nope")
    expect(nf.status).toBe(404)
    const err = yield* Effect.flip(TestClient.get("/boom"))
    console.log(err.message)
  }).pipe(Effect.provide(TestClient.layer(app)))
)
