/**
 * An `RpcClient` over the HTTP protocol against an `RpcServer` in process: the client uses the
 * platform `HttpClient` every TestClient layer gives, so the RPC layers of production run
 * unchanged with no socket. Each serialization answers as over a real socket.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { TestClient } from "@effect-http-testkit/effect4"
import { Effect, Layer, Ref, Schema, Stream } from "effect"
import { HttpClient, HttpClientRequest, HttpRouter } from "effect/http"
import { Rpc, RpcClient, RpcGroup, RpcSerialization, RpcServer } from "effect/rpc"

class Todo extends Schema.Class<Todo>("Todo")({ id: Schema.Number, title: Schema.String, done: Schema.Boolean }) {}

class TodoNotFound extends Schema.Error<TodoNotFound>("TodoNotFound")({
  _tag: Schema.tag("TodoNotFound"),
  id: Schema.Number
}) {}

class TodoRpcs extends RpcGroup.make(
  Rpc.make("GetTodo", { payload: { id: Schema.Number }, success: Todo, error: TodoNotFound }),
  Rpc.make("AddTodo", { payload: { title: Schema.String }, success: Todo }),
  Rpc.make("ListTodos", { success: Todo, stream: true }),
  Rpc.make("Crash")
) {}

const TodoHandlers = TodoRpcs.toLayer(
  Effect.gen(function* () {
    const todos = yield* Ref.make<ReadonlyArray<Todo>>([
      new Todo({ id: 1, title: "write tests", done: true }),
      new Todo({ id: 2, title: "ship it", done: false })
    ])
    return TodoRpcs.of({
      GetTodo: ({ id }) =>
        Effect.flatMap(Ref.get(todos), (all) => {
          const todo = all.find((t) => t.id === id)
          return todo === undefined ? Effect.fail(new TodoNotFound({ id })) : Effect.succeed(todo)
        }),
      AddTodo: ({ title }) =>
        Ref.modify(todos, (all) => {
          const todo = new Todo({ id: all.length + 1, title, done: false })
          return [todo, [...all, todo]]
        }),
      ListTodos: () => Stream.unwrap(Effect.map(Ref.get(todos), Stream.fromIterable)),
      Crash: () => Effect.die(new Error("rpc kaboom"))
    })
  })
)

/** The production server: the RPC group mounted on the router at /rpc, served as in production. */
const Server = HttpRouter.serve(
  RpcServer.layerHttp({ group: TodoRpcs, path: "/rpc", protocol: "http" }).pipe(Layer.provide(TodoHandlers)),
  { disableListenLog: true, disableLogger: true }
)

const serializations = [
  ["ndjson", RpcSerialization.layerNdjson],
  ["json", RpcSerialization.layerJson],
  ["jsonrpc", RpcSerialization.layerJsonRpc()],
  ["ndjsonrpc", RpcSerialization.layerNdJsonRpc()]
] as const

/** The calls every test makes, and what they return, as plain values. */
const calls = Effect.gen(function* () {
  const client = yield* RpcClient.make(TodoRpcs)
  const first = yield* client.GetTodo({ id: 1 })
  const missing = yield* Effect.flip(client.GetTodo({ id: 9 }))
  const added = yield* client.AddTodo({ title: "review" })
  const listed = yield* Stream.runCollect(client.ListTodos())
  const crash = yield* Effect.exit(client.Crash())
  return {
    first: first.title,
    missing: missing._tag === "TodoNotFound" ? `not found ${missing.id}` : missing._tag,
    added: added.id,
    listed: Array.from(listed, (t) => t.title),
    crashed: crash._tag === "Failure" && String(crash.cause).includes("rpc kaboom")
  }
})

/**
 * The production client protocol. Its URL is the HttpClient's own (the kit's baseUrl, or the
 * socket's address) with `/rpc` appended, as Effect's own RPC tests write it.
 */
const clientProtocol = RpcClient.layerProtocolHttp({
  url: "",
  transformClient: HttpClient.mapRequest(HttpClientRequest.appendUrl("/rpc"))
})

describe("RpcClient over HTTP, in process", () => {
  for (const [name, serialization] of serializations) {
    it.effect(`${name}: calls, typed errors, streams and defects answer as over a socket`, () =>
      Effect.gen(function* () {
        const overSocket = yield* Effect.scoped(
          calls.pipe(
            Effect.provide(
              clientProtocol.pipe(Layer.provideMerge(Server), Layer.provide([NodeHttpServer.layerTest, serialization]))
            )
          )
        )
        const inProcess = yield* Effect.scoped(
          calls.pipe(
            Effect.provide(
              clientProtocol.pipe(Layer.provideMerge(Server), Layer.provide([TestClient.layerTest, serialization]))
            )
          )
        )
        expect(inProcess).toEqual(overSocket)
        expect(inProcess).toEqual({
          first: "write tests",
          missing: "not found 9",
          added: 3,
          listed: ["write tests", "ship it", "review"],
          crashed: true
        })
      })
    )
  }

  it.effect("through TestClient.layerServer: the production bootstrap served, the client beside it", () =>
    Effect.gen(function* () {
      const result = yield* calls
      expect(result.first).toBe("write tests")
      expect(result.listed).toHaveLength(3)
      // The kit's own client reaches the same app: an RPC endpoint refuses a GET.
      expect((yield* TestClient.get("/rpc")).status).toBe(404)
    }).pipe(
      Effect.provide(
        clientProtocol.pipe(
          Layer.provideMerge(TestClient.layerServer(Server)),
          Layer.provide(RpcSerialization.layerNdjson)
        )
      )
    )
  )
})
