// Scrapes of a server whose workers were recycled RESTARTS times against one whose were not: the
// archive keeps the store bounded and scrapes as fast.
import { spawnSync } from "node:child_process";
import { sleep } from "../../support/processes.mjs";
import { gpe } from "../lib/competitors.mjs";
import { get } from "../lib/http.mjs";
import { fmt, report } from "../lib/report.mjs";
import { counterSum, latencies, scrapeTime } from "../lib/scrapes.mjs";
import { RESTARTS, SCRAPES } from "../lib/settings.mjs";

export async function run() {
  // Two servers side by side, alike but for worker restarts: both serve RESTARTS requests, and on
  // one each request ends its worker (max-requests 1). They are then scraped in turn, so that the
  // machine's noise falls on both alike.
  const fresh = await gpe(8, ["-k", "async"], { env: { BENCH_SERIES: "200" } });
  const cycled = await gpe(8, ["-k", "async", "--max-requests", "1"], { env: { BENCH_SERIES: "200" } });
  try {
    // Requests until RESTARTS workers have been replaced (a retiring worker may serve one more).
    const drive = async (g, count) => {
      let sent = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (sent < count) {
            sent++;
            await get(`${g.url}/`).catch(() => {});
          }
        }),
      );
    };
    let requests = 0;
    while ((await counterSum(cycled.metricsUrl, "gunicorn_master_worker_restarts_total")) < RESTARTS) {
      await drive(cycled, 50);
      requests += 50;
    }
    await drive(fresh, requests);
    await sleep(2500); // the last replacements boot; every worker flushes
    const times = { fresh: [], cycled: [] };
    for (let i = 0; i < SCRAPES; i++) {
      times.fresh.push(await scrapeTime(fresh.metricsUrl));
      times.cycled.push(await scrapeTime(cycled.metricsUrl));
    }
    const [f, c] = [latencies(times.fresh), latencies(times.cycled)];
    const files = spawnSync("sh", ["-c", `ls ${cycled.dir} | wc -l`], { encoding: "utf8" }).stdout.trim();
    const restarts = await counterSum(cycled.metricsUrl, "gunicorn_master_worker_restarts_total");
    const ratio = c.p99 / f.p99;
    report(
      `scrape after ${RESTARTS} restarts (8 workers × 200 series)`,
      `p99 ${fmt(c.p99)} ms = ${fmt(ratio)} × a fresh twin's ${fmt(f.p99)} ms (medians ${fmt(c.median)} / ${fmt(f.median)} ms; ${SCRAPES} scrapes each, in turn); ${restarts} restarts, ${files} files in the store`,
      "≤ 1.2 × fresh",
      ratio <= 1.2,
    );
  } finally {
    await fresh.stop();
    await cycled.stop();
  }
}
