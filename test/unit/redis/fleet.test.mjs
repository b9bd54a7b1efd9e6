// Merging a fleet's snapshots from Redis.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mergeFleet, parseFleetSnapshot, FLEET_FORMAT } from "../../../dist/redis/fleet.js";
import { formatPrometheus } from "../../../dist/metrics/exposition.js";
import { metricsToJSON } from "../../../dist/metrics/family.js";

const host = (instance, families) => ({ format: FLEET_FORMAT, instance, written: 0, families });
const requests = (value, labels = {}) => ({
  name: "req_total",
  help: "Requests.",
  type: "counter",
  values: [{ labels, value }],
});

describe("the fleet merge", () => {
  it("labels every series with its instance under one family", () => {
    const merged = mergeFleet([
      host("a", [requests(3, { worker_id: "worker_1" })]),
      host("b", [requests(5, { worker_id: "worker_1" })]),
    ]);
    assert.equal(merged.length, 1);
    assert.deepEqual(
      merged[0].values.map((s) => [s.labels.instance, s.labels.worker_id, s.value]),
      [
        ["a", "worker_1", 3],
        ["b", "worker_1", 5],
      ],
    );
    const text = formatPrometheus(merged);
    assert.equal(text.match(/# TYPE req_total counter/g).length, 1);
    assert.match(text, /^req_total\{instance="b",worker_id="worker_1"\} 5$/m);
  });

  it("keeps an existing instance label as exported_instance, and histogram sample names", () => {
    const histogram = {
      name: "d",
      help: "D.",
      type: "histogram",
      values: [{ metricName: "d_bucket", labels: { le: "+Inf", instance: "app-own" }, value: 2 }],
    };
    const [merged] = mergeFleet([host("h1", [histogram])]);
    assert.deepEqual(merged.values[0], {
      metricName: "d_bucket",
      labels: { instance: "h1", exported_instance: "app-own", le: "+Inf" },
      value: 2,
    });
  });

  it("leaves out a host's family whose type differs from the first host's", () => {
    const asGauge = { ...requests(9), type: "gauge" };
    const [merged] = mergeFleet([host("a", [requests(1)]), host("b", [asGauge])]);
    assert.equal(merged.type, "counter");
    assert.deepEqual(
      merged.values.map((s) => s.labels.instance),
      ["a"],
    );
  });

  it("rejects values that are not fleet snapshots, with a reason", () => {
    assert.equal(parseFleetSnapshot("{nope"), "corrupt (not valid JSON)");
    assert.equal(parseFleetSnapshot(JSON.stringify({ format: "other" })), "not a gpe-server fleet snapshot");
    assert.equal(parseFleetSnapshot(JSON.stringify(host("x", []))).instance, "x");
  });

  it("carries a NaN gauge through the forwarded JSON as NaN", () => {
    const snapshot = host("x", [{ name: "lag", help: "Lag.", type: "gauge", values: [{ labels: {}, value: NaN }] }]);
    const parsed = parseFleetSnapshot(metricsToJSON(snapshot));
    assert.match(formatPrometheus(mergeFleet([parsed])), /^lag\{instance="x"\} NaN$/m);
  });
});
