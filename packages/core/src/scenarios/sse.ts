/**
 * The WHATWG event-stream format as data and a reference: a step-by-step transcription of how
 * a browser interprets a stream, and format cases with what `TestStream.sse` must report and
 * what a browser dispatches. Plain TypeScript with no imports, so every edition of the kit
 * can check its SSE parser against the same reference.
 */

/** The frame `TestStream.sse` reports (its `SseEvent`): only the fields present in the frame. */
export interface SseFrame {
  readonly event?: string
  readonly data?: string
  readonly id?: string
  readonly retry?: number
}

const encoder = new TextEncoder()

// ---------------------------------------------------------------------------------------------
// The reference: how a browser interprets an event stream, step by step
// ---------------------------------------------------------------------------------------------

/** What a browser's `EventSource` dispatches: a `MessageEvent` with these attributes. */
export interface Dispatched {
  readonly type: string
  readonly data: string
  readonly lastEventId: string
}

export interface Interpretation {
  /** The frames `TestStream.sse` reports (see the OUR FRAMES notes below). */
  readonly frames: ReadonlyArray<SseFrame>
  /** What a browser dispatches, unchanged. */
  readonly dispatched: ReadonlyArray<Dispatched>
  /** A browser's reconnection time at the end of the stream (`undefined`: never set). */
  readonly reconnectionTime: number | undefined
  /** The reconnection time as it stood at the last empty line (the last frame end). */
  readonly reconnectionTimeAtLastFrameEnd: number | undefined
}

export const isAsciiDigits = (value: string): boolean => {
  // Only ASCII digits, and at least one: an empty value does not count, so a bare `retry` line
  // leaves a browser's reconnection time untouched.
  if (value.length === 0) return false
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return false
  }
  return true
}

/**
 * The event-stream interpretation algorithm, run on a whole body at once.
 *
 * It keeps a browser's state (data buffer, event type buffer, last event ID buffer, the
 * source's last event ID string, reconnection time) and produces the events a browser dispatches.
 * Alongside, it records the raw frames `TestStream.sse` reports. Where those deliberately
 * differ from what a browser dispatches, the step is marked OUR FRAMES:
 *
 * - OUR FRAMES (frames, not events): a frame is reported when it has any of `event`, `data`, `id`,
 *   `retry`; a browser dispatches only frames whose data buffer is non-empty. A frame with only
 *   an `id`, an `event` or a `retry` is reported; one with none of them (comments, unknown
 *   fields, nothing) is not.
 * - OUR FRAMES (only what is in the frame): `id` is reported in the frame whose `id` line set it;
 *   a browser's last event ID buffer persists across frames (and the `lastEventId` of later
 *   events carries it). `event` is reported raw (`""` for an empty value); a browser dispatches
 *   `"message"` for an empty type.
 * - OUR FRAMES (retry belongs to its frame): a valid `retry` is reported in its frame; a browser
 *   sets the reconnection time at once, so a `retry` in a frame never ended by an empty line
 *   still counts for a browser but is not reported by us.
 * - Same as a browser: an unterminated frame at the end is discarded; an `id` holding NUL is
 *   ignored (an earlier `id` in the same frame stands); `data` lines are joined with LF.
 */
