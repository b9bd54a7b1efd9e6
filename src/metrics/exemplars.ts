// Exemplars: the W3C trace id of a recent request kept beside a histogram bucket or a counter, so
// a dashboard can go from a slow bucket to the trace of a request that landed in it. A slot lives
// in the worker's Float64Array region like the counts: recording one (only for a request that
// carries `traceparent`) reads the trace id's hex digits into four 32-bit words, with no string
// made; the id is written out as text only when the snapshot is taken.
import type { Exemplar } from "./family.js";

/** One slot: [time (ms since the epoch), observed value, status, trace id as 4 × 32-bit words]. */
const SLOT = 7;
/** Where the trace id's words start in a slot. */
const WORDS_AT = 3;
/** Where the trace id starts in the header: "00-" then 32 hex digits. */
const TRACE_ID_AT = 3;
const TRACE_ID_END = TRACE_ID_AT + 32;

/** The 8 lower-case hex digits of `s` from `at` as a 32-bit number; -1 if one is not a hex digit. */
function hexWord(s: string, at: number): number {
  let word = 0;
  for (let i = at; i < at + 8; i++) {
    const c = s.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return -1;
    word = word * 16 + d;
  }
  return word;
}

export class ExemplarSlots {
  static length(slots: number): number {
    return slots * SLOT;
  }

  constructor(private readonly values: Float64Array) {}

  /**
   * Keeps the request's trace in the slot of its bucket and in its method's counter slot, if
   * `traceparent` is a valid W3C header (`version-traceid-parentid-flags`; an all-zero trace id is
   * invalid). The header is read once, and an invalid one leaves both slots as they were.
   */
  record(bucketSlot: number, counterSlot: number, seconds: number, status: number, traceparent: string): void {
    if (traceparent.length < 55 || traceparent.charCodeAt(2) !== 45 || traceparent.charCodeAt(TRACE_ID_END) !== 45)
      return;
    const w0 = hexWord(traceparent, TRACE_ID_AT);
    const w1 = hexWord(traceparent, TRACE_ID_AT + 8);
    const w2 = hexWord(traceparent, TRACE_ID_AT + 16);
    const w3 = hexWord(traceparent, TRACE_ID_AT + 24);
    if (w0 < 0 || w1 < 0 || w2 < 0 || w3 < 0 || w0 + w1 + w2 + w3 === 0) return;
    const now = Date.now();
    this.write(bucketSlot * SLOT, now, seconds, status, w0, w1, w2, w3);
    this.write(counterSlot * SLOT, now, 1, status, w0, w1, w2, w3);
  }

  private write(
    at: number,
    now: number,
    value: number,
    status: number,
    w0: number,
    w1: number,
    w2: number,
    w3: number,
  ): void {
    const v = this.values;
    v[at + 1] = value;
    v[at + 2] = status;
    v[at + WORDS_AT] = w0;
    v[at + WORDS_AT + 1] = w1;
    v[at + WORDS_AT + 2] = w2;
    v[at + WORDS_AT + 3] = w3;
    // The time last: a slot with a time is complete (a thread's region is read by its process).
    v[at] = now;
  }

  /** The latest exemplar in `slot` across several regions (a thread worker's threads); null if none. */
  static latest(regions: readonly ExemplarSlots[], slot: number): (Exemplar & { status: number }) | null {
    let best: ExemplarSlots | null = null;
    const at = slot * SLOT;
    for (const r of regions) if (r.values[at]! > 0 && (best === null || r.values[at]! > best.values[at]!)) best = r;
    if (best === null) return null;
    const v = best.values;
    let traceId = "";
    for (let w = 0; w < 4; w++) traceId += v[at + WORDS_AT + w]!.toString(16).padStart(8, "0");
    return { labels: { trace_id: traceId }, value: v[at + 1]!, timestamp: v[at]! / 1000, status: v[at + 2]! };
  }
}
