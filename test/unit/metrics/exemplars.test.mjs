// Exemplars: a traced request's W3C trace id kept on the bucket it landed in and on its method's
// request counter, merged (the latest wins) and printed in OpenMetrics only.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RequestMetrics } from "../../../dist/metrics/request-metrics.js";
import { Merger } from "../../../dist/metrics/merge.js";
import { formatOpenMetrics, formatPrometheus } from "../../../dist/metrics/exposition.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const traceparent = (id = TRACE) => `00-${id}-00f067aa0ba902b7-01`;

describe("exemplars", () => {
  it("keep a traced request's trace id on its bucket and its method's counter, on the status it got", () => {
    const r = RequestMetrics.inMemory([0.1, 1]);
    r.observe("GET", 200, 0.05);
    r.observe("GET", 500, 0.5, traceparent());
    r.observe("POST", 201, 0.07);
    const [requests, duration] = RequestMetrics.families([r], 1);
    const traced = requests.values.filter((v) => v.exemplar);
    assert.deepEqual(
      traced.map((v) => [v.labels.method, v.labels.status, v.exemplar.labels.trace_id, v.exemplar.value]),
      [["GET", "500", TRACE, 1]],
    );
    const buckets = duration.values.filter((v) => v.exemplar);
    assert.deepEqual(
      buckets.map((v) => [v.labels.le, v.exemplar.labels.trace_id, v.exemplar.value]),
      [["1", TRACE, 0.5]],
    );
    assert.ok(Math.abs(buckets[0].exemplar.timestamp - Date.now() / 1000) < 5, "seconds since the epoch");
  });

  it("ignore a malformed or all-zero traceparent, and take the latest of several threads' regions", () => {
    const r = RequestMetrics.inMemory([0.1]);
    for (const bad of [
      "",
      "00-xyz",
      `00-${"0".repeat(32)}-00f067aa0ba902b7-01`,
      `00-${"G".repeat(32)}-00f067aa0ba902b7-01`,
    ])
      r.observe("GET", 200, 0.01, bad);
    assert.equal(RequestMetrics.families([r], 1)[1].values.filter((v) => v.exemplar).length, 0);
    const older = RequestMetrics.inMemory([0.1]);
    older.observe("GET", 200, 0.01, traceparent("00000000000000000000000000000001"));
    const newer = RequestMetrics.inMemory([0.1]);
    const wait = Date.now() + 5;
    while (Date.now() < wait);
    newer.observe("GET", 200, 0.02, traceparent("ffffffffffffffffffffffffffffffff"));
    const [, duration] = RequestMetrics.families([older, newer], 1);
    assert.equal(duration.values.find((v) => v.exemplar).exemplar.labels.trace_id, "f".repeat(32));
  });

  it("leave a kept exemplar whole when a later traceparent is malformed or all zero", () => {
    const r = RequestMetrics.inMemory([0.1]);
    r.observe("GET", 200, 0.01, traceparent());
    r.observe("GET", 200, 0.02, `00-${"a".repeat(16)}zz${"a".repeat(14)}-00f067aa0ba902b7-01`);
    r.observe("GET", 200, 0.03, traceparent("0".repeat(32)));
    const [requests, duration] = RequestMetrics.families([r], 1);
    const bucket = duration.values.find((v) => v.exemplar);
    assert.deepEqual([bucket.exemplar.labels.trace_id, bucket.exemplar.value], [TRACE, 0.01]);
    assert.equal(requests.values[0].exemplar.labels.trace_id, TRACE);
  });

  it("merge to the latest per series, leave out an app registry's, and print in OpenMetrics only", () => {
    const family = (trace, timestamp) => ({
      name: "gunicorn_worker_requests_total",
      help: "requests",
      type: "counter",
      values: [{ labels: { method: "GET" }, value: 1, exemplar: { labels: { trace_id: trace }, value: 1, timestamp } }],
    });
    const m = new Merger();
    m.add([family("aa", 100.5)]);
    m.add([family("bb", 200.25)]);
    m.add([family("cc", 50)]);
    // prom-client's getMetricsAsJSON writes `exemplar: null`, or its own shape.
    m.add([{ ...family("x", 1), values: [{ labels: { method: "GET" }, value: 1, exemplar: null }] }]);
    m.add([
      { ...family("x", 1), values: [{ labels: { method: "GET" }, value: 1, exemplar: { labelSet: {}, value: 1 } }] },
    ]);
    const merged = m.toJSON();
    assert.equal(merged[0].values[0].value, 5);
    assert.match(
      formatOpenMetrics(merged),
      /^gunicorn_worker_requests_total\{method="GET"\} 5 # \{trace_id="bb"\} 1 200\.250$/m,
    );
    assert.doesNotMatch(formatPrometheus(merged), /trace_id/);
  });
});
