// Admission control's pure parts: reading a proxy's start time, and the limits that need no clock.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { AdmissionControl, proxyStartMs } from "../../../dist/workers/http/admission-control.js";

const limits = { maxInflight: 0, maxQueueMs: 0, lagMs: 0, exempt: ["/healthz"], backlog: null, workers: 1 };
const req = (headers = []) => ({ rawHeaders: headers, socket: { remoteAddress: "127.0.0.1" } });

describe("admission control", () => {
  it("reads a proxy's start time in seconds, milliseconds or microseconds", () => {
    assert.equal(proxyStartMs("t=1733600000.123"), 1733600000123);
    assert.equal(proxyStartMs("t=1733600000123"), 1733600000123);
    assert.equal(proxyStartMs("1733600000123456"), 1733600000123.456);
    assert.ok(Number.isNaN(proxyStartMs("t=soon")));
    assert.ok(Number.isNaN(proxyStartMs("")));
  });

  it("is wanted only when a limit is set", () => {
    assert.equal(AdmissionControl.wanted(limits), false);
    assert.equal(AdmissionControl.wanted({ ...limits, maxInflight: 10 }), true);
    assert.equal(AdmissionControl.wanted({ ...limits, lagMs: 50 }), true);
  });

  it("sheds over max_inflight and max_queue_time, never an exempt path, and counts by reason", () => {
    const a = new AdmissionControl({ ...limits, maxInflight: 2, maxQueueMs: 100 });
    assert.equal(a.check(req(), "/", 0, 2, 0), null);
    assert.equal(a.check(req(), "/", 0, 3, 0), "inflight");
    assert.equal(a.check(req(), "/", 150, 1, 0), "queue_time");
    assert.equal(a.check(req(), "/healthz?full=1", 150, 3, 0), null);
    const aged = `t=${(Date.now() - 5000) / 1000}`;
    assert.equal(a.check(req(["X-Request-Start", aged]), "/", 0, 1, 0), "queue_time", "the proxy's wait counts");
    const [shed, queue] = a.families("worker_1");
    assert.deepEqual(
      shed.values.map((v) => [v.labels.reason, v.value]),
      [
        ["inflight", 1],
        ["queue_time", 2],
        ["overload", 0],
      ],
    );
    const count = queue.values.find((v) => v.metricName.endsWith("_count"));
    assert.equal(count.value, 5);
    const buckets = queue.values.filter((v) => v.metricName.endsWith("_bucket")).map((v) => v.value);
    assert.deepEqual(
      [...buckets].sort((x, y) => x - y),
      buckets,
      "buckets are cumulative",
    );
    assert.equal(buckets.at(-1), 5);
  });
});
