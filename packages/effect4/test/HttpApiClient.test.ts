/**
 * A typed `HttpApiClient.make(Api)` against the app in process: every TestClient layer gives a
 * platform `HttpClient` that reaches the app, and relative URLs resolve against the kit's
 * `baseUrl`, so the typed client needs no `baseUrl` of its own.
 */
import { describe, expect, it } from "@effect/vitest"
import { TestClient, TestTracer } from "@effect-http-testkit/effect4"
import { Cause, Deferred, Effect, Fiber, FileSystem, Layer, Logger, Ref, Schema } from "effect"
import { HttpRouter, HttpServerError, type HttpServerRequest, HttpServerResponse, Multipart } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiClient, HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "effect/http-api"

// ---------------------------------------------------------------------------
// the API under test
// ---------------------------------------------------------------------------

class Item extends Schema.Class<Item>("Item")({
  id: Schema.Int,
  name: Schema.String,
  tags: Schema.Array(Schema.String)
}) {}

class ItemNotFound extends Schema.Error<ItemNotFound>("ItemNotFound")(
  { _tag: Schema.tag("ItemNotFound"), id: Schema.Int },
  { httpApiStatus: 404 }
) {}

class Forbidden extends Schema.Error<Forbidden>("Forbidden")(
  { _tag: Schema.tag("Forbidden"), reason: Schema.String },
  { httpApiStatus: 403 }
) {}

const NewItem = Schema.Struct({ name: Schema.String, tags: Schema.Array(Schema.String) })

class ItemsGroup extends HttpApiGroup.make("items").add(
  HttpApiEndpoint.get("get", "/items/:id", {
    params: { id: Schema.NumberFromString },
    success: Item,
    error: ItemNotFound
  }),
  HttpApiEndpoint.get("search", "/items", {
    query: {
      q: Schema.optional(Schema.String),
      tag: Schema.optional(Schema.Array(Schema.String)),
      limit: Schema.optional(Schema.NumberFromString)
    },
    success: Schema.Array(Item)
  }),
  HttpApiEndpoint.post("create", "/items", {
    payload: NewItem,
    success: Item.pipe(HttpApiSchema.status(201))
  }),
  HttpApiEndpoint.get("whoami", "/whoami", {
    headers: { "x-api-key": Schema.String },
    success: Schema.Struct({ user: Schema.String }),
    error: Forbidden
  }),
  HttpApiEndpoint.post("upload", "/uploads", {
    payload: Schema.Struct({ title: Schema.String, file: Multipart.SingleFileSchema }).pipe(
      HttpApiSchema.asMultipart()
    ),
    success: Schema.Struct({
      title: Schema.String,
      name: Schema.String,
      contentType: Schema.String,
      content: Schema.String
    })
  }),
  // Declares no 500: a handler that dies answers with a status the client does not expect.
  HttpApiEndpoint.get("boom", "/boom", { success: Schema.String })
) {}

class Api extends HttpApi.make("items-api").add(ItemsGroup) {}

const seed: ReadonlyArray<Item> = [
  new Item({ id: 1, name: "hammer", tags: ["tools"] }),
  new Item({ id: 2, name: "nails", tags: ["tools", "small"] }),
  new Item({ id: 3, name: "apple", tags: ["food", "small"] })
]

