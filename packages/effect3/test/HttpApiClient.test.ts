/**
 * A typed `HttpApiClient.make(Api)` against the app in process: every TestClient layer provides
 * a platform `HttpClient` that reaches the app, and relative URLs resolve against the client's
 * `baseUrl`, so the typed client needs no `baseUrl` of its own.
 */
import {
  FileSystem,
  HttpApi,
  HttpApiBuilder,
  HttpApiClient,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiSchema,
  HttpMiddleware,
  HttpServerError,
  Multipart
} from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Fiber, HashSet, Layer, Logger, Ref, Schema } from "effect"
import { TestClient, TestTracer } from "effect-http-testkit"

// ---------------------------------------------------------------------------
// the API under test
// ---------------------------------------------------------------------------

class Item extends Schema.Class<Item>("Item")({
  id: Schema.Int,
  name: Schema.String,
  tags: Schema.Array(Schema.String)
}) {}

class ItemNotFound extends Schema.TaggedError<ItemNotFound>()(
  "ItemNotFound",
  { id: Schema.Int },
  HttpApiSchema.annotations({ status: 404 })
) {}

class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  { reason: Schema.String },
  HttpApiSchema.annotations({ status: 403 })
) {}

const idParam = HttpApiSchema.param("id", Schema.NumberFromString.pipe(Schema.int()))

const SearchParams = Schema.Struct({
  q: Schema.optional(Schema.String),
  tag: Schema.optional(Schema.Array(Schema.String)),
  limit: Schema.optional(Schema.NumberFromString)
})

const NewItem = Schema.Struct({ name: Schema.String, tags: Schema.Array(Schema.String) })

const Upload = HttpApiSchema.Multipart(Schema.Struct({ title: Schema.String, file: Multipart.SingleFileSchema }))

const Uploaded = Schema.Struct({
  title: Schema.String,
  name: Schema.String,
  contentType: Schema.String,
  content: Schema.String
})

