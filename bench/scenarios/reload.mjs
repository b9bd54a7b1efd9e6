// HUP under load: requests failed during a reload (target 0) and the throughput around it.
import { gpe } from "../lib/competitors.mjs";
import { wrk, wrkAsync } from "../lib/load.mjs";
import { fmt, report } from "../lib/report.mjs";

export async function run() {
  for (const [label, close] of [
    ["keep-alive", false],
    ["Connection: close", true],
  ]) {
    const g = await gpe(4, ["-k", "async"]);
    try {
      const baseline = wrk({ url: `${g.url}/`, connections: 16, close });
      const run = wrkAsync({ url: `${g.url}/`, connections: 16, duration: 20, close });
      let hups = 0;
      const timer = setInterval(() => {
        process.kill(g.pid, "SIGHUP");
        hups++;
      }, 2000);
      const r = await run;
      clearInterval(timer);
      report(
        `reload under load (${label}): HUP every 2 s for 20 s, 4 async workers`,
        `${hups} reloads, ${r.failed} failed of ${r.total} (${r.socketErrors}); p99 ${fmt(r.p99, 1)} ms vs ${fmt(baseline.p99, 1)} ms without reloads`,
        "0 failed",
        r.failed === 0,
      );
    } finally {
      await g.stop();
    }
  }
}
