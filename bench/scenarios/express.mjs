// A small Express app with route parameters under gpe-server, PM2 and bare node:cluster: the cost
// of route templates and metrics on a real framework. Target: at least PM2's throughput, and
// 0.97 x bare. The Fastify scenario runs the same with the same routes.
import { bare, gpe, pm2 } from "../lib/competitors.mjs";
import { autocannon, throughput, warmup } from "../lib/load.mjs";
import { cpuOf, fmt, report, rpsOf, spread } from "../lib/report.mjs";
import { alternate } from "../lib/rounds.mjs";
import { pairedRatio } from "../lib/stats.mjs";

export async function run() {
  await framework("Express", "express-app.mjs");
}

/** `app` (a module of bench/) under each tool, 2 workers, keep-alive. */
export async function framework(name, app) {
  const path = "/users/42/posts/7";
  const r = await alternate(
    [
      ["bare", () => bare(2, { app })],
      ["pm2", () => pm2(2, { app })],
      ["gpe", () => gpe(2, [], { app })],
    ],
    (c) => ({ ...throughput(c, { path }), ac: autocannon(c, { path }).rps }),
    { warmup: warmup({}, path) },
  );
  for (const base of ["bare", "pm2"]) {
    const q = pairedRatio(rpsOf(r, "gpe"), rpsOf(r, base));
    const a = pairedRatio(
      r.get("gpe").map((x) => x.ac),
      r.get(base).map((x) => x.ac),
    );
    // Against PM2: at least even in the median, and no single round far below it (a burst of
    // connections that lands on one worker used to cost a whole round).
    const target = base === "pm2" ? "≥ 1.0, every round ≥ 0.9 (wrk and autocannon)" : "≥ 0.97 (wrk and autocannon)";
    const met =
      base === "pm2"
        ? q.ratio >= 1 && a.ratio >= 1 && q.min >= 0.9 && a.min >= 0.9
        : q.ratio >= 0.97 && a.ratio >= 0.97;
    report(
      `${name}, 2 workers, gpe vs ${base}`,
      `wrk ${fmt(q.ratio, 3)} × (${spread(q)}; CPU ${fmt(cpuOf(r, "gpe"), 1)} vs ${fmt(cpuOf(r, base), 1)} µs a request); autocannon ${fmt(a.ratio, 3)} × (${spread(a)})`,
      target,
      met,
    );
  }
}
