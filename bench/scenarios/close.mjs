// Connection: close throughput at 2 and 4 workers: bare node:cluster (round-robin and SCHED_NONE),
// prom-client's cluster aggregator and gpe-server's worker types.
import { CLOSE_HOSTS, SCHED_NONE, bare, gpe, promclient } from "../lib/competitors.mjs";
import { throughput, warmup } from "../lib/load.mjs";
import { cpuOf, fmt, report, rpsOf, spread } from "../lib/report.mjs";
import { alternate } from "../lib/rounds.mjs";
import { median, pairedRatio } from "../lib/stats.mjs";

export async function run() {
  for (const workers of [2, 4]) {
    const r = await alternate(
      [
        ["bare", () => bare(workers, { hosts: CLOSE_HOSTS })],
        ["bare sched none", () => bare(workers, { env: SCHED_NONE, hosts: CLOSE_HOSTS })],
        ["prom-client", () => promclient(workers, { hosts: CLOSE_HOSTS })],
        ["gpe async", () => gpe(workers, ["-k", "async"], { hosts: CLOSE_HOSTS })],
        ["gpe sync", () => gpe(workers, ["-k", "sync"], { hosts: CLOSE_HOSTS })],
      ],
      (c) => throughput(c, { close: true }),
      { warmup: warmup({ close: true }) },
    );
    // The best bare variant is the one faster over the whole run. (Taking the faster of the two in
    // each round instead would pick whichever was luckier, and read several percent high.)
    const rr = rpsOf(r, "bare");
    const none = rpsOf(r, "bare sched none");
    const noneVsRr = pairedRatio(none, rr);
    const bestName = noneVsRr.ratio > 1 ? "bare sched none" : "bare";
    const best = rpsOf(r, bestName);
    report(
      `Connection: close, ${workers} workers, bare sched none`,
      `${fmt(noneVsRr.ratio, 3)} × bare round-robin (${spread(noneVsRr)}); best bare: ${bestName}`,
    );
    for (const name of ["prom-client", "gpe async", "gpe sync"]) {
      const q = pairedRatio(rpsOf(r, name), best);
      const ours = name.startsWith("gpe");
      report(
        `Connection: close, ${workers} workers, ${name}`,
        `${fmt(q.ratio, 3)} × best bare (${spread(q)}; ${Math.round(median(rpsOf(r, name)))} req/s; rr ${Math.round(median(rr))}, none ${Math.round(median(none))}; CPU ${fmt(cpuOf(r, name), 1)} vs ${fmt(cpuOf(r, bestName), 1)} µs a request)`,
        ours ? "≥ 0.95" : "",
        ours ? q.ratio >= 0.95 : null,
      );
    }
  }
}
