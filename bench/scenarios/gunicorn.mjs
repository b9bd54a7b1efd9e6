// gpe-server against gunicorn with prometheus_client's multiprocess mode, 4 workers each (skipped
// without gunicorn).
import { HAVE_GUNICORN, gpe, gunicorn } from "../lib/competitors.mjs";
import { throughput, warmup } from "../lib/load.mjs";
import { cpuOf, fmt, report, rpsOf, spread } from "../lib/report.mjs";
import { alternate } from "../lib/rounds.mjs";
import { median, pairedRatio } from "../lib/stats.mjs";

export async function run() {
  if (!HAVE_GUNICORN) {
    console.log("gunicorn scenario skipped: apt-get install -y gunicorn python3-prometheus-client");
  } else {
    const r = await alternate(
      [
        ["gunicorn", () => gunicorn(4)],
        ["gpe async", () => gpe(4, ["-k", "async"])],
      ],
      (c) => throughput(c, {}),
      { warmup: warmup({}) },
    );
    const q = pairedRatio(rpsOf(r, "gpe async"), rpsOf(r, "gunicorn"));
    report(
      "vs gunicorn + prometheus_client (4 sync workers, multiprocess)",
      `${fmt(q.ratio, 2)} × (${spread(q, 2)}; ${Math.round(median(rpsOf(r, "gpe async")))} vs ${Math.round(median(rpsOf(r, "gunicorn")))} req/s; CPU ${fmt(cpuOf(r, "gpe async"), 1)} vs ${fmt(cpuOf(r, "gunicorn"), 1)} µs a request)`,
      "≥ 5",
      q.ratio >= 5,
    );
  }
}
