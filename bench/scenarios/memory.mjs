// Resident memory per worker and of the master: gpe-server (with and without the stall thread),
// PM2 and bare node:cluster, 4 workers each. Targets: a worker at most 10 MB over bare and no more
// than PM2's, the master at most 80 MB.
import { childPids, residentBytes, sleep, treeCpuSeconds } from "../../support/processes.mjs";
import { bare, gpe, pm2 } from "../lib/competitors.mjs";
import { get } from "../lib/http.mjs";
import { fmt, mean, report } from "../lib/report.mjs";

export async function run() {
  const b = await bare(4);
  const g = await gpe(4, ["-k", "async"]);
  // The timeout diagnostics' stall thread is most of a worker's overhead: measured without it too.
  const lean = await gpe(4, ["-k", "async", "--no-timeout-diagnostics"]);
  // PM2's cluster mode on the same app: its workers are the children of pm2-runtime (its daemon).
  const p = await pm2(4);
  try {
    for (let i = 0; i < 800; i++) await get(`${[b.url, g.url, lean.url, p.url][i % 4]}/`);
    await sleep(6000); // a sampling round of the master, a flush of every worker
    const bareWorkers = mean(childPids(b.pid).map(residentBytes));
    const gpeWorkers = mean(childPids(g.pid).map(residentBytes));
    const leanWorkers = mean(childPids(lean.pid).map(residentBytes));
    const pm2Pids = childPids(p.pid);
    const pm2Workers = mean(pm2Pids.map(residentBytes));
    report(
      "memory: PM2's per-worker overhead, same app",
      `${fmt((pm2Workers - bareWorkers) / 1048576, 1)} MiB (PM2 worker ${fmt(pm2Workers / 1048576, 1)} MiB over ${pm2Pids.length} workers vs bare ${fmt(bareWorkers / 1048576, 1)} MiB)`,
    );
    report(
      "memory: per-worker overhead, gpe-server against PM2",
      `${fmt((gpeWorkers - bareWorkers) / 1048576, 1)} vs ${fmt((pm2Workers - bareWorkers) / 1048576, 1)} MiB`,
      "≤ PM2's",
      gpeWorkers <= pm2Workers,
    );
    const master = residentBytes(g.pid);
    report(
      "memory: gpe-server master RSS",
      `${fmt(master / 1048576, 1)} MiB (bare node:cluster primary ${fmt(residentBytes(b.pid) / 1048576, 1)} MiB)`,
      "≤ 80 MB",
      master <= 80e6,
    );
    // An idle server should not keep waking up: CPU over 10 s of no traffic, master and workers,
    // once the traffic's after-effects (JIT, GC) have settled.
    await sleep(10_000);
    const before = [treeCpuSeconds(b.pid), treeCpuSeconds(g.pid)];
    await sleep(10_000);
    const idle = [treeCpuSeconds(b.pid) - before[0], treeCpuSeconds(g.pid) - before[1]].map((x) => (x / 10) * 100);
    report(
      "idle CPU (4 workers and their master, 10 s without traffic)",
      `gpe-server ${fmt(idle[1])} % of a core, bare node:cluster ${fmt(idle[0])} %`,
    );
    report(
      "memory: per-worker overhead",
      `${fmt((gpeWorkers - bareWorkers) / 1048576, 1)} MiB (gpe worker ${fmt(gpeWorkers / 1048576, 1)} MiB vs bare ${fmt(bareWorkers / 1048576, 1)} MiB)`,
      "≤ 10 MB",
      gpeWorkers - bareWorkers <= 10e6,
    );
    report(
      "memory: per-worker overhead, --no-timeout-diagnostics",
      `${fmt((leanWorkers - bareWorkers) / 1048576, 1)} MiB (gpe worker ${fmt(leanWorkers / 1048576, 1)} MiB)`,
      "≤ 10 MB",
      leanWorkers - bareWorkers <= 10e6,
    );
  } finally {
    await b.stop();
    await g.stop();
    await lean.stop();
    await p.stop();
  }
}
