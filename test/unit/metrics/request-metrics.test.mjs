import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { RequestMetrics, FailureCounters } from "../../../dist/metrics/request-metrics.js";

describe("request metrics (hot path)", () => {
  it("counts by method and status and fills cumulative buckets", () => {
    const r = RequestMetrics.inMemory([0.1, 1]);
    r.observe("GET", 200, 0.05);
    r.observe("GET", 200, 0.5);
    r.observe("BREW", 418, 5);
    const [requests, duration] = RequestMetrics.families([r], 3);
    assert.deepEqual(requests.values, [
      { labels: { worker_id: "worker_3", method: "GET", status: "200" }, value: 2 },
      { labels: { worker_id: "worker_3", method: "other", status: "418" }, value: 1 },
    ]);
    assert.deepEqual(
      duration.values.filter((v) => v.labels.le).map((v) => [v.labels.le, v.value]),
      [
        ["0.1", 1],
        ["1", 2],
        ["+Inf", 3],
      ],
    );
    assert.equal(duration.values.find((v) => v.metricName.endsWith("_count")).value, 3);
  });

  it("sums the regions of several threads", () => {
    const a = RequestMetrics.inMemory([1]);
    const b = RequestMetrics.inMemory([1]);
    a.observe("POST", 201, 0.1);
    b.observe("POST", 201, 0.1);
    assert.equal(RequestMetrics.families([a, b], 1)[0].values[0].value, 2);
  });

  it("caps distinct endpoints", () => {
    const f = new FailureCounters(2);
    for (const path of ["/a", "/b", "/c", "/d"]) f.appFailed("GET", path, "Error");
    const endpoints = f.families(1)[0].values.map((v) => v.labels.endpoint);
    assert.deepEqual(endpoints, ["/a", "/b", "other"]);
    assert.equal(f.families(1)[0].values[2].value, 2);
  });
});
