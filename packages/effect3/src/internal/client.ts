/**
 * The `TestClient` service: requests with redirects and the cookie jar, streams, WebSockets,
 * the exchange log and `drainTasks`, over the exchange machinery of `exchange.ts`.
 */

import { cookieHeader, encodeCookieValue, Jar, nextHop } from "@effect-http-testkit/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { RequestOptions, Service, TestResponse } from "../Client.js"
import { exchange } from "./buffered.js"
import type { Config } from "./config.js"
import { openWebSocket } from "./connect.js"
import { cookieHeaderFor, cookieToSet, platformCookies } from "./cookies.js"
import { InvalidRequest, SocketUnavailable, type TestClientError, TooManyRedirects } from "./errors.js"
import type { Exchanges } from "./exchange.js"
import { type Hop, type Prepared, prepareNow } from "./prepare.js"
import type { Reporter } from "./report.js"
import type { InProcessServer } from "./server.js"
import { openStream } from "./streamed.js"
import type { Tracker } from "./tasks.js"
import { handshake } from "./websocket.js"

/**
 * The service tag. Provide it with {@link layer} or {@link layerServer}.
 *
 * @since 0.1.0
 * @category tags
 */
export class TestClient extends Context.Tag("effect-http-testkit/TestClient")<TestClient, Service>() {}

const internals = Symbol.for("effect-http-testkit/TestClient/internals")

/** What the layers built around a client (its WebSocket constructor) need of it. @internal */
export interface Internals {
  readonly server: InProcessServer
  readonly config: Config
  readonly reporter: Reporter
}

/** @internal */
export const internalsOf = (service: Service): Internals => (service as Service & { [internals]: Internals })[internals]

/** @internal */
export const make = (
  server: InProcessServer,
  config: Config,
  tracker: Tracker,
  exchanges: Exchanges,
  reporter: Reporter
): Service =>
  Object.assign(makeService(server, config, tracker, exchanges, reporter), {
    [internals]: { server, config, reporter }
  })

