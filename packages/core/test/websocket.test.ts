/**
 * The in-memory WebSocket connection's state machine, through the app's end (the object a
 * platform library wraps) and the test's end (what `deliver` receives), and the rules for
 * what a test may send.
 */
import { describe, expect, it } from "vitest"
import {
  type CloseInfo,
  closeProblem,
  subprotocols,
  type WebSocketIncoming,
  WebSocketLink,
  websocketKey
} from "../src/index.js"

/** A link recording what each end sees, in one ordered log. */
const setup = () => {
  const log: Array<string> = []
  const received: Array<WebSocketIncoming> = []
  class Recorded extends WebSocketLink {
    protected override whenAccepted(): void {
      log.push("accepted")
    }
    protected override whenClosed(info: CloseInfo): void {
      log.push(`closed ${info.code} ${info.reason}`)
    }
  }
  const link = new Recorded("ws://testserver/chat", "chat.v1", (incoming) => {
    received.push(incoming)
    log.push(`test got ${incoming._tag}`)
  })
  link.onAccept = () => log.push("onAccept")
  return { link, log, received }
}

/** Resolves once the app's end has dispatched an event of `type`. */
const next = (target: EventTarget, type: string): Promise<Event> =>
  new Promise((resolve) => target.addEventListener(type, resolve, { once: true }))

describe("WebSocketLink", () => {
  it("the app accepts once: the same open socket, onAccept then the hook, once", () => {
    const { link, log } = setup()
    const app = link.accept()
    expect(link.accept()).toBe(app)
    expect([app.readyState, app.url, app.protocol, app.binaryType]).toEqual([
      1,
      "ws://testserver/chat",
      "chat.v1",
      "nodebuffer"
    ])
    expect(log).toEqual(["onAccept", "accepted"])
  })

  it("what the app sends reaches the test in order, binary as a copy of the bytes", () => {
    const { link, received } = setup()
    const app = link.accept()
    const bytes = Uint8Array.of(1, 2, 3, 4)
    app.send("one")
    app.send(bytes.subarray(1, 3))
    bytes[1] = 99
    expect(received).toEqual([
      { _tag: "Message", data: "one" },
      { _tag: "Message", data: Uint8Array.of(2, 3) }
    ])
  })

  it("what the test sends reaches the app a microtask later, in order, binary as a Buffer", async () => {
    const { link } = setup()
    const app = link.accept()
    const data: Array<unknown> = []
    app.addEventListener("message", (event) => data.push((event as MessageEvent).data))
    link.fromTest("first")
    link.fromTest(Uint8Array.of(7))
    expect(data).toEqual([])
    await Promise.resolve()
    expect(data).toEqual(["first", Buffer.from([7])])
    expect(Buffer.isBuffer(data[1])).toBe(true)
  })

  it("the test closes: it hears its close, the hook runs, then the app's end closes cleanly; later sends are dropped", async () => {
    const { link, log, received } = setup()
    const app = link.accept()
    const closing = next(app, "close")
    link.closedBy(1000, "bye")
    link.closedBy(4000, "again")
    link.fromTest("too late")
    expect(link.closeInfo).toEqual({ code: 1000, reason: "bye" })
    expect(log).toEqual(["onAccept", "accepted", "test got Close", "closed 1000 bye"])
    const event = (await closing) as Event & { code: number; reason: string; wasClean: boolean }
    expect([event.code, event.reason, event.wasClean, app.readyState]).toEqual([1000, "bye", true, 3])
    expect(received).toEqual([{ _tag: "Close", code: 1000, reason: "bye" }])
  })

  it("the app closes without a code: 1005 (no status); a drop is 1006 and not clean", async () => {
    const { link, received } = setup()
    const app = link.accept()
    app.close()
    app.send("after close")
    expect(received).toEqual([{ _tag: "Close", code: 1005, reason: "" }])

    const dropped = setup()
    const other = dropped.link.accept()
    const closing = next(other, "close")
    dropped.link.closedBy(1006, "")
    expect(((await closing) as Event & { wasClean: boolean }).wasClean).toBe(false)
  })

  it("over a socket, the remote peer takes the test's messages and its close", () => {
    const { link, log } = setup()
    const peer: Array<string> = []
    link.acceptRemote({
      send: (data) => peer.push(`send ${String(data)}`),
      close: (code, reason) => peer.push(`close ${code} ${reason}`)
    })
    link.acceptRemote({ send: () => peer.push("second peer"), close: () => peer.push("second peer") })
    link.fromTest("hello")
    link.closedBy(1001, "going away")
    link.fromTest("dropped")
    expect(peer).toEqual(["send hello", "close 1001 going away"])
    expect(log).toEqual(["onAccept", "accepted", "test got Close", "closed 1001 going away"])
  })

  it("before the app accepts, the test's messages go nowhere", async () => {
    const { link } = setup()
    link.fromTest("early")
    const app = link.accept()
    const data: Array<unknown> = []
    app.addEventListener("message", (event) => data.push((event as MessageEvent).data))
    await Promise.resolve()
    expect(data).toEqual([])
  })
})

describe("what a test may send", () => {
  it("subprotocols: an array of unique tokens", () => {
    expect(subprotocols(["chat.v1", "chat.v2"])).toEqual({ protocols: ["chat.v1", "chat.v2"] })
    expect(subprotocols([])).toEqual({ protocols: [] })
    expect(subprotocols("chat")).toEqual({ problem: expect.stringContaining("pass a single one as [name]") })
    expect(subprotocols(["a b"])).toEqual({ problem: expect.stringContaining('subprotocol "a b" is not a token') })
    expect(subprotocols(["x", "x"])).toEqual({ problem: expect.stringContaining("offered more than once") })
  })

  it("close codes and reasons a close frame can carry", () => {
    for (const code of [1000, 1001, 1003, 1007, 1014, 3000, 4999]) expect(closeProblem(code, "")).toBeUndefined()
    for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000, 1000.5, "1000"]) {
      expect(closeProblem(code, "")).toContain("cannot be sent")
    }
    expect(closeProblem(1000, 42)).toBe("the close reason must be a string, got 42")
    expect(closeProblem(1000, "é".repeat(61))).toBeUndefined()
    expect(closeProblem(1000, "é".repeat(62))).toBe(
      "the close reason is 124 bytes of UTF-8: a close frame holds at most 123 (125 minus the code)"
    )
  })

  it("websocketKey is 16 random bytes in base64", () => {
    const key = websocketKey()
    expect(Buffer.from(key, "base64")).toHaveLength(16)
    expect(websocketKey()).not.toBe(key)
  })
})
