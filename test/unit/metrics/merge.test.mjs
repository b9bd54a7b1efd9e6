import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { counter, gauge } from "../../helpers/families.mjs";
import { Merger, monotonicPart } from "../../../dist/metrics/merge.js";

describe("merge rules", () => {
  it("sums counters and histograms whatever their aggregator", () => {
    const m = new Merger();
    m.add([counter(2)], "worker_1");
    m.add([counter(3)], "worker_2");
    assert.deepEqual(m.toJSON()[0].values, [{ labels: {}, value: 5 }]);
  });

  for (const [aggregator, expected] of [
    ["sum", 12],
    ["min", 2],
    ["max", 10],
    ["average", 6],
    ["first", 10],
  ]) {
    it(`merges gauges with aggregator ${aggregator}`, () => {
      const m = new Merger();
      m.add([gauge(10, aggregator)], "worker_1");
      m.add([gauge(2, aggregator)], "worker_2");
      assert.equal(m.toJSON()[0].values[0].value, expected);
    });
  }

  it("keeps one series per worker with aggregator 'worker', drops 'omit'", () => {
    const m = new Merger();
    m.add([gauge(1, "worker"), { ...counter(1), name: "secret_total", aggregator: "omit" }], "worker_1");
    m.add([gauge(2, "worker")], "worker_2");
    const [depth, ...rest] = m.toJSON();
    assert.deepEqual(
      depth.values.map((v) => v.labels.worker_id),
      ["worker_1", "worker_2"],
    );
    assert.equal(rest.length, 0);
  });

  it("archives only what must stay monotonic", () => {
    assert.deepEqual(
      monotonicPart([counter(1), gauge(1, "sum")]).map((f) => f.type),
      ["counter"],
    );
  });
});