const makeService = (
  server: InProcessServer,
  config: Config,
  tracker: Tracker,
  exchanges: Exchanges,
  reporter: Reporter
): Service => {
  const jar = new Jar()
  for (const [name, value] of Object.entries(config.cookies)) {
    jar.set(`${name}=${encodeCookieValue(value)}; Path=/`, config.baseUrl)
  }

  /**
   * The header lines of one hop: `cookie` is computed for each, and so is `host`, unless the
   * test gave its own (Node's client sends the caller's) and the hop stays on its origin.
   */
  const hopLines = (prepared: Prepared, hop: Hop): ReadonlyArray<readonly [string, string]> => {
    const sameOrigin = hop.url.origin === prepared.url.origin
    const explicitHost = hop.headerLines.some(([name]) => name === "host")
    const lines: Array<readonly [string, string]> =
      explicitHost && sameOrigin
        ? [...hop.headerLines]
        : [
            ["host", hop.url.host],
            ...(explicitHost ? hop.headerLines.filter(([name]) => name !== "host") : hop.headerLines)
          ]
    const cookie = cookieHeader(jar.header(hop.url.href), sameOrigin ? prepared.cookies : undefined)
    if (cookie !== "") lines.push(["cookie", cookie])
    return lines
  }

  /** One buffered round trip; its response's cookies are stored and it is logged as it arrives. */
  const send = (prepared: Prepared, hop: Hop, history: ReadonlyArray<TestResponse>) =>
    exchange(server, config, reporter, prepared.timeout, hop, hopLines(prepared, hop), history, (response) => {
      jar.store(response.setCookie, response.url)
      // The request object is built only if someone looks at it: not on the hot path. An
      // own, enumerable property, as every entry's (spread, JSON and toEqual see it).
      exchanges.push({
        get request() {
          return response.request
        },
        response
      })
    })

  const follow = (
    prepared: Prepared,
    hop: Hop,
    history: ReadonlyArray<TestResponse>
  ): Effect.Effect<TestResponse, TestClientError> =>
    Effect.flatMap(send(prepared, hop, history), (response) => {
      if (!prepared.followRedirects) return Effect.succeed(response)
      const next = nextHop(hop, response.status, response.headers.location)
      if (next === undefined) return Effect.succeed(response)
      const hops = [...history, response]
      if (history.length >= prepared.maxRedirects) {
        return Effect.fail(
          new TooManyRedirects({
            method: prepared.method,
            url: prepared.url.href,
            maxRedirects: prepared.maxRedirects,
            history: hops
          })
        )
      }
      if ("problem" in next) {
        return Effect.fail(
          new InvalidRequest({ method: prepared.method, url: prepared.url.href, reason: next.problem })
        )
      }
      return follow(prepared, next, hops)
    })

  // Prepared when run, not when built: the cookies and host of a request are those at the
  // time it is sent, and an effect run again (retried) sends a fresh request.
  const prepared = <A, E, R>(
    method: string,
    url: string,
    options: RequestOptions,
    send: (prepared: Prepared) => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | InvalidRequest, R> =>
    Effect.suspend(() => {
      const ready = prepareNow(config, method, url, options)
      return Effect.isEffect(ready) ? Effect.flatMap(ready, send) : send(ready)
    })
  const request = (method: string, url: string, options: RequestOptions = {}) =>
    prepared(method, url, options, (prepared) => follow(prepared, prepared, []))
  const bind = (method: string) => (url: string, options?: RequestOptions) => request(method, url, options)

  return {
    request,
    get: bind("GET"),
    head: bind("HEAD"),
    post: bind("POST"),
    put: bind("PUT"),
    patch: bind("PATCH"),
    del: bind("DELETE"),
    options: bind("OPTIONS"),
    stream: (method, url, options = {}) =>
      prepared(method, url, options, (prepared) =>
        Effect.tap(openStream(server, config, reporter, prepared, hopLines(prepared, prepared)), (response) =>
          Effect.sync(() => jar.store(response.setCookie, response.url))
        )
      ),
    websocket: (url, options) => {
      const request = handshake(options)
      if ("problem" in request) {
        return Effect.fail(new InvalidRequest({ method: "GET", url: String(url), reason: request.problem }))
      }
      // The handshake is an http(s) request: ws:// and wss:// name the same origins.
      const httpUrl = typeof url === "string" ? url.replace(/^ws(s?):/i, "http$1:") : url
      return prepared("GET", httpUrl, request.requestOptions, (prepared) =>
        openWebSocket(server, config, reporter, prepared, hopLines(prepared, prepared), request.protocols)
      )
    },
    exchanges: Effect.sync(() => exchanges.list()),
    cookies: Effect.sync(() => platformCookies(jar.cookies(config.baseUrl))),
    cookieHeader: (url) => cookieHeaderFor(config, (target) => jar.header(target), url),
    setCookie: (name, value, options) =>
      Effect.suspend(() => {
        const cookie = cookieToSet(config, name, value, options)
        const fail = (reason: string) =>
          Effect.fail(new InvalidRequest({ method: "SET-COOKIE", url: cookie.url, reason }))
        if ("problem" in cookie) return fail(cookie.problem)
        const problem = jar.set(cookie.header, cookie.url)
        return problem === undefined ? Effect.void : fail(`the jar refused cookie ${JSON.stringify(name)}: ${problem}`)
      }),
    clearCookies: (name) => Effect.sync(() => jar.clear(name)),
    // Read at each call: an unset drainTimeout fits the time the current test has left.
    drainTasks: Effect.suspend(() => tracker.drain(config.drainTimeout)),
    address: Effect.suspend(() => {
      if (server.address !== undefined) return Effect.succeed(server.address)
      if (config.problem !== undefined) {
        return Effect.fail(
          new SocketUnavailable({ reason: "InvalidOptions", target: "TestClient.address", cause: config.problem })
        )
      }
      return Effect.fail(
        server.listenFailure ?? new SocketUnavailable({ reason: "InProcess", target: "TestClient.address" })
      )
    })
  }
}

// The layers build the exchange log beside the client.
export { Exchanges } from "./exchange.js"