class ItemsGroup extends HttpApiGroup.make("items")
  .add(HttpApiEndpoint.get("get")`/items/${idParam}`.addSuccess(Item).addError(ItemNotFound))
  .add(HttpApiEndpoint.get("search", "/items").setUrlParams(SearchParams).addSuccess(Schema.Array(Item)))
  .add(HttpApiEndpoint.post("create", "/items").setPayload(NewItem).addSuccess(Item, { status: 201 }))
  .add(
    HttpApiEndpoint.get("whoami", "/whoami")
      .setHeaders(Schema.Struct({ "x-api-key": Schema.String }))
      .addSuccess(Schema.Struct({ user: Schema.String }))
      .addError(Forbidden)
  )
  .add(HttpApiEndpoint.post("upload", "/uploads").setPayload(Upload).addSuccess(Uploaded))
  // Declares no 500: a handler that dies answers with a status the client does not expect.
  .add(HttpApiEndpoint.get("boom", "/boom").addSuccess(Schema.String)) {}

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
      .handle("get", ({ path }) =>
        Effect.flatMap(Ref.get(items), (all) => {
          const item = all.find((i) => i.id === path.id)
          return item === undefined ? Effect.fail(new ItemNotFound({ id: path.id })) : Effect.succeed(item)
        })
      )
      .handle("search", ({ urlParams }) =>
        Effect.map(Ref.get(items), (all) =>
          all
            .filter((i) => urlParams.q === undefined || i.name.includes(urlParams.q))
            .filter((i) => (urlParams.tag ?? []).every((tag) => i.tags.includes(tag)))
            .slice(0, urlParams.limit)
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

const ApiLive = HttpApiBuilder.api(Api).pipe(Layer.provide(ItemsLive))

/** The production bootstrap, minus the socket. */
const ServerLive = HttpApiBuilder.serve().pipe(Layer.provide(ApiLive))

const TestApp = TestClient.layerServer(ServerLive)

/** The typed client, as a user makes it: no baseUrl, the layer's HttpClient resolves relative URLs. */
const client = HttpApiClient.make(Api)

// ---------------------------------------------------------------------------

describe("HttpApiClient.make(Api) in process, through TestClient.layerServer", () => {
  it.scoped("decodes a success into the Api's schema", () =>
    Effect.gen(function* () {
      const api = yield* client
      const item = yield* api.items.get({ path: { id: 2 } })
      expect(item).toBeInstanceOf(Item)
      expect(item).toEqual(new Item({ id: 2, name: "nails", tags: ["tools", "small"] }))
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("a declared error comes back as that typed error in the error channel", () =>
    Effect.gen(function* () {
      const api = yield* client
      const error = yield* Effect.flip(api.items.get({ path: { id: 42 } }))
      expect(error._tag).toBe("ItemNotFound")
      expect(error).toBeInstanceOf(ItemNotFound)
      expect(error._tag === "ItemNotFound" && error.id).toBe(42)
      // On the wire: the status the Api declares for it.
      expect((yield* TestClient.exchanges).at(-1)?.response.status).toBe(404)
      // Recoverable by tag, as application code would.
      const recovered = yield* api.items
        .get({ path: { id: 42 } })
        .pipe(Effect.catchTag("ItemNotFound", (e) => Effect.succeed(`no item ${e.id}`)))
      expect(recovered).toBe("no item 42")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("path params are encoded into the URL the app routes on", () =>
    Effect.gen(function* () {
      const api = yield* client
      const [item, response] = yield* api.items.get({ path: { id: 3 }, withResponse: true })
      expect(item.name).toBe("apple")
      expect(response.status).toBe(200)
      const exchange = (yield* TestClient.exchanges).at(-1)
      expect(exchange?.request.url).toBe("http://testserver/items/3")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("url params: optional ones left out, arrays repeat the key, numbers encoded", () =>
    Effect.gen(function* () {
      const api = yield* client
      const names = (items: ReadonlyArray<Item>) => items.map((i) => i.name)
      expect(names(yield* api.items.search({ urlParams: {} }))).toEqual(["hammer", "nails", "apple"])
      expect(names(yield* api.items.search({ urlParams: { tag: ["small"] } }))).toEqual(["nails", "apple"])
      expect(names(yield* api.items.search({ urlParams: { tag: ["tools", "small"] } }))).toEqual(["nails"])
      expect(names(yield* api.items.search({ urlParams: { q: "a", limit: 2 } }))).toEqual(["hammer", "nails"])
      // What went over the wire.
      const last = (yield* TestClient.exchanges).at(-1)
      expect(last?.request.urlParams).toEqual([
        ["q", "a"],
        ["limit", "2"]
      ])
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("a JSON payload is encoded, and the declared 201 decodes as a success", () =>
    Effect.gen(function* () {
      const api = yield* client
      const [created, response] = yield* api.items.create({
        payload: { name: "saw", tags: ["tools"] },
        withResponse: true
      })
      expect(response.status).toBe(201)
      expect(created).toEqual(new Item({ id: 4, name: "saw", tags: ["tools"] }))
      expect(yield* api.items.get({ path: { id: 4 } })).toEqual(created)
      // The request carried JSON, as the Api says.
      const sent = (yield* TestClient.exchanges).find((e) => e.request.method === "POST")
      expect(sent?.request.headers["content-type"]).toBe("application/json")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("request headers declared with setHeaders reach the handler", () =>
    Effect.gen(function* () {
      const api = yield* client
      expect(yield* api.items.whoami({ headers: { "x-api-key": "secret" } })).toEqual({ user: "ada" })
      const denied = yield* Effect.flip(api.items.whoami({ headers: { "x-api-key": "guess" } }))
      expect(denied._tag).toBe("Forbidden")
      expect(denied._tag === "Forbidden" && denied.reason).toBe("unknown api key")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("a multipart upload: the server reads the file it persisted", () =>
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

  it.scoped("a handler that dies: an undeclared 500, which HttpApiClient fails as a ResponseError", () =>
    Effect.gen(function* () {
      const api = yield* client
      const error = yield* Effect.flip(api.items.boom({}))
      // The endpoint declares no 500, so HttpApiClient's status matcher falls through to its
      // `orElse`: a platform ResponseError with reason "Decode" (not "StatusCode", which it
      // uses only for declared errors without a schema), carrying the 500 response. The
      // platform HttpClient reads a 500 as a response, as over a socket; it is the typed
      // client that turns it into a failure.
      expect(error._tag).toBe("ResponseError")
      if (error._tag !== "ResponseError") return
      expect(error.reason).toBe("Decode")
      expect(error.response.status).toBe(500)
      // See the exchanges test below for why drainTasks comes before looking at server spans.
      yield* TestClient.drainTasks
      const [exchange] = yield* TestClient.exchanges
      expect(yield* TestTracer.hasAttribute(exchange!.response.spanId, "http.response.status_code", 500)).toBe(true)
      // The defect itself is the kit's own client's business: ServerError with the Cause.
      const server = yield* Effect.flip(TestClient.get("/boom"))
      expect(server._tag).toBe("ServerError")
      expect(server._tag === "ServerError" && Cause.pretty(server.cause)).toContain("kaboom")
    }).pipe(Effect.provide(TestApp))
  )

  it.scoped("its exchanges show up in TestClient.exchanges, its server span in TestTracer", () =>
    Effect.gen(function* () {
      const api = yield* client
      yield* api.items.get({ path: { id: 1 } })
      yield* Effect.flip(api.items.get({ path: { id: 9 } }))
      const exchanges = yield* TestClient.exchanges
      expect(exchanges.map((e) => `${e.request.method} ${e.response.url} ${e.response.status}`)).toEqual([
        "GET http://testserver/items/1 200",
        "GET http://testserver/items/9 404"
      ])
      // The typed client's responses are StreamResponses (the body was the caller's to read),
      // not the kit's buffered TestResponses, which keep their redirect `history`.
      expect(exchanges.every((e) => "events" in e.response && !("history" in e.response))).toBe(true)

      // Like a client on a socket, the typed client returns once it has read the body, which
      // can be before the handler has finished and ended its span; drainTasks waits for the
      // app's work to settle first.
      yield* TestClient.drainTasks
      const first = exchanges[0]!.response
      const server = yield* TestTracer.getSpan(first.spanId)
      expect(server.name).toBe("http.server GET")
      expect(server.attributes.get("http.route")).toBe("/items/:id")
      expect(server.attributes.get("http.response.status_code")).toBe(200)
      // The platform client's own span parents it: one trace from the typed call to the handler.
      const clientSpan = yield* TestTracer.findSpan("http.client GET")
      expect(server.traceId).toBe(clientSpan.traceId)
    }).pipe(Effect.provide(TestApp))
  )
})

/** Logs every request to the console; the tests do not need to see them. */
const quiet = Logger.remove(Logger.defaultLogger)

describe("HttpApiClient.make(Api) against HttpApiBuilder.serve(HttpMiddleware.logger)", () => {
  const LoggedApp = TestClient.layerServer(
    HttpApiBuilder.serve(HttpMiddleware.logger).pipe(Layer.provide(ApiLive))
  ).pipe(Layer.provide(quiet))

  it.scoped("typed successes, typed errors and the undeclared 500 behave as without the logger", () =>
    Effect.gen(function* () {
      const api = yield* client
      expect((yield* api.items.get({ path: { id: 1 } })).name).toBe("hammer")
      expect((yield* Effect.flip(api.items.get({ path: { id: 7 } })))._tag).toBe("ItemNotFound")
      const error = yield* Effect.flip(api.items.boom({}))
      expect(error._tag === "ResponseError" && error.response.status).toBe(500)
      const server = yield* Effect.flip(TestClient.get("/boom"))
      expect(server._tag === "ServerError" && Cause.pretty(server.cause)).toContain("kaboom")
    }).pipe(Effect.provide(LoggedApp))
  )
})

describe("HttpApiClient.make(Api) through every TestClient layer", () => {
  it.scoped("TestClient.layerTest: the bootstrap served from the test body, as with NodeHttpServer.layerTest", () =>
    Effect.gen(function* () {
      yield* Layer.build(ServerLive)
      const api = yield* client
      expect((yield* api.items.get({ path: { id: 1 } })).name).toBe("hammer")
      expect((yield* Effect.flip(api.items.get({ path: { id: 5 } })))._tag).toBe("ItemNotFound")
    }).pipe(Effect.provide(TestClient.layerTest))
  )

  it.scoped("TestClient.layer: the Api as an HttpApp (HttpApiBuilder.httpApp)", () =>
    Effect.gen(function* () {
      const api = yield* client
      expect((yield* api.items.get({ path: { id: 3 } })).name).toBe("apple")
      const created = yield* api.items.create({ payload: { name: "pear", tags: ["food"] } })
      expect(created.id).toBe(4)
    }).pipe(
      Effect.provide(
        Layer.unwrapEffect(Effect.map(HttpApiBuilder.httpApp, (app) => TestClient.layer(app))).pipe(
          Layer.provide(ApiLive),
          Layer.provide([HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer]),
          // Outside layerServer the handlers' own requirements are the test's to provide.
          Layer.provide(NodeContext.layer)
        )
      )
    )
  )

  it.scoped("relative typed calls resolve against the kit's baseUrl option, whatever its origin", () =>
    Effect.gen(function* () {
      const api = yield* client
      expect((yield* api.items.get({ path: { id: 3 } })).name).toBe("apple")
      const [exchange] = yield* TestClient.exchanges
      expect(exchange?.response.url).toBe("https://api.test/items/3")
      // The app saw the host of that origin (drainTasks first: see the exchanges test).
      yield* TestClient.drainTasks
      expect(yield* TestTracer.hasAttribute(exchange!.response.spanId, "http.request.header.host", "api.test")).toBe(
        true
      )
    }).pipe(Effect.provide(TestClient.layerServer(ServerLive, { baseUrl: "https://api.test" })))
  )
})

describe("interrupting a typed call", () => {
  class SlowApi extends HttpApi.make("slow").add(
    HttpApiGroup.make("slow").add(HttpApiEndpoint.get("wait", "/wait").addSuccess(Schema.String))
  ) {}

  it.scoped("disconnects the handler as a client abort, as closing a socket does", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const interruptedBy = yield* Deferred.make<boolean>()
      const SlowLive = HttpApiBuilder.group(SlowApi, "slow", (handlers) =>
        handlers.handle("wait", () =>
          Deferred.succeed(started, undefined).pipe(
            Effect.zipRight(Effect.never),
            Effect.onInterrupt((ids) =>
              Deferred.succeed(interruptedBy, HashSet.has(ids, HttpServerError.clientAbortFiberId))
            )
          )
        )
      )
      const SlowApp = TestClient.layerServer(
        HttpApiBuilder.serve().pipe(Layer.provide(HttpApiBuilder.api(SlowApi)), Layer.provide(SlowLive))
      )
      yield* Effect.gen(function* () {
        const api = yield* HttpApiClient.make(SlowApi)
        const call = yield* Effect.fork(api.slow.wait({}))
        yield* Deferred.await(started)
        yield* Fiber.interrupt(call)
        expect(yield* Deferred.await(interruptedBy)).toBe(true)
      }).pipe(Effect.provide(SlowApp))
    })
  )
})
