// Keep-alive throughput of the async worker against bare node:cluster at 2 to 32 workers, with a
// second bare server as this run's noise floor.
import { bare, gpe, promclient } from "../lib/competitors.mjs";
import { throughput, warmup } from "../lib/load.mjs";
import { cpuOf, fmt, report, rpsOf, spread } from "../lib/report.mjs";
import { alternate } from "../lib/rounds.mjs";
import { median, pairedRatio } from "../lib/stats.mjs";

export async function run() {
  // 8 and 32 workers (more workers than cores, as the metrics store's issue asks): bare and gpe
  // async only, to keep the suite's length in bounds. At 2 and 4 workers a second, identical
  // bare server runs too: how far it lands from 1.000 is the noise floor of this very run.
  for (const workers of (process.env.BENCH_KA_WORKERS ?? "2,4,8,32").split(",").map(Number)) {
    const few = workers <= 4;
    const r = await alternate(
      [
        ["bare", () => bare(workers)],
        ...(few
          ? [
              ["bare again", () => bare(workers)],
              ["prom-client", () => promclient(workers)],
            ]
          : []),
        ["gpe async", () => gpe(workers, ["-k", "async"])],
        ...(few ? [["gpe sync", () => gpe(workers, ["-k", "sync", "--keep-alive", "2"])]] : []),
      ],
      (c) => throughput(c, {}),
      { warmup: warmup({}) },
    );
    const base = rpsOf(r, "bare");
    for (const name of few ? ["bare again", "prom-client", "gpe async", "gpe sync"] : ["gpe async"]) {
      const q = pairedRatio(rpsOf(r, name), base);
      const ours = name.startsWith("gpe");
      report(
        `keep-alive, ${workers} workers, ${name}`,
        `${fmt(q.ratio, 3)} × bare (${spread(q)}; ${Math.round(median(rpsOf(r, name)))} vs ${Math.round(median(base))} req/s; CPU ${fmt(cpuOf(r, name), 1)} vs ${fmt(cpuOf(r, "bare"), 1)} µs a request)`,
        ours ? "≥ 0.98" : "",
        ours ? q.ratio >= 0.98 : null,
      );
    }
  }
}