const ItemsLive = HttpApiBuilder.group(Api, "items", (handlers) =>
  Effect.gen(function* () {
    // Built once per layer build, so each test's app starts from the seed.
    const items = yield* Ref.make(seed)
    const fs = yield* FileSystem.FileSystem
    return handlers
      .handle("get", ({ params }) =>
        Effect.flatMap(Ref.get(items), (all) => {
          const item = all.find((i) => i.id === params.id)
          return item === undefined ? Effect.fail(new ItemNotFound({ id: params.id })) : Effect.succeed(item)
        })
      )
      .handle("search", ({ query }) =>
        Effect.map(Ref.get(items), (all) =>
          all
            .filter((i) => query.q === undefined || i.name.includes(query.q))
            .filter((i) => (query.tag ?? []).every((tag) => i.tags.includes(tag)))
            .slice(0, query.limit)
        )
      )
      .handle("create", ({ payload }) =>
        Ref.modify(items, (all) => {
          const item = new Item({ id: all.length + 1, ...payload })
          return [item, [...all, item]]
        })
      )
      .handle("whoami", ({ headers }) =>
        headers["x-api-key"] === "secret"
          ? Effect.succeed({ user: "ada" })
          : Effect.fail(new Forbidden({ reason: "unknown api key" }))
      )
      .handle("upload", ({ payload }) =>
        // The server reads the file the multipart parser persisted to disk (Node's FileSystem,
        // which the kit provides as NodeHttpServer.layer does in production).
        fs.readFileString(payload.file.path).pipe(
          Effect.orDie,
          Effect.map((content) => ({
            title: payload.title,
            name: payload.file.name,
            contentType: payload.file.contentType,
            content
          }))
        )
      )
      .handle("boom", () => Effect.die(new Error("kaboom")))
  })
)

const ApiLive = HttpApiBuilder.layer(Api).pipe(Layer.provide(ItemsLive))

/** The production bootstrap, minus the socket. */
const ServerLive = HttpRouter.serve(ApiLive, { disableListenLog: true, disableLogger: true })

const TestApp = TestClient.layerServer(ServerLive)

/** The typed client, as a user makes it: no baseUrl, the layer's HttpClient resolves relative URLs. */
const client = HttpApiClient.make(Api)

// ---------------------------------------------------------------------------

