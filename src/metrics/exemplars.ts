// Exemplars: the W3C trace id of a recent request kept beside a histogram bucket or a counter, so
// a dashboard can go from a slow bucket to the trace of a request that landed in it. A slot lives
// in the worker's Float64Array region like the counts: recording one (only for a request that
// carries `traceparent`) reads the trace id's hex digits into four 32-bit words, with no string
// made; the id is written out as text only when the snapshot is taken.
import type { Exemplar } from "./family.js";

/** One slot: [time (ms since the epoch), observed value, status, trace id as 4 × 32-bit words]. */
const SLOT = 7;
const TRACE_ID_AT = 3; // "00-" then 32 hex digits
const TRACE_ID_END = TRACE_ID_AT + 32;

/** The value of one hex digit's char code; -1 if it is not one (traceparent is lower-case). */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

export class ExemplarSlots {
  static length(slots: number): number {
    return slots * SLOT;
  }

  constructor(private readonly values: Float64Array) {}

  /**
   * Keeps the request's trace in `slot` if `traceparent` is a valid W3C header
   * (`version-traceid-parentid-flags`); an all-zero trace id is invalid.
   */
  record(slot: number, value: number, status: number, traceparent: string): void {
    if (traceparent.length < 55 || traceparent.charCodeAt(2) !== 45 || traceparent.charCodeAt(TRACE_ID_END) !== 45)
      return;
    const v = this.values;
    const at = slot * SLOT;
    let any = 0;
    for (let w = 0; w < 4; w++) {
      let word = 0;
      for (let i = TRACE_ID_AT + w * 8, end = i + 8; i < end; i++) {
        const d = hexValue(traceparent.charCodeAt(i));
        if (d < 0) return;
        word = word * 16 + d;
      }
      any += word;
      v[at + TRACE_ID_AT + w] = word;
    }
    if (any === 0) {
      v[at] = 0;
      return;
    }
    v[at + 1] = value;
    v[at + 2] = status;
    // The time last: a slot with a time is complete (a thread's region is read by its process).
    v[at] = Date.now();
  }

  /** The latest exemplar in `slot` across several regions (a thread worker's threads); null if none. */
  static latest(regions: readonly ExemplarSlots[], slot: number): (Exemplar & { status: number }) | null {
    let best: ExemplarSlots | null = null;
    const at = slot * SLOT;
    for (const r of regions) if (r.values[at]! > 0 && (best === null || r.values[at]! > best.values[at]!)) best = r;
    if (best === null) return null;
    const v = best.values;
    let traceId = "";
    for (let w = 0; w < 4; w++) traceId += v[at + TRACE_ID_AT + w]!.toString(16).padStart(8, "0");
    return { labels: { trace_id: traceId }, value: v[at + 1]!, timestamp: v[at]! / 1000, status: v[at + 2]! };
  }
}
