// A mix of instant and 100 ms requests at a fixed rate: the fast requests' p99 shows whether a
// busy worker is given new work while another is idle.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { bare, gpe } from "../lib/competitors.mjs";
import { fmt, report } from "../lib/report.mjs";
import { alternate } from "../lib/rounds.mjs";
import { DURATION, HERE, MIXED_ROUNDS } from "../lib/settings.mjs";
import { median } from "../lib/stats.mjs";

export async function run() {
  // 1 request in 100 burns 100 ms of CPU; the rest are instant. A worker busy with a slow one
  // must not be given new work while another is idle. Open loop at a fixed rate below saturation
  // (the slow requests alone keep a quarter of the 2 cores busy), every request on a new
  // connection. The p99 compared is the fast requests' own: with exactly 1 % slow, the p99 of
  // all requests is a slow one's, whoever dispatches. Load: bench/open-loop.mjs (wrk paces only
  // by idling connections it has already opened).
  const rate = Number(process.env.BENCH_MIXED_RATE ?? 500);
  const seconds = Math.max(DURATION, 10);
  const r = await alternate(
    [
      ["cluster round-robin", () => bare(4)],
      ["gpe sync", () => gpe(4, ["-k", "sync"])],
      ["gpe async", () => gpe(4, ["-k", "async"])],
    ],
    async (c) => {
      const out = spawnSync(process.execPath, [join(HERE, "open-loop.mjs"), c.url, String(rate), String(seconds)], {
        encoding: "utf8",
      }).stdout;
      return JSON.parse(out);
    },
    { rounds: MIXED_ROUNDS },
  );
  const p99 = (name) => median(r.get(name).map((x) => x.fastP99));
  const rr = p99("cluster round-robin");
  const rrAll = median(r.get("cluster round-robin").map((x) => x.allP99));
  for (const name of ["gpe sync", "gpe async"]) {
    const ratio = p99(name) / rr;
    const runs = r.get(name);
    const errors = runs.reduce((a, x) => a + x.errors + x.unfinished, 0);
    report(
      `mixed load at ${rate} req/s, fast requests' p99, 4 workers, ${name}`,
      `${fmt(p99(name), 1)} ms = ${fmt(ratio, 2)} × round-robin's ${fmt(rr, 1)} ms (median of ${MIXED_ROUNDS} rounds; p99 of all requests ${fmt(median(runs.map((x) => x.allP99)), 1)} vs ${fmt(rrAll, 1)} ms; ${errors} failed)`,
      name === "gpe sync" ? "≤ 0.5" : "",
      name === "gpe sync" ? ratio <= 0.5 : null,
    );
  }
}
