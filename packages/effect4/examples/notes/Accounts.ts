/**
 * Accounts and sessions. A session is an opaque token the browser keeps in the
 * `session` cookie; the server maps it back to the user.
 */
import { Context, Data, Effect, HashMap, Layer, type Option, Ref, Schema } from "effect"

export class User extends Schema.Class<User>("User")({
  username: Schema.String,
  displayName: Schema.String
}) {}

export class InvalidCredentials extends Data.TaggedError("InvalidCredentials")<{ readonly username: string }> {}

export interface Account {
  readonly username: string
  readonly displayName: string
  /** Plain text to keep the example short; a real app stores a password hash. */
  readonly password: string
}

export class Accounts extends Context.Service<
  Accounts,
  {
    /** Checks the credentials and opens a session; succeeds with its token. */
    readonly login: (
      username: string,
      password: string
    ) => Effect.Effect<{ readonly user: User; readonly session: string }, InvalidCredentials>
    readonly userOf: (session: string) => Effect.Effect<Option.Option<User>>
    readonly logout: (session: string) => Effect.Effect<void>
  }
>()("notes/Accounts") {}

export const makeAccounts = (accounts: ReadonlyArray<Account>) =>
  Effect.gen(function* () {
    const byName = new Map(accounts.map((account) => [account.username, account]))
    const sessions = yield* Ref.make(HashMap.empty<string, User>())

    return Accounts.of({
      login: (username, password) =>
        Effect.gen(function* () {
          const account = byName.get(username)
          if (account === undefined || account.password !== password) {
            return yield* new InvalidCredentials({ username })
          }
          const user = new User({ username: account.username, displayName: account.displayName })
          const session: string = yield* Effect.sync(() => crypto.randomUUID())
          yield* Ref.update(sessions, HashMap.set(session, user))
          return { user, session }
        }),
      userOf: (session) => Effect.map(Ref.get(sessions), HashMap.get(session)),
      logout: (session) => Ref.update(sessions, HashMap.remove(session))
    })
  })

export const layerAccounts = (accounts: ReadonlyArray<Account>) => Layer.effect(Accounts)(makeAccounts(accounts))
