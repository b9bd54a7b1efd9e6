// The adaptive pool's rule: up after a full window of high pressure, down only when one worker
// fewer would still stay well below the threshold, a full window again after each change.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Autoscaler, DOWN_MARGIN, poolPressure } from "../../../dist/arbiter/autoscale.js";

const policy = { min: 1, max: 4, upAt: 0.8, upAfterMs: 1000, downAfterMs: 3000 };

/** Feeds one sample every 250 ms from `t` for `ms`; returns the first decision and its time. */
function feed(scaler, t, ms, target, pressure) {
  for (let at = t; at <= t + ms; at += 250) {
    const d = scaler.sample(at, target, pressure);
    if (d) return { ...d, at };
  }
  return null;
}

describe("adaptive pool", () => {
  it("adds a worker only after a full window of high utilization", () => {
    const a = new Autoscaler(() => policy);
    assert.equal(feed(a, 0, 750, 1, { busy: 0.95, waiting: 0 }), null);
    const d = feed(a, 1000, 1000, 1, { busy: 0.95, waiting: 0 });
    assert.equal(d.to, 2);
    assert.equal(d.reason, "scale_up");
    assert.equal(d.at, 1000);
    assert.match(d.why, /utilization 0\.95 over 1 s/);
  });

  it("counts a waiting connection as a full pool and names it", () => {
    const a = new Autoscaler(() => policy);
    const d = feed(a, 0, 2000, 2, { busy: 0.3, waiting: 5 });
    assert.equal(d.to, 3);
    assert.match(d.why, /up to 5 connections waiting/);
  });

  it("waits a full window again after each change (the cooldown)", () => {
    const a = new Autoscaler(() => policy);
    const first = feed(a, 0, 2000, 1, { busy: 1, waiting: 0 });
    const second = feed(a, first.at + 250, 2000, 2, { busy: 1, waiting: 0 });
    assert.ok(second.at - first.at >= policy.upAfterMs, `${second.at - first.at} ms apart`);
  });

  it("never goes above workers_max or below workers_min", () => {
    const a = new Autoscaler(() => policy);
    assert.equal(feed(a, 0, 10_000, 4, { busy: 1, waiting: 9 }), null);
    assert.equal(feed(a, 20_000, 10_000, 1, { busy: 0, waiting: 0 }), null);
  });

  it("retires a worker only when the load on one fewer stays under the margin", () => {
    // 3 workers at 0.5: 0.75 on 2, above 0.8 x 0.75 = 0.6: they stay.
    const stay = new Autoscaler(() => policy);
    assert.equal(feed(stay, 0, 10_000, 3, { busy: 0.5, waiting: 0 }), null);
    // At 0.35: 0.525 on 2, under 0.6: one goes, after the down window.
    const go = new Autoscaler(() => policy);
    const d = feed(go, 0, 10_000, 3, { busy: 0.35, waiting: 0 });
    assert.equal(d.to, 2);
    assert.equal(d.reason, "scale_down");
    assert.equal(d.at, policy.downAfterMs);
    assert.ok(0.35 * 1.5 < policy.upAt * DOWN_MARGIN);
  });

  it("a pool that was not steady waits a full window from then", () => {
    const a = new Autoscaler(() => policy);
    feed(a, 0, 750, 1, { busy: 1, waiting: 0 });
    a.restart(800);
    assert.equal(a.sample(1000, 1, { busy: 1, waiting: 0 }), null);
    assert.equal(feed(a, 1050, 2000, 1, { busy: 1, waiting: 0 }).at, 1800);
  });

  it("brings a target outside new bounds back at once", () => {
    const a = new Autoscaler(() => ({ ...policy, min: 2 }));
    assert.deepEqual(
      [a.sample(0, 1, { busy: 0, waiting: 0 })?.to, a.sample(0, 6, { busy: 0, waiting: 0 })?.to],
      [2, 4],
    );
  });

  it("reads event-loop utilization for async workers and in-flight over capacity for the others", () => {
    const w = (inFlight, capacity, eventLoopUtilization) => ({ inFlight, capacity, eventLoopUtilization });
    const running = [w(1, 1, 0.1), w(0, 1, 0.3)];
    assert.equal(poolPressure(running, "sync", 0).busy, 0.5);
    assert.equal(poolPressure(running, "async", 0).busy, 0.2);
    assert.equal(poolPressure([w(9, 4, 0)], "thread", 2).busy, 1);
    assert.deepEqual(poolPressure([], "sync", 3), { busy: 0, waiting: 3 });
  });
});
