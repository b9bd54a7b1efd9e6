// Native histogram buckets: which bucket a value lands in, the hidden samples that carry them, and
// the merge of buckets of two schemas down to the coarser.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { NativeBuckets, nativeSeries } from "../../../dist/metrics/native-histogram.js";

const indexOf = (schema, v) => {
  const b = new NativeBuckets(schema);
  b.observe(v);
  const s = b.samples("h", {}).find((x) => !x.labels.native.endsWith(":z"));
  return Number(s.labels.native.split(":")[1]);
};

describe("native histogram buckets", () => {
  it("puts a value in (2^((i-1)/2^s), 2^(i/2^s)]", () => {
    assert.equal(indexOf(0, 1), 0, "1 is the upper bound of bucket 0");
    assert.equal(indexOf(0, 1.5), 1);
    assert.equal(indexOf(0, 2), 1);
    assert.equal(indexOf(0, 0.3), -1, "(0.25, 0.5]");
    assert.equal(indexOf(3, 0.1), Math.ceil(Math.log2(0.1) * 8));
    for (const v of [0.0013, 0.02, 0.17, 3.3]) {
      const i = indexOf(3, v);
      assert.ok(2 ** ((i - 1) / 8) < v && v <= 2 ** (i / 8), `${v} in bucket ${i}`);
    }
  });

  it("counts zero in the zero bucket and sums other threads' buckets", () => {
    const a = new NativeBuckets(3);
    const b = new NativeBuckets(3);
    a.observe(0);
    a.observe(0.05);
    b.observe(0.05);
    const samples = a.samples("h", { worker_id: "worker_1" }, [b]);
    assert.deepEqual(
      samples.map((s) => [s.metricName, s.labels.native, s.value]),
      [
        ["h_native", `3:${Math.ceil(Math.log2(0.05) * 8)}`, 2],
        ["h_native", "3:z", 1],
      ],
    );
  });

  it("merges a finer schema's buckets down to the coarser one present", () => {
    const samples = [
      { metricName: "h_native", labels: { native: "1:3" }, value: 2 },
      { metricName: "h_native", labels: { native: "1:4" }, value: 1 },
      { metricName: "h_native", labels: { native: "0:2" }, value: 5 },
      { metricName: "h_native", labels: { native: "0:z" }, value: 1 },
    ];
    const [series] = nativeSeries(samples, () => "all").values();
    assert.equal(series.schema, 0);
    assert.equal(series.zero, 1);
    // Schema 1 index 3 is (2^1, 2^1.5]: within schema 0's bucket 2, (2, 4]; index 4 is (2^1.5, 4] too.
    assert.deepEqual([...series.buckets], [[2, 8]]);
  });
});
