// The restart policy: backoff, max_restarts and min_uptime.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CrashBackoff } from "../../../dist/arbiter/crash-backoff.js";

describe("restart policy", () => {
  const policy = { minUptimeMs: 10_000, firstDelayMs: 100 };
  it("doubles restart_delay for each unstable start in a row and gives up at max_restarts", () => {
    const b = new CrashBackoff(() => policy);
    const t = 1_000_000;
    assert.deepEqual(
      [1, 2, 3]
        .map((i) => b.crashed(1, t, 3, t + i * 10))
        .map(({ inARow, delayMs, giveUp }) => [inARow, delayMs, !!giveUp]),
      [
        [1, 100, false],
        [2, 200, false],
        [3, 400, true],
      ],
    );
  });
  it("forgets the run once a worker lived min_uptime, and never gives up with max_restarts 0", () => {
    const b = new CrashBackoff(() => policy);
    for (let i = 0; i < 50; i++) assert.equal(b.crashed(2, 0, 0, 5).giveUp, null);
    assert.deepEqual(b.crashed(2, 0, 3, 10_000), { inARow: 0, delayMs: 0, giveUp: null });
    assert.equal(b.waiting(2, 10_001), false);
  });
  it("caps the delay at 10 s, or at restart_delay when that is longer", () => {
    const b = new CrashBackoff(() => ({ minUptimeMs: 10_000, firstDelayMs: 15_000 }));
    assert.equal(b.crashed(1, 0, 0, 1).delayMs, 15_000);
    assert.equal(b.crashed(1, 0, 0, 2).delayMs, 15_000);
  });
});
