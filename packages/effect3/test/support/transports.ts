import type { HttpApp } from "@effect/platform"
import type { Layer } from "effect"
import { TestClient } from "effect-http-testkit"

/**
 * How a behaviour suite gets a client for an app. The suites take the list below, so the
 * same assertions run in process and over a real socket; each names its transport (the
 * environment variable does not move them).
 */
export interface Transport {
  readonly name: string
  readonly layer: <E, R>(
    app: HttpApp.Default<E, R>,
    options?: TestClient.Options
  ) => Layer.Layer<TestClient.TestClient, never, never>
}

export const inProcess: Transport = {
  name: "in-process",
  // The suites' apps need nothing beyond what the testkit provides.
  layer: (app, options) =>
    TestClient.layer(app, { ...options, transport: "in-process" }) as Layer.Layer<TestClient.TestClient>
}

export const socket: Transport = {
  name: "socket",
  layer: (app, options) =>
    TestClient.layer(app, { ...options, transport: "socket" }) as Layer.Layer<TestClient.TestClient>
}

export const transports: ReadonlyArray<Transport> = [inProcess, socket]
