// The protobuf exposition (io.prometheus.client.MetricFamily, length-delimited), which a Prometheus
// with native histograms asks for. Every family is in it; the latency histograms carry their native
// buckets (native-histogram.ts) beside the classic ones. Written by hand, field by field, from
// metrics.proto: the format is small and stable, and a protobuf library would be a dependency for
// one message type.
import type { Exemplar, FamilyJSON, Labels, SampleJSON } from "./family.js";
import { labelKey } from "./merge.js";
import { NATIVE_SUFFIX, nativeSeries, ZERO_THRESHOLD, type NativeSeries } from "./native-histogram.js";

export const PROTOBUF_CONTENT_TYPE =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

const TYPES: Record<string, number> = { counter: 0, gauge: 1, summary: 2, untyped: 3, histogram: 4 };

/** A growing byte buffer with protobuf's encodings. */
class Writer {
  private buf = Buffer.allocUnsafe(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  varint(n: number): void {
    this.room(10);
    let v = Math.max(0, Math.floor(n));
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
  }

  /** ZigZag, for sint32 and sint64. */
  svarint(n: number): void {
    this.varint(n >= 0 ? 2 * n : -2 * n - 1);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  double(field: number, v: number): void {
    this.tag(field, 1);
    this.room(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }

  uint(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }

  sint(field: number, v: number): void {
    this.tag(field, 0);
    this.svarint(v);
  }

  string(field: number, s: string): void {
    const bytes = Buffer.from(s, "utf8");
    this.bytes(field, bytes);
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.raw(b);
  }

  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** A sub-message: written into a writer of its own, then as bytes. */
  message(field: number, write: (w: Writer) => void): void {
    const w = new Writer();
    write(w);
    this.bytes(field, w.done());
  }

  done(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function labelPairs(w: Writer, labels: Labels): void {
  for (const name in labels)
    w.message(1, (p) => {
      p.string(1, name);
      p.string(2, String(labels[name]));
    });
}

/** Exemplar: label pairs 1, value 2, timestamp 3 (google.protobuf.Timestamp: seconds 1, nanos 2). */
function exemplar(w: Writer, field: number, e: Exemplar | undefined): void {
  if (e == null) return;
  w.message(field, (x) => {
    labelPairs(x, e.labels);
    x.double(2, e.value);
    const seconds = Math.floor(e.timestamp);
    x.message(3, (t) => {
      t.uint(1, seconds);
      t.uint(2, Math.round((e.timestamp - seconds) * 1e9));
    });
  });
}

/** Families as the delimited protobuf exposition: each MetricFamily after its length. */
export function formatProtobuf(families: readonly FamilyJSON[]): Buffer {
  const out = new Writer();
  for (const f of families) {
    const w = new Writer();
    w.string(1, f.name);
    w.string(2, f.help);
    w.uint(3, TYPES[f.type] ?? 3);
    if (f.type === "histogram") histograms(w, f);
    else if (f.type === "summary") summaries(w, f);
    else
      for (const s of f.values)
        w.message(4, (m) => {
          labelPairs(m, s.labels);
          // gauge 2, counter 3, untyped 5: each a message whose field 1 is the value; a counter's
          // exemplar is its field 2.
          m.message(f.type === "counter" ? 3 : f.type === "gauge" ? 2 : 5, (v) => {
            v.double(1, s.value);
            if (f.type === "counter") exemplar(v, 2, s.exemplar);
          });
        });
    const bytes = w.done();
    out.varint(bytes.length);
    out.raw(bytes);
  }
  return out.done();
}

interface HistogramSeries {
  labels: Labels;
  buckets: { le: number; count: number; exemplar: Exemplar | undefined }[];
  sum: number;
  count: number;
}

function histograms(w: Writer, f: FamilyJSON): void {
  const series = new Map<string, HistogramSeries>();
  const native: SampleJSON[] = [];
  const keyOf = (labels: Labels) => labelKey("", labels);
  for (const s of f.values) {
    const name = s.metricName ?? f.name;
    if (name.endsWith(NATIVE_SUFFIX)) {
      native.push(s);
      continue;
    }
    const { le, ...labels } = s.labels;
    const key = keyOf(labels);
    let h = series.get(key);
    if (!h) {
      h = { labels, buckets: [], sum: 0, count: 0 };
      series.set(key, h);
    }
    if (name.endsWith("_bucket")) {
      const bound = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
      if (Number.isFinite(bound)) h.buckets.push({ le: bound, count: s.value, exemplar: s.exemplar });
    } else if (name.endsWith("_sum")) h.sum = s.value;
    else if (name.endsWith("_count")) h.count = s.value;
  }
  const sparse = native.length > 0 ? nativeSeries(native, keyOf) : new Map<string, NativeSeries>();
  for (const [key, h] of series)
    w.message(4, (m) => {
      labelPairs(m, h.labels);
      m.message(7, (hw) => {
        hw.uint(1, h.count);
        hw.double(2, h.sum);
        for (const b of h.buckets.sort((x, y) => x.le - y.le))
          hw.message(3, (bw) => {
            bw.uint(1, b.count);
            bw.double(2, b.le);
            exemplar(bw, 3, b.exemplar);
          });
        const n = sparse.get(key);
        if (n) nativeFields(hw, n);
      });
    });
}

/** schema 5, zero_threshold 6, zero_count 7, positive_span 12 (offset 1, length 2), positive_delta 13. */
function nativeFields(w: Writer, n: NativeSeries): void {
  w.sint(5, n.schema);
  w.double(6, ZERO_THRESHOLD);
  w.uint(7, n.zero);
  const indices = [...n.buckets.keys()].filter((i) => n.buckets.get(i)! > 0).sort((a, b) => a - b);
  let previous: number | null = null;
  let spanStart = 0;
  let spanLength = 0;
  const spans: { offset: number; length: number }[] = [];
  for (const i of indices) {
    if (previous !== null && i === previous + 1) spanLength++;
    else {
      if (spanLength > 0) spans.push({ offset: spanStart, length: spanLength });
      spanStart = previous === null ? i : i - previous - 1;
      spanLength = 1;
    }
    previous = i;
  }
  if (spanLength > 0) spans.push({ offset: spanStart, length: spanLength });
  for (const s of spans)
    w.message(12, (sw) => {
      sw.sint(1, s.offset);
      sw.uint(2, s.length);
    });
  let last = 0;
  const deltas = new Writer();
  for (const i of indices) {
    const count = n.buckets.get(i)!;
    deltas.svarint(count - last);
    last = count;
  }
  if (indices.length > 0) w.bytes(13, deltas.done());
}

function summaries(w: Writer, f: FamilyJSON): void {
  const series = new Map<string, { labels: Labels; quantiles: [number, number][]; sum: number; count: number }>();
  for (const s of f.values) {
    const name = s.metricName ?? f.name;
    const { quantile, ...labels } = s.labels;
    const key = labelKey("", labels);
    let q = series.get(key);
    if (!q) {
      q = { labels, quantiles: [], sum: 0, count: 0 };
      series.set(key, q);
    }
    if (quantile !== undefined) q.quantiles.push([Number(quantile), s.value]);
    else if (name.endsWith("_sum")) q.sum = s.value;
    else if (name.endsWith("_count")) q.count = s.value;
  }
  for (const q of series.values())
    w.message(4, (m) => {
      labelPairs(m, q.labels);
      m.message(4, (sw) => {
        sw.uint(1, q.count);
        sw.double(2, q.sum);
        for (const [quantile, value] of q.quantiles)
          sw.message(3, (qw) => {
            qw.double(1, quantile);
            qw.double(2, value);
          });
      });
    });
}
