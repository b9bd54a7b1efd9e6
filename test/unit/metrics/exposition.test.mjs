import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { counter } from "../../helpers/families.mjs";
import { formatPrometheus, formatOpenMetrics, negotiate } from "../../../dist/metrics/exposition.js";

describe("exposition", () => {
  it("prints the text format with escaping", () => {
    const text = formatPrometheus([
      { name: "x_total", help: "a\\b\nc", type: "counter", values: [{ labels: { path: 'q"\n' }, value: Infinity }] },
    ]);
    assert.equal(text, '# HELP x_total a\\\\b\\nc\n# TYPE x_total counter\nx_total{path="q\\"\\n"} +Inf\n');
  });

  it("prints OpenMetrics with counter families named without _total, and # EOF", () => {
    const text = formatOpenMetrics([counter(4)]);
    assert.equal(text, "# TYPE jobs counter\n# HELP jobs Jobs.\njobs_total 4\n# EOF\n");
    assert.equal(negotiate("application/openmetrics-text; version=1.0.0"), "openmetrics");
    assert.equal(negotiate("text/plain"), "prometheus");
  });

  it("escapes quotes in OpenMetrics HELP text (the text format leaves them)", () => {
    const family = { name: "q", help: 'say "hi"\\', type: "gauge", values: [{ labels: {}, value: 1 }] };
    assert.equal(formatOpenMetrics([family]), '# TYPE q gauge\n# HELP q say \\"hi\\"\\\\\nq 1\n# EOF\n');
    assert.equal(formatPrometheus([family]), '# HELP q say "hi"\\\\\n# TYPE q gauge\nq 1\n');
  });
});
