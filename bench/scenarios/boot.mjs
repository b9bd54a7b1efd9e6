// Fork to serving: a worker's boot time, and 100 recycles (--max-requests 1) against bare Node
// starts. Target: 100 recycles within 10 s.
import { spawnSync } from "node:child_process";
import { bootTimes, gpe } from "../lib/competitors.mjs";
import { get } from "../lib/http.mjs";
import { fmt, report } from "../lib/report.mjs";
import { median } from "../lib/stats.mjs";

export async function run() {
  // How long a worker takes from fork to serving, and what it costs recycling: 100 requests one at
  // a time to 2 sync workers with --max-requests 1, so that every request ends its worker.
  const bareStart = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, ["-e", "0"]);
    bareStart.push(performance.now() - t0);
  }
  const forkToReady = [];
  for (let i = 0; i < 5; i++) {
    const g = await gpe(2, ["-k", "sync", "--log-level", "debug"], { capture: true });
    await g.stop();
    forkToReady.push(...bootTimes(g.log()));
  }
  report(
    "boot: a worker from fork to ready (2 starting together)",
    `median ${fmt(median(forkToReady), 0)} ms over ${forkToReady.length} workers; bare \`node -e 0\` ${fmt(median(bareStart), 0)} ms`,
  );
  // The stall thread of the timeout diagnostics boots with every worker: the last row shows what
  // recycling costs without it.
  for (const [label, app, extra] of [
    ["the bench app (imports prom-client)", "hello.mjs", []],
    ["a plain handler", "plain.mjs", []],
    ["the bench app, --no-timeout-diagnostics", "hello.mjs", ["--no-timeout-diagnostics"]],
  ]) {
    // Three runs each, the median reported: one run on a shared 2-core machine varies by a third.
    const runs = [];
    let answered = 0;
    for (let run = 0; run < 3; run++) {
      const g = await gpe(2, ["-k", "sync", "--max-requests", "1", ...extra], { app });
      try {
        const t0 = performance.now();
        for (let i = 0; i < 100; i++) if ((await get(`${g.url}/`)) === 200) answered++;
        runs.push((performance.now() - t0) / 1000);
      } finally {
        await g.stop();
      }
    }
    const seconds = median(runs);
    report(
      `boot: 100 requests one at a time, 2 sync workers, --max-requests 1, ${label}`,
      `median ${fmt(seconds, 2)} s of 3 runs (${runs.map((r) => fmt(r, 2)).join(", ")}; ${answered} of 300 answered 200)`,
      app === "hello.mjs" && extra.length === 0 ? "≤ 10 s" : "",
      app === "hello.mjs" && extra.length === 0 ? seconds <= 10 : null,
    );
  }
}
