// Admission control's pure parts: reading a proxy's start time, and the limits that need no clock.
import { describe, it } from "node:test";
import { performance } from "node:perf_hooks";
import assert from "node:assert/strict";
import { AdmissionControl, proxyStartMs } from "../../../dist/workers/http/admission-control.js";

const limits = {
  maxInflight: 0,
  maxQueueMs: 0,
  lagMs: 0,
  exempt: ["/healthz"],
  backlog: null,
  workers: 1,
  oneAtATime: false,
};
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

  it("one at a time, judges the wait before a request's turn, not the loop's lateness", () => {
    // The loop is a second late (a slow request ran on it). An event loop's worker lets the first
    // request of the turn run (a lone client's next request) and sheds those that waited with it;
    // a one-at-a-time worker judges by the wait, and nothing waited.
    const late = performance.now() + 1000;
    const loop = new AdmissionControl({ ...limits, lagMs: 50 });
    assert.equal(loop.check(req(), "/", 0, 1, late), null, "the first request of the late turn");
    assert.equal(loop.check(req(), "/", 0, 1, late + 1), "overload", "one that waited on the loop with it");
    const a = new AdmissionControl({ ...limits, lagMs: 50, oneAtATime: true });
    assert.equal(a.check(req(), "/", 0, 1, late), null);
    // Waits over the target for a whole interval: a standing queue, shed at the turn and on arrival.
    const t = late + 10;
    assert.equal(a.check(req(), "/", 60, 1, t), null, "one late request is a burst");
    assert.equal(a.check(req(), "/", 80, 1, t + 60), null);
    assert.equal(a.check(req(), "/", 70, 1, t + 110), "overload");
    assert.equal(a.queueTooLong("/", 1, 1, t + 115), true, "an arrival behind a standing queue");
    assert.equal(a.queueTooLong("/", 0, 1, t + 115), false, "nothing ahead: it waits one request at most");
    assert.equal(a.queueTooLong("/healthz", 3, 1, t + 115), false, "a health check is never shed");
    // One short wait ends it: the queue has drained.
    assert.equal(a.check(req(), "/", 5, 1, t + 120), null);
    assert.equal(a.check(req(), "/", 60, 1, t + 130), null);
    assert.equal(a.queueTooLong("/", 2, 1, t + 135), false);
  });
});
