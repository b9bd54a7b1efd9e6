// The per-request CPU cost with little noise: one worker and its master pinned to CPU 0, wrk to
// CPU 1, gpe-server against bare node:cluster.
import { spawnSync } from "node:child_process";
import { CLOSE_HOSTS, LOOPBACK, SCHED_NONE, bare, gpe } from "../lib/competitors.mjs";
import { throughput, warmup } from "../lib/load.mjs";
import { cpuOf, fmt, report, rpsOf, spread } from "../lib/report.mjs";
import { alternate } from "../lib/rounds.mjs";
import { median, pairedRatio } from "../lib/stats.mjs";

export async function run() {
  // The per-request cost, with far less noise than the scenarios above: one worker and its
  // master on CPU 0, wrk's single thread on CPU 1, so the server sets the pace and no scheduler
  // decides who runs. Bare runs SCHED_NONE, its faster variant with one worker (round-robin
  // passes every new connection through the primary).
  if (spawnSync("taskset", ["-c", "0", "true"]).status !== 0) {
    console.log("pinned scenario skipped: taskset (util-linux) is missing or cannot pin");
  } else {
    for (const [label, close] of [
      ["keep-alive", false],
      ["Connection: close", true],
    ]) {
      const hosts = close ? CLOSE_HOSTS : LOOPBACK;
      const opts = { close, connections: 32, cpu: 1 };
      const r = await alternate(
        [
          ["bare", () => bare(1, { env: SCHED_NONE, hosts, cpu: 0 })],
          ["gpe async", () => gpe(1, ["-k", "async"], { hosts, cpu: 0 })],
        ],
        (c) => throughput(c, opts),
        { warmup: warmup(opts) },
      );
      const q = pairedRatio(rpsOf(r, "gpe async"), rpsOf(r, "bare"));
      const cost = pairedRatio(
        r.get("gpe async").map((x) => x.cpuUs),
        r.get("bare").map((x) => x.cpuUs),
      );
      report(
        `pinned, ${label}, 1 worker on its own core`,
        `gpe async ${fmt(q.ratio, 3)} × bare (${spread(q)}; ${Math.round(median(rpsOf(r, "gpe async")))} vs ${Math.round(median(rpsOf(r, "bare")))} req/s); CPU a request ${fmt(cost.ratio, 3)} × (${fmt(cpuOf(r, "gpe async"), 1)} vs ${fmt(cpuOf(r, "bare"), 1)} µs, 95 % CI ${fmt(cost.low, 3)}-${fmt(cost.high, 3)})`,
      );
    }
  }
}
