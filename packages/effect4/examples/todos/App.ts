/**
 * A small Effect 4 app, as a user writes one: a form login that sets a session cookie and
 * redirects (POST-redirect-GET), and a JSON todo list behind the session.
 */
import { Context, Effect, Layer, Option, Ref, Schema } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse, UrlParams } from "effect/http"

export const Todo = Schema.Struct({ id: Schema.Number, title: Schema.String, done: Schema.Boolean })
export type Todo = typeof Todo.Type

export class Todos extends Context.Service<
  Todos,
  { readonly all: Effect.Effect<ReadonlyArray<Todo>>; readonly add: (title: string) => Effect.Effect<Todo> }
>()("examples/Todos") {
  static readonly layer = Layer.effect(Todos)(
    Effect.gen(function* () {
      const store = yield* Ref.make<ReadonlyArray<Todo>>([])
      return {
        all: Ref.get(store),
        add: (title: string) =>
          Ref.modify(store, (todos) => {
            const todo = { id: todos.length + 1, title, done: false }
            return [todo, [...todos, todo]] as const
          })
      }
    })
  )
}

const signedIn = (request: HttpServerRequest.HttpServerRequest) => request.cookies.session === "ada-session"

export const Routes = HttpRouter.use((router) =>
  Effect.gen(function* () {
    const todos = yield* Todos
    yield* router.add("POST", "/login", (request) =>
      Effect.map(request.urlParamsBody, (params) =>
        Option.getOrUndefined(UrlParams.getFirst(params, "user")) === "ada"
          ? HttpServerResponse.redirect("/todos", { status: 303 }).pipe(
              HttpServerResponse.setCookieUnsafe("session", "ada-session", { httpOnly: true, path: "/" })
            )
          : HttpServerResponse.text("unknown user", { status: 401 })
      )
    )
    yield* router.add("GET", "/todos", (request) =>
      signedIn(request)
        ? Effect.map(todos.all, (all) => HttpServerResponse.jsonUnsafe(all))
        : Effect.succeed(HttpServerResponse.text("sign in first", { status: 401 }))
    )
    yield* router.add("POST", "/todos", (request) =>
      signedIn(request)
        ? Effect.gen(function* () {
            const { title } = yield* HttpServerRequest.schemaBodyJson(Schema.Struct({ title: Schema.String }))
            return HttpServerResponse.jsonUnsafe(yield* todos.add(title), { status: 201 })
          })
        : Effect.succeed(HttpServerResponse.text("sign in first", { status: 401 }))
    )
  })
).pipe(Layer.provide(Todos.layer))
