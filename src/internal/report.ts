import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type { Service } from "../Client.js"
import type { Config } from "./config.js"
import { type Recorder, render } from "./tracer.js"

const maxExchanges = 5
const maxBody = 400
const maxReport = 12_000

const excerpt = (body: Uint8Array): string => {
  if (body.length === 0) return "(empty)"
  const text = new TextDecoder("utf-8", { fatal: false }).decode(body.subarray(0, maxBody))
  // Mostly unprintable bytes: say what it is instead of printing noise.
  const unprintable = text.split("").filter((c) => c === "\uFFFD" || c.charCodeAt(0) < 9).length
  if (unprintable > text.length / 10) return `(${body.length} bytes of binary data)`
  return body.length > maxBody ? `${text}… (${body.length} bytes)` : text
}

/**
 * When the scope that owns a client closes with a failure, prints what a person needs to see
 * why: the last exchanges (method, URL, status, headers, a body excerpt) and the span tree
 * of each. Bounded in size.
 *
 * @internal
 */
export const reportOnFailure = (
  exit: Exit.Exit<unknown, unknown>,
  config: Config,
  client: Service,
  recorder: Recorder
): Effect.Effect<void> =>
  exit._tag === "Success" || config.report === "never"
    ? Effect.void
    : Effect.flatMap(client.exchanges, (exchanges) =>
        Effect.sync(() => {
          if (exchanges.length === 0) return
          const finished = recorder.finished()
          const sections = exchanges.slice(-maxExchanges).map(({ request, response }) => {
            const headers = Object.entries(response.headers)
              .slice(0, 20)
              .map(([name, value]) => `    ${name}: ${value}`)
              .join("\n")
            const spans =
              response.spanId === ""
                ? "    (no span)"
                : render(finished, response.spanId)
                    .split("\n")
                    .map((line) => `    ${line}`)
                    .join("\n")
            return [
              `  ${request.method} ${response.url} -> ${response.status}`,
              headers,
              `    body: ${"body" in response ? excerpt(response.body) : "(streamed to the caller)"}`,
              "  spans:",
              spans
            ].join("\n")
          })
          const omitted = exchanges.length > maxExchanges ? ` (last ${maxExchanges} of ${exchanges.length})` : ""
          let text = `effect-http-testkit: the test failed; its exchanges${omitted}:\n${sections.join("\n\n")}`
          if (text.length > maxReport) text = `${text.slice(0, maxReport)}\n  … (report cut at ${maxReport} characters)`
          console.error(text)
        })
      )
