// The metrics catalogue: every family's name, HELP and labels from one table.
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { workerView } from "../../doubles/workers.mjs";
import { RequestMetrics, FailureCounters } from "../../../dist/metrics/request-metrics.js";
import { RouteMetrics } from "../../../dist/metrics/route-metrics.js";
import { METRICS } from "../../../dist/metrics/catalogue.js";
import { renderMetricsDoc } from "../../../dist/metrics/metrics-doc.js";
import { MasterMetrics, storeErrorsFamily } from "../../../dist/exporter/master-metrics.js";

describe("the metrics catalogue", () => {
  const names = new Set(Object.values(METRICS).map((m) => m.name));

  it("docs/metrics.md is generated from it and up to date", () => {
    assert.equal(readFileSync(new URL("../../../docs/metrics.md", import.meta.url), "utf8"), renderMetricsDoc());
  });

  it("lists every family the workers and the master produce, with its type and labels", async () => {
    const worker = workerView();
    const master = new MasterMetrics(() => [worker]);
    master.restart("crash", 1, 1);
    const failures = new FailureCounters(10);
    failures.appFailed("GET", "/", "Error");
    failures.serverError("GET", "/", "BadRequest");
    const routes = new RouteMetrics([0.1], 10);
    routes.observe("GET", "/items/:id", 200, 0.05);
    const families = [
      ...RequestMetrics.families([RequestMetrics.inMemory([0.1])], 1),
      ...failures.families(1),
      ...RouteMetrics.families([routes]),
      ...(await master.families()).filter(
        (f) => !f.name.startsWith("gunicorn_master_process_") && !f.name.startsWith("gunicorn_master_nodejs_"),
      ),
      storeErrorsFamily(new Map()),
    ];
    for (const f of families) {
      assert.ok(names.has(f.name), `${f.name} is in the catalogue`);
      const spec = Object.values(METRICS).find((m) => m.name === f.name);
      assert.equal(f.type, spec.type, `${f.name}'s type`);
      for (const sample of f.values) {
        // le: a classic bucket's bound; native: a native bucket's index (hidden from the text formats).
        const labels = Object.keys(sample.labels).filter((l) => l !== "le" && l !== "native");
        assert.deepEqual(labels.sort(), [...spec.labels].sort(), `${f.name}'s labels`);
      }
    }
  });
});
