// Scrape latency under load at 200 and 1000 series, 2 to 32 workers, with and without the
// priority gap, against prom-client's cluster aggregator.
import { spawn } from "node:child_process";
import { sleep } from "../../support/processes.mjs";
import { gpe } from "../lib/competitors.mjs";
import { wrk, wrkArgs } from "../lib/load.mjs";
import { fmt, report } from "../lib/report.mjs";
import { gaugeValue, raisedScrapeLatency, scrapeLatency } from "../lib/scrapes.mjs";
import { median } from "../lib/stats.mjs";

export async function run() {
  // The defaults: --worker-nice auto, which as root raises the master 10 above its workers.
  const combos = [200, 1000].flatMap((series) => [2, 8, 32].map((workers) => ({ series, workers, off: false })));
  // The two with targets again with --worker-nice 0 (every priority as started, as gunicorn and
  // PM2 run): what the priority gap buys, and what it costs in throughput.
  combos.push({ series: 200, workers: 8, off: true }, { series: 1000, workers: 32, off: true });
  const rpsByCombo = new Map();
  const defaultNote = process.getuid?.() === 0 ? "" : " (not root: the master is not raised)";
  for (const { series, workers, off } of combos) {
    {
      const extra = off ? ["--worker-nice", "0"] : [];
      const g = await gpe(workers, ["-k", "async", ...extra], { env: { BENCH_SERIES: String(series) } });
      try {
        await sleep(1500);
        const idle = await scrapeLatency(g.metricsUrl);
        // Three short runs, the median kept: one run once came out 250 times lower than a repeat.
        const rps = median([0, 1, 2].map(() => wrk({ url: `${g.url}/`, connections: 16 }).rps));
        rpsByCombo.set(`${workers}/${series}/${off}`, rps);
        const load = spawn("wrk", wrkArgs({ url: `${g.url}/`, connections: 16, duration: 600 }), { stdio: "ignore" });
        await sleep(1000);
        const busy = await scrapeLatency(g.metricsUrl);
        const raised = await raisedScrapeLatency(g.metricsUrl);
        // How late the master's timers run under that load: its heartbeat checks and signal handling.
        const lag = await gaugeValue(g.metricsUrl, 'gunicorn_master_event_loop_delay_seconds{stat="p99"}');
        load.kill("SIGKILL");
        const target = off
          ? ["", null]
          : workers === 8 && series === 200
            ? ["≤ 30 ms", busy.p99 <= 30]
            : workers === 32 && series === 1000
              ? ["≤ 100 ms", busy.p99 <= 100]
              : ["", null];
        const base = rpsByCombo.get(`${workers}/${series}/false`);
        const offNote = off
          ? `; throughput ${fmt(rps / base, 3)} × the defaults' (median of three 2 s wrk runs each)`
          : "";
        report(
          `scrape, ${workers} workers × ${series} series${off ? ", --worker-nice 0" : defaultNote}`,
          `idle median ${fmt(idle.median)} ms, p99 ${fmt(idle.p99)} ms; under load median ${fmt(busy.median)} ms, p99 ${fmt(busy.p99)} ms${raised ? ` (scraper at nice -10: median ${fmt(raised.median)} ms, p99 ${fmt(raised.p99)} ms)` : ""}; the master's event-loop delay under load p99 ${fmt(lag * 1000)} ms${offNote}`,
          target[0] ? `p99 under load ${target[0]}` : "",
          target[1],
        );
      } finally {
        await g.stop();
      }
    }
  }
}
