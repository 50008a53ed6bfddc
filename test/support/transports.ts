import type { HttpApp } from "@effect/platform"
import type { Layer } from "effect"
import { TestClient } from "effect-http-testkit"

/**
 * How a behaviour suite gets a client for an app. The suites take a list of these so the
 * same assertions can run against another transport (e.g. a real socket) later.
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
  layer: (app, options) => TestClient.layer(app, options) as Layer.Layer<TestClient.TestClient>
}

export const transports: ReadonlyArray<Transport> = [inProcess]