export const interpret = (body: Uint8Array): Interpretation => {
  // The body is decoded as UTF-8 with the standard decoder: one leading BOM is dropped,
  // invalid sequences become U+FFFD (TextDecoder's defaults).
  const text = new TextDecoder("utf-8").decode(body)

  // A browser's state.
  let data = ""
  let eventType = ""
  let lastEventIdBuffer = ""
  let lastEventId = ""
  let reconnectionTime: number | undefined
  let reconnectionTimeAtLastFrameEnd: number | undefined
  const dispatched: Array<Dispatched> = []

  // OUR FRAMES state: the fields present in the current frame.
  let frame: { event?: string; data?: string; id?: string; retry?: number } = {}
  const frames: Array<SseFrame> = []

  const dispatch = () => {
    reconnectionTimeAtLastFrameEnd = reconnectionTime
    // OUR FRAMES: report the frame's fields, whether or not a browser dispatches anything.
    if (Object.keys(frame).length > 0) frames.push(frame)
    frame = {}
    // 1. Set the last event ID string of the event source to the last event ID buffer.
    lastEventId = lastEventIdBuffer
    // 2. If the data buffer is an empty string, set the data buffer and the event type buffer
    //    to the empty string and return.
    if (data === "") {
      eventType = ""
      return
    }
    // 3. If the data buffer's last character is a U+000A LINE FEED (LF), remove it.
    if (data.endsWith("\n")) data = data.slice(0, -1)
    // 4-5. Create the event: type is the event type buffer, or "message" when it is empty;
    //      data is the data buffer; lastEventId is the last event ID string.
    dispatched.push({ type: eventType === "" ? "message" : eventType, data, lastEventId })
    // 6. Set the data buffer and the event type buffer to the empty string.
    data = ""
    eventType = ""
  }

  const processField = (field: string, value: string) => {
    switch (field) {
      case "event":
        eventType = value
        frame.event = value
        break
      case "data":
        // Append the value, then a single U+000A LINE FEED, to the data buffer.
        data += `${value}\n`
        frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`
        break
      case "id":
        // If the value does not contain U+0000 NULL, set the last event ID buffer; else ignore.
        if (!value.includes("\u0000")) {
          lastEventIdBuffer = value
          frame.id = value
        }
        break
      case "retry":
        // Only ASCII digits: interpret as a base-ten integer, set the reconnection time.
        if (isAsciiDigits(value)) {
          reconnectionTime = Number.parseInt(value, 10)
          frame.retry = reconnectionTime
        }
        break
      default:
      // Any other field is ignored.
    }
  }

  const processLine = (line: string) => {
    // An empty line: dispatch the event.
    if (line === "") return dispatch()
    // Starts with a colon: a comment, ignored.
    if (line.startsWith(":")) return
    const colon = line.indexOf(":")
    if (colon !== -1) {
      // Field name: the characters before the first colon; value: those after it, with one
      // leading U+0020 SPACE removed if there is one.
      const value = line.slice(colon + 1)
      return processField(line.slice(0, colon), value.startsWith(" ") ? value.slice(1) : value)
    }
    // No colon: the whole line is the field name, the value is the empty string.
    return processField(line, "")
  }

  // Lines end at CRLF, a lone LF or a lone CR. A last line with no line end is never
  // processed: at the end of the stream, whatever is pending is discarded.
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x0a || c === 0x0d) {
      processLine(text.slice(start, i))
      if (c === 0x0d && text.charCodeAt(i + 1) === 0x0a) i++
      start = i + 1
    }
  }

  return { frames, dispatched, reconnectionTime, reconnectionTimeAtLastFrameEnd }
}

/**
 * What a browser would dispatch given only our frames: the OUR FRAMES differences undone
 * (`lastEventId` carried across frames, empty type as "message", data-less frames not
 * dispatched, reconnection time from the last reported `retry`). Equal to the reference's
 * `dispatched` for every stream: our frames lose nothing a browser acts on, except a `retry`
 * in an unterminated last frame.
 */
export const asBrowser = (
  frames: ReadonlyArray<SseFrame>
): { readonly dispatched: ReadonlyArray<Dispatched>; readonly reconnectionTime: number | undefined } => {
  const dispatched: Array<Dispatched> = []
  let lastEventId = ""
  let reconnectionTime: number | undefined
  for (const frame of frames) {
    if (frame.id !== undefined) lastEventId = frame.id
    if (frame.retry !== undefined) reconnectionTime = frame.retry
    if (frame.data !== undefined) {
      dispatched.push({
        type: frame.event === undefined || frame.event === "" ? "message" : frame.event,
        data: frame.data,
        lastEventId
      })
    }
  }
  return { dispatched, reconnectionTime }
}

/** The simplest statement of `lines`: decode the whole, split at CRLF / LF / CR, and an empty last piece is no line. */
export const referenceLines = (body: Uint8Array): Array<string> => {
  const pieces = new TextDecoder("utf-8").decode(body).split(/\r\n|\r|\n/)
  if (pieces[pieces.length - 1] === "") pieces.pop()
  return pieces
}

// ---------------------------------------------------------------------------------------------
// Format cases
// ---------------------------------------------------------------------------------------------

export interface FormatCase {
  readonly name: string
  readonly input: string | Uint8Array
  /** What `TestStream.sse` reports. */
  readonly frames: ReadonlyArray<SseFrame>
  /** What a browser dispatches. */
  readonly dispatched: ReadonlyArray<Dispatched>
  /** A browser's reconnection time at the end, when the stream sets one. */
  readonly reconnectionTime?: number
}

export const msg = (data: string, lastEventId = "", type = "message"): Dispatched => ({ type, data, lastEventId })

export const formatCases: ReadonlyArray<FormatCase> = [
  // --- comments
  {
    name: "comments are ignored wherever they are, including ones holding colons",
    input: ":\n: comment\n:comment: with colon\ndata: x\n:\n\n",
    frames: [{ data: "x" }],
    dispatched: [msg("x")]
  },
  { name: "a comment-only frame yields nothing", input: ": keep-alive\n\n", frames: [], dispatched: [] },
  // --- field and value splitting
  {
    name: "a field without a colon is that field with an empty value",
    input: "data\n\n",
    frames: [{ data: "" }],
    dispatched: [msg("")]
  },
  {
    name: '"data" and "data:" are the same line; two empty data lines give one LF',
    input: "data\ndata:\n\n",
    frames: [{ data: "\n" }],
    dispatched: [msg("\n")]
  },
  {
    name: "empty data lines between non-empty ones are kept",
    input: "data: a\ndata\ndata:\ndata: b\n\n",
    frames: [{ data: "a\n\n\nb" }],
    dispatched: [msg("a\n\n\nb")]
  },
  {
    name: "only one leading space is stripped; a tab is not",
    input: "data:  two\n\ndata:\tx\n\ndata:x\n\n",
    frames: [{ data: " two" }, { data: "\tx" }, { data: "x" }],
    dispatched: [msg(" two"), msg("\tx"), msg("x")]
  },
  {
    name: "the value runs from the first colon: later colons are part of it",
    input: "data: a: b\ndata:: c\n\n",
    frames: [{ data: "a: b\n: c" }],
    dispatched: [msg("a: b\n: c")]
  },
  {
    name: "field names are case-sensitive and exact: Data, DATA, ' data' and 'data ' are unknown",
    input: "Data: a\nDATA: b\n data: c\ndata : d\n\n",
    frames: [],
    dispatched: []
  },
  { name: "unknown fields alone yield nothing", input: "foo: bar\nfoo\n\n", frames: [], dispatched: [] },
  {
    name: "unknown fields inside a frame are ignored",
    input: "foo: bar\ndata: y\nbaz\n\n",
    frames: [{ data: "y" }],
    dispatched: [msg("y")]
  },
  // --- line ends
  {
    name: "CR-only line ends",
    input: "data: a\rdata: b\r\rdata: c\r\r",
    frames: [{ data: "a\nb" }, { data: "c" }],
    dispatched: [msg("a\nb"), msg("c")]
  },
  {
    name: "CRLF line ends",
    input: "event: e\r\ndata: a\r\n\r\n",
    frames: [{ event: "e", data: "a" }],
    dispatched: [msg("a", "", "e")]
  },
  {
    name: "LF then CRLF, CRLF then CR: mixed line ends",
    input: "data: a\n\r\ndata: b\r\n\r",
    frames: [{ data: "a" }, { data: "b" }],
    dispatched: [msg("a"), msg("b")]
  },
  {
    name: "LF CR is two line ends (an empty line), not one",
    input: "data: a\n\rdata: b\n\n",
    frames: [{ data: "a" }, { data: "b" }],
    dispatched: [msg("a"), msg("b")]
  },
  {
    name: "extra empty lines between frames yield nothing",
    input: "\n\n\ndata: a\n\n\n\r\n\r",
    frames: [{ data: "a" }],
    dispatched: [msg("a")]
  },
  // --- BOM
  { name: "a leading BOM is dropped", input: "\uFEFFdata: a\n\n", frames: [{ data: "a" }], dispatched: [msg("a")] },
  {
    name: "only one BOM is dropped: a second makes the field name unknown",
    input: "\uFEFF\uFEFFdata: a\n\ndata: b\n\n",
    frames: [{ data: "b" }],
    dispatched: [msg("b")]
  },
  {
    name: "a BOM after the start is an ordinary character",
    input: "data: a\n\n\uFEFFdata: b\n\ndata: \uFEFFc\n\n",
    frames: [{ data: "a" }, { data: "\uFEFFc" }],
    dispatched: [msg("a"), msg("\uFEFFc")]
  },
  { name: "a BOM alone is an empty stream", input: "\uFEFF", frames: [], dispatched: [] },
  // --- end of stream
  { name: "an empty stream yields nothing", input: "", frames: [], dispatched: [] },
  {
    name: "a trailing frame with no empty line after it is discarded",
    input: "data: a\n\ndata: b\n",
    frames: [{ data: "a" }],
    dispatched: [msg("a")]
  },
  {
    name: "a trailing line with no line end is discarded",
    input: "data: a\n\ndata: b",
    frames: [{ data: "a" }],
    dispatched: [msg("a")]
  },
  {
    name: "a CR at the very end ends the line but not the frame",
    input: "data: a\r",
    frames: [],
    dispatched: []
  },
  {
    name: "CR CR at the very end ends the frame",
    input: "data: a\r\r",
    frames: [{ data: "a" }],
    dispatched: [msg("a")]
  },
  // --- event
  {
    name: "an empty event is reported as such, and dispatched as message",
    input: "event\ndata: a\n\nevent:\ndata: b\n\n",
    frames: [
      { event: "", data: "a" },
      { event: "", data: "b" }
    ],
    dispatched: [msg("a"), msg("b")]
  },
  {
    name: "the event type does not carry over to the next frame",
    input: "event: e\ndata: a\n\ndata: b\n\n",
    frames: [{ event: "e", data: "a" }, { data: "b" }],
    dispatched: [msg("a", "", "e"), msg("b")]
  },
  {
    name: "an event-only frame is reported, dispatches nothing, and its type is forgotten",
    input: "event: e\n\ndata: b\n\n",
    frames: [{ event: "e" }, { data: "b" }],
    dispatched: [msg("b")]
  },
  {
    name: "the last event and id in a frame win",
    input: "event: a\nevent: b\nid: 1\nid: 2\ndata: x\n\n",
    frames: [{ event: "b", id: "2", data: "x" }],
    dispatched: [msg("x", "2", "b")]
  },
  // --- id
  {
    name: "an id holding NUL is ignored",
    input: "id: a\u0000b\ndata: x\n\n",
    frames: [{ data: "x" }],
    dispatched: [msg("x")]
  },
  {
    name: "an id holding NUL leaves an earlier id of the frame standing",
    input: "id: 1\nid: 2\u0000\ndata: x\n\n",
    frames: [{ id: "1", data: "x" }],
    dispatched: [msg("x", "1")]
  },
  {
    name: "NUL elsewhere is ordinary text",
    input: "data: a\u0000b\nevent: \u0000\n\n",
    frames: [{ data: "a\u0000b", event: "\u0000" }],
    dispatched: [msg("a\u0000b", "", "\u0000")]
  },
  {
    name: "an id is reported in its own frame only; a browser carries it to later events",
    input: "id: 7\ndata: a\n\ndata: b\n\n",
    frames: [{ id: "7", data: "a" }, { data: "b" }],
    dispatched: [msg("a", "7"), msg("b", "7")]
  },
  {
    name: "an empty id resets the last event ID",
    input: "id: 7\ndata: a\n\nid\ndata: b\n\n",
    frames: [
      { id: "7", data: "a" },
      { id: "", data: "b" }
    ],
    dispatched: [msg("a", "7"), msg("b", "")]
  },
  {
    name: "an id-only frame is reported and sets the last event ID for later events",
    input: "id: 3\n\ndata: a\n\n",
    frames: [{ id: "3" }, { data: "a" }],
    dispatched: [msg("a", "3")]
  },
  // --- retry
  {
    name: "a valid retry is reported in its frame and sets the reconnection time",
    input: "retry: 1000\n\n",
    frames: [{ retry: 1000 }],
    dispatched: [],
    reconnectionTime: 1000
  },
  {
    name: "retry with leading zeros is a base-ten integer",
    input: "retry: 007\ndata: x\n\n",
    frames: [{ retry: 7, data: "x" }],
    dispatched: [msg("x")],
    reconnectionTime: 7
  },
  {
    name: "retry that is not all ASCII digits is ignored",
    input:
      "retry: 1000ms\n\nretry: -1\n\nretry: 1.5\n\nretry:  10\n\nretry: 10 \n\nretry: +1\n\nretry: \u0663\n\nretry\n\nretry:\n\n",
    frames: [],
    dispatched: []
  },
  {
    name: "an invalid retry after a valid one in the same frame leaves the valid one",
    input: "retry: 10\nretry: x\n\n",
    frames: [{ retry: 10 }],
    dispatched: [],
    reconnectionTime: 10
  },
  {
    name: "a retry in an unterminated last frame counts for a browser, but is not reported",
    input: "data: a\n\nretry: 5\n",
    frames: [{ data: "a" }],
    dispatched: [msg("a")],
    reconnectionTime: 5
  },
  // --- encoding
  {
    name: "UTF-8 text of every length",
    input: "data: \u00a1hola! \u20ac \u{1F600}\u{1D11E}\nevent: caf\u00e9\n\n",
    frames: [{ data: "\u00a1hola! \u20ac \u{1F600}\u{1D11E}", event: "caf\u00e9" }],
    dispatched: [msg("\u00a1hola! \u20ac \u{1F600}\u{1D11E}", "", "caf\u00e9")]
  },
  {
    name: "invalid UTF-8 bytes become U+FFFD",
    input: Uint8Array.of(...encoder.encode("data: a"), 0xff, 0xc3, 0x28, 0xe2, 0x82, ...encoder.encode("\n\n")),
    frames: [{ data: "a\uFFFD\uFFFD(\uFFFD" }],
    dispatched: [msg("a\uFFFD\uFFFD(\uFFFD")]
  }
]
