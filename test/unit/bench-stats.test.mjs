// The benchmark's statistics: a wrong interval would make a noisy result read as a real one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { median, pairedRatio, t95 } from "../../bench/lib/stats.mjs";

test("pairedRatio: a constant ratio has that ratio and a zero-width interval", () => {
  const q = pairedRatio([200, 400, 300], [100, 200, 150]);
  assert.equal(q.ratio.toFixed(12), (2).toFixed(12));
  assert.equal(q.low.toFixed(12), (2).toFixed(12));
  assert.equal(q.high.toFixed(12), (2).toFixed(12));
  assert.equal(q.n, 3);
});

test("pairedRatio: geometric mean of the per-round ratios, t interval on their logarithms", () => {
  // Ratios 1.1 and 0.9: geometric mean sqrt(0.99); log sd = |ln 1.1 - ln 0.9| / sqrt 2.
  const q = pairedRatio([110, 90], [100, 100]);
  assert.ok(Math.abs(q.ratio - Math.sqrt(0.99)) < 1e-12);
  const sd = Math.abs(Math.log(1.1) - Math.log(0.9)) / Math.SQRT2;
  const half = (12.706 * sd) / Math.SQRT2;
  assert.ok(Math.abs(q.low - Math.sqrt(0.99) * Math.exp(-half)) < 1e-9);
  assert.ok(Math.abs(q.high - Math.sqrt(0.99) * Math.exp(half)) < 1e-9);
  assert.ok(Math.abs(q.min - 0.9) < 1e-12 && Math.abs(q.max - 1.1) < 1e-12);
});

test("pairedRatio: the interval narrows as rounds are added", () => {
  const values = [];
  const base = [];
  const widths = [];
  for (let i = 0; i < 40; i++) {
    values.push(100 + (i % 2 ? 5 : -5));
    base.push(100);
    if (i === 3 || i === 39) {
      const q = pairedRatio(values, base);
      widths.push(q.high - q.low);
    }
  }
  assert.ok(widths[1] < widths[0] / 3, `widths ${widths}`);
});

test("pairedRatio: lists that do not pair up are refused", () => {
  assert.throws(() => pairedRatio([1, 2], [1]));
  assert.throws(() => pairedRatio([], []));
});

test("t95 and median", () => {
  assert.equal(t95(1), 12.706);
  assert.equal(t95(19), 2.093);
  assert.equal(t95(500), 1.96);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});
