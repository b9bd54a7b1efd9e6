// Native (sparse, exponential) histograms, as Prometheus reads them from the protobuf exposition.
// With schema s, bucket i holds the values in (2^((i-1)/2^s), 2^(i/2^s)]: 2^s buckets per power of
// two, each at most 2^(2^-s) times as wide as the last (schema 3: 9 % apart). A worker counts into
// a fixed run of buckets (1 µs to 256 s), a log2 and an index per request; the counts travel in the
// store as hidden samples (`<name>_native`, labelled with their schema and index), so the master
// sums them over workers and over dead workers exactly as it sums classic buckets. The text
// formats leave them out; the protobuf exposition turns them back into spans and deltas.
import type { Labels, SampleJSON } from "./family.js";

/** The metric-name suffix of the hidden samples that carry native buckets in the store. */
export const NATIVE_SUFFIX = "_native";
/** The label that names a hidden sample's bucket: "<schema>:<index>", or "<schema>:z" (the zero bucket). */
export const NATIVE_LABEL = "native";
/** Values at or below this count in the zero bucket. */
export const ZERO_THRESHOLD = 1e-9;
/** The run of buckets a worker keeps: from 2^-20 s (about 1 µs) to 2^8 s; outside, the end buckets. */
const MIN_LOG2 = -20;
const MAX_LOG2 = 8;

export class NativeBuckets {
  private readonly scale: number;
  private readonly first: number;
  /** How many buckets, the zero bucket last. */
  private readonly zeroAt: number;

  /** The length of the counts of a schema: its buckets and the zero bucket. */
  static length(schema: number): number {
    return (MAX_LOG2 - MIN_LOG2) * 2 ** schema + 1;
  }

  /** `counts` may be a view of shared memory (a thread's region, read by its process). */
  constructor(
    readonly schema: number,
    readonly counts: Float64Array = new Float64Array(NativeBuckets.length(schema)),
  ) {
    this.scale = 2 ** schema;
    this.first = MIN_LOG2 * this.scale + 1;
    this.zeroAt = counts.length - 1;
  }

  observe(seconds: number): void {
    if (!(seconds > ZERO_THRESHOLD)) {
      this.counts[this.zeroAt]! += 1;
      return;
    }
    let i = Math.ceil(Math.log2(seconds) * this.scale) - this.first;
    if (i < 0) i = 0;
    else if (i >= this.zeroAt) i = this.zeroAt - 1;
    this.counts[i]! += 1;
  }

  /** The hidden samples of these counts, summed with `more` (other threads' buckets of the same series). */
  samples(name: string, labels: Labels, more: readonly NativeBuckets[] = []): SampleJSON[] {
    const metricName = `${name}${NATIVE_SUFFIX}`;
    const out: SampleJSON[] = [];
    for (let i = 0; i <= this.zeroAt; i++) {
      let n = this.counts[i]!;
      for (const m of more) n += m.counts[i]!;
      if (n === 0 && i < this.zeroAt) continue;
      const at = i === this.zeroAt ? "z" : String(this.first + i);
      out.push({ metricName, labels: { ...labels, [NATIVE_LABEL]: `${this.schema}:${at}` }, value: n });
    }
    return out;
  }
}

/** One series' native buckets as the exposition needs them: at one schema, by index. */
export interface NativeSeries {
  schema: number;
  zero: number;
  buckets: Map<number, number>;
}

/**
 * Collects the hidden samples of one histogram family by series (its labels without the bucket
 * label). Buckets of a finer schema (a worker of an older config) are merged down to the coarsest
 * one present: index i of schema s is index ceil(i / 2^(s - t)) of schema t.
 */
export function nativeSeries(
  samples: readonly SampleJSON[],
  keyOf: (labels: Labels) => string,
): Map<string, NativeSeries> {
  const raw = new Map<string, { schema: number; index: number | null; value: number }[]>();
  for (const s of samples) {
    const tag = String(s.labels[NATIVE_LABEL]);
    const colon = tag.indexOf(":");
    const schema = Number(tag.slice(0, colon));
    const at = tag.slice(colon + 1);
    const { [NATIVE_LABEL]: _, ...labels } = s.labels;
    const key = keyOf(labels);
    let list = raw.get(key);
    if (!list) {
      list = [];
      raw.set(key, list);
    }
    list.push({ schema, index: at === "z" ? null : Number(at), value: s.value });
  }
  const out = new Map<string, NativeSeries>();
  for (const [key, list] of raw) {
    const schema = Math.min(...list.map((b) => b.schema));
    const series: NativeSeries = { schema, zero: 0, buckets: new Map() };
    for (const b of list) {
      if (b.index === null) {
        series.zero += b.value;
        continue;
      }
      const index = Math.ceil(b.index / 2 ** (b.schema - schema));
      series.buckets.set(index, (series.buckets.get(index) ?? 0) + b.value);
    }
    out.set(key, series);
  }
  return out;
}