describe("HttpApiClient.make(Api) in process, through TestClient.layerServer", () => {
  it.effect("decodes a success into the Api's schema", () =>
    Effect.gen(function* () {
      const api = yield* client
      const item = yield* api.items.get({ params: { id: 2 } })
      expect(item).toBeInstanceOf(Item)
      expect(item).toEqual(new Item({ id: 2, name: "nails", tags: ["tools", "small"] }))
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a declared error comes back as that typed error, with the status the Api declares", () =>
    Effect.gen(function* () {
      const api = yield* client
      const error = yield* Effect.flip(api.items.get({ params: { id: 42 } }))
      expect(error).toBeInstanceOf(ItemNotFound)
      expect(error._tag === "ItemNotFound" && error.id).toBe(42)
      // On the wire: the status the Api declares for it.
      expect((yield* TestClient.get("/items/42")).status).toBe(404)
      // Recoverable by tag, as application code would.
      const recovered = yield* api.items
        .get({ params: { id: 42 } })
        .pipe(Effect.catchTag("ItemNotFound", (e) => Effect.succeed(`no item ${e.id}`)))
      expect(recovered).toBe("no item 42")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("path params are encoded into the URL the app routes on", () =>
    Effect.gen(function* () {
      const api = yield* client
      const [item, response] = yield* api.items.get({ params: { id: 3 }, responseMode: "decoded-and-response" })
      expect(item.name).toBe("apple")
      expect(response.status).toBe(200)
      expect(response.request.url).toBe("http://testserver/items/3")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("query params: optional ones left out, arrays repeat the key, numbers encoded", () =>
    Effect.gen(function* () {
      const api = yield* client
      const names = (items: ReadonlyArray<Item>) => items.map((i) => i.name)
      expect(names(yield* api.items.search({ query: {} }))).toEqual(["hammer", "nails", "apple"])
      expect(names(yield* api.items.search({ query: { tag: ["small"] } }))).toEqual(["nails", "apple"])
      expect(names(yield* api.items.search({ query: { tag: ["tools", "small"] } }))).toEqual(["nails"])
      expect(names(yield* api.items.search({ query: { q: "a", limit: 2 } }))).toEqual(["hammer", "nails"])
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a JSON payload is encoded, and the declared 201 decodes as a success", () =>
    Effect.gen(function* () {
      const api = yield* client
      const [created, response] = yield* api.items.create({
        payload: { name: "saw", tags: ["tools"] },
        responseMode: "decoded-and-response"
      })
      expect(response.status).toBe(201)
      expect(created).toEqual(new Item({ id: 4, name: "saw", tags: ["tools"] }))
      expect(yield* api.items.get({ params: { id: 4 } })).toEqual(created)
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("request headers declared on the endpoint reach the handler", () =>
    Effect.gen(function* () {
      const api = yield* client
      expect(yield* api.items.whoami({ headers: { "x-api-key": "secret" } })).toEqual({ user: "ada" })
      const denied = yield* Effect.flip(api.items.whoami({ headers: { "x-api-key": "guess" } }))
      expect(denied._tag).toBe("Forbidden")
      expect(denied._tag === "Forbidden" && denied.reason).toBe("unknown api key")
    }).pipe(Effect.provide(TestApp))
  )

  it.effect("a multipart upload: the server reads the file it persisted", () =>
    Effect.gen(function* () {
      const api = yield* client
      const form = new FormData()
      form.append("title", "notes")
      form.append("file", new File(["hello from a file\n"], "hello.txt", { type: "text/plain" }))
      const uploaded = yield* api.items.upload({ payload: form })
      expect(uploaded).toEqual({
        title: "notes",
        name: "hello.txt",
        contentType: "text/plain",
        content: "hello from a file\n"
      })
    }).pipe(Effect.provide(TestApp))
  )

  it.effect(
    "a handler that dies: an undeclared 500 for the typed client, a ServerError with the Cause for TestClient",
    () =>
      Effect.gen(function* () {
        const api = yield* client
        const error = yield* Effect.flip(api.items.boom({}))
        // The endpoint declares no 500: the typed client fails, carrying the 500 response.
        expect(JSON.stringify(error)).toContain("500")
        // The defect itself is the kit's own client's business: ServerError with the Cause.
        const server = yield* Effect.flip(TestClient.get("/boom"))
        expect(server._tag).toBe("ServerError")
        expect(server._tag === "ServerError" && Cause.pretty(server.cause)).toContain("kaboom")
      }).pipe(Effect.provide(TestApp))
  )

  it.effect("its exchanges show up in TestClient.exchanges, its server span in TestTracer", () =>
    Effect.gen(function* () {
      const api = yield* client
      yield* api.items.get({ params: { id: 1 } })
      yield* Effect.flip(api.items.get({ params: { id: 9 } }))
      const exchanges = yield* TestClient.exchanges
      expect(exchanges.map((e) => `${e.request.method} ${e.request.url} ${e.response.status}`)).toEqual([
        "GET http://testserver/items/1 200",
        "GET http://testserver/items/9 404"
      ])
      // The typed client's responses are the platform's (the body was the caller's to read),
      // not the kit's buffered TestResponses, which keep their redirect `history`.
      expect(exchanges.every((e) => !("history" in e.response))).toBe(true)
      // Like a client on a socket, the typed client returns once it has read the body, which
      // can be before the handler has finished and ended its span; drainTasks waits for the
      // app's work to settle first.
      yield* TestClient.drainTasks
      // The platform client's own span parents the server span: one trace from the typed call to the handler.
      const [first] = yield* TestTracer.findSpans("GET", { kind: "client" })
      const server = yield* TestTracer.findSpan("GET", { rootId: first!.spanId, kind: "server" })
      expect(server.attributes.get("http.route")).toBe("/items/:id")
      expect(server.attributes.get("http.response.status_code")).toBe(200)
      expect(server.traceId).toBe(first!.traceId)
    }).pipe(Effect.provide(TestApp))
  )
})

describe("HttpApiClient.make(Api) against the production bootstrap with its request logger", () => {
  const LoggedApp = TestClient.layerServer(
    HttpRouter.serve(ApiLive, { disableListenLog: true }).pipe(Layer.provide(Logger.layer([])))
  )

  it.effect("typed successes, typed errors and the undeclared 500 behave as without the logger", () =>
    Effect.gen(function* () {
      const api = yield* client
      expect((yield* api.items.get({ params: { id: 1 } })).name).toBe("hammer")
      expect((yield* Effect.flip(api.items.get({ params: { id: 7 } })))._tag).toBe("ItemNotFound")
      expect(JSON.stringify(yield* Effect.flip(api.items.boom({})))).toContain("500")
      const server = yield* Effect.flip(TestClient.get("/boom"))
      expect(server._tag === "ServerError" && Cause.pretty(server.cause)).toContain("kaboom")
    }).pipe(Effect.provide(LoggedApp))
  )
})

describe("HttpApiClient.make(Api) through every TestClient layer", () => {
  it.effect("TestClient.layerTest: the bootstrap served from the test body, as with NodeHttpServer.layerTest", () =>
    Effect.gen(function* () {
      yield* Layer.build(ServerLive)
      const api = yield* client
      expect((yield* api.items.get({ params: { id: 1 } })).name).toBe("hammer")
      expect((yield* Effect.flip(api.items.get({ params: { id: 5 } })))._tag).toBe("ItemNotFound")
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  it.effect("TestClient.layer: the Api layer served as HttpRouter.serve serves it", () =>
    Effect.gen(function* () {
      const api = yield* client
      expect((yield* api.items.get({ params: { id: 3 } })).name).toBe("apple")
      const created = yield* api.items.create({ payload: { name: "pear", tags: ["food"] } })
      expect(created.id).toBe(4)
    }).pipe(Effect.provide(TestClient.layer(ApiLive)))
  )

  it.effect("relative typed calls resolve against the kit's baseUrl option, whatever its origin", () =>
    Effect.gen(function* () {
      const api = yield* client
      const [item, response] = yield* api.items.get({ params: { id: 3 }, responseMode: "decoded-and-response" })
      expect(item.name).toBe("apple")
      expect(response.request.url).toBe("https://api.test/items/3")
    }).pipe(Effect.provide(TestClient.layerServer(ServerLive, { baseUrl: "https://api.test" })))
  )

  it.effect("the app sees the host of the kit's baseUrl", () =>
    Effect.gen(function* () {
      const seen = yield* Deferred.make<string | undefined>()
      const Host = HttpRouter.add("GET", "/host", (request: HttpServerRequest.HttpServerRequest) =>
        Effect.as(Deferred.succeed(seen, request.headers.host), HttpServerResponse.text("ok"))
      )
      yield* Effect.gen(function* () {
        yield* TestClient.get("/host")
        expect(yield* Deferred.await(seen)).toBe("api.test")
      }).pipe(Effect.provide(TestClient.layer(Host, { baseUrl: "https://api.test" })))
    })
  )
})

describe("interrupting a typed call", () => {
  class SlowApi extends HttpApi.make("slow").add(
    HttpApiGroup.make("slow").add(HttpApiEndpoint.get("wait", "/wait", { success: Schema.String }))
  ) {}

  it.effect("disconnects the handler as a client abort, as closing a socket does", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const interruptedBy = yield* Deferred.make<boolean>()
      const SlowLive = HttpApiBuilder.group(SlowApi, "slow", (handlers) =>
        handlers.handle("wait", () =>
          Deferred.succeed(started, undefined).pipe(
            Effect.andThen(Effect.never),
            Effect.onExit((exit) =>
              Deferred.succeed(
                interruptedBy,
                exit._tag === "Failure" &&
                  exit.cause.reasons.some(
                    (reason) =>
                      Cause.isInterruptReason(reason) && reason.annotations.has(HttpServerError.ClientAbort.key)
                  )
              )
            )
          )
        )
      )
      const SlowApp = TestClient.layer(HttpApiBuilder.layer(SlowApi).pipe(Layer.provide(SlowLive)))
      yield* Effect.gen(function* () {
        const api = yield* HttpApiClient.make(SlowApi)
        const call = yield* Effect.forkChild(api.slow.wait({}))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(call)
        expect(yield* Deferred.await(interruptedBy)).toBe(true)
      }).pipe(Effect.provide(SlowApp))
    })
  )
})
