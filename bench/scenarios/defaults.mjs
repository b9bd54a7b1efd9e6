// Each tool as its README starts it, 2 workers, keep-alive and Connection: close, wrk and autocannon.
// Targets: gpe-server at least PM2's throughput with keep-alive, at least 1.8 x with Connection: close.
import { CLOSE_HOSTS, LOOPBACK, bare, gpe, pm2 } from "../lib/competitors.mjs";
import { autocannon, throughput, warmup } from "../lib/load.mjs";
import { cpuOf, fmt, report, rpsOf, spread } from "../lib/report.mjs";
import { alternate } from "../lib/rounds.mjs";
import { median, pairedRatio } from "../lib/stats.mjs";

export async function run() {
  // Each tool started the way its README starts it, no tuning flags: gpe-server -w 2 app (the
  // async worker with keep-alive), pm2-runtime start app -i 2, and a plain node:cluster primary.
  for (const [label, close] of [
    ["keep-alive", false],
    ["Connection: close", true],
  ]) {
    const hosts = close ? CLOSE_HOSTS : LOOPBACK;
    const r = await alternate(
      [
        ["bare", () => bare(2, { hosts })],
        ["pm2", () => pm2(2, { hosts })],
        ["gpe", () => gpe(2, [], { hosts })],
      ],
      (c) => throughput(c, { close }),
      { warmup: warmup({ close }) },
    );
    for (const [name, target, base] of [
      ["gpe", close ? "≥ 1.8" : "≥ 1.0", "pm2"],
      ["gpe", "", "bare"],
      ["pm2", "", "bare"],
    ]) {
      const q = pairedRatio(rpsOf(r, name), rpsOf(r, base));
      report(
        `defaults, ${label}, 2 workers, ${name} vs ${base}`,
        `${fmt(q.ratio, 3)} × (${spread(q)}; ${Math.round(median(rpsOf(r, name)))} vs ${Math.round(median(rpsOf(r, base)))} req/s; CPU ${fmt(cpuOf(r, name), 1)} vs ${fmt(cpuOf(r, base), 1)} µs a request)`,
        target,
        target ? q.ratio >= Number(target.slice(2)) : null,
      );
    }
  }
  {
    // The same, measured with autocannon -c 50 (keep-alive), the load tool of Node developers.
    const r = await alternate(
      [
        ["bare", () => bare(2)],
        ["pm2", () => pm2(2)],
        ["gpe", () => gpe(2, [])],
      ],
      (c) => autocannon(c),
      { warmup: (c) => void autocannon(c) },
    );
    for (const [name, target, base] of [
      ["gpe", "≥ 1.0", "pm2"],
      ["gpe", "", "bare"],
    ]) {
      const q = pairedRatio(rpsOf(r, name), rpsOf(r, base));
      report(
        `defaults, autocannon -c 50, 2 workers, ${name} vs ${base}`,
        `${fmt(q.ratio, 3)} × (${spread(q)}; ${Math.round(median(rpsOf(r, name)))} vs ${Math.round(median(rpsOf(r, base)))} req/s)`,
        target,
        target ? q.ratio >= Number(target.slice(2)) : null,
      );
    }
  }
}
