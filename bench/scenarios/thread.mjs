// The thread worker: 2 threads against 1 on a CPU-bound handler (the threads must scale).
import { gpe } from "../lib/competitors.mjs";
import { warmup, wrk } from "../lib/load.mjs";
import { fmt, report, spread } from "../lib/report.mjs";
import { alternate } from "../lib/rounds.mjs";
import { median, pairedRatio } from "../lib/stats.mjs";

export async function run() {
  const r = await alternate(
    [
      ["1 thread", () => gpe(1, ["-k", "thread", "--threads", "1"])],
      ["2 threads", () => gpe(1, ["-k", "thread", "--threads", "2"])],
    ],
    (c) => wrk({ url: `${c.url}/cpu?ms=5`, connections: 8 }).rps,
    { warmup: warmup({ connections: 8 }, "/cpu?ms=5") },
  );
  const q = pairedRatio(r.get("2 threads"), r.get("1 thread"));
  report(
    "thread worker, CPU-bound, 1 process × 2 threads vs × 1",
    `${fmt(q.ratio, 2)} × (${spread(q, 2)}; ${Math.round(median(r.get("2 threads")))} vs ${Math.round(median(r.get("1 thread")))} req/s)`,
    "≥ 1.7",
    q.ratio >= 1.7,
  );
}
