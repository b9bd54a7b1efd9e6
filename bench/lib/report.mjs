// The results table, and how a paired ratio is printed.
import { median } from "./stats.mjs";

export const rows = [];
export const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
export function report(scenario, value, target = "", met = null) {
  rows.push({ scenario, value, target, met: met === null ? "" : met ? "met" : "NOT met" });
  console.log(`${scenario}: ${value}${target ? `  [target ${target}: ${met ? "met" : "NOT met"}]` : ""}`);
}

export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** How sure a paired ratio is: its 95 % interval, the rounds, and the single rounds' extremes. */
export const spread = (q, digits = 3) =>
  `95 % CI ${fmt(q.low, digits)}-${fmt(q.high, digits)} over ${q.n} rounds, single rounds ${fmt(q.min, digits)}-${fmt(q.max, digits)}`;

export const rpsOf = (r, name) => r.get(name).map((x) => x.rps);
export const cpuOf = (r, name) => median(r.get(name).map((x) => x.cpuUs));
