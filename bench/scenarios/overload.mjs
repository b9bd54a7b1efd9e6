// Overload: open-loop arrivals (they do not slow down with the server) at 1, 2 and 4 times the
// measured capacity of 2 workers, a handler of 5 ms of CPU, clients that give up after 1 s.
// gpe-server with --admission and with its defaults, PM2's cluster mode and bare node:cluster.
// Targets: with admission, at 2 x and 4 x, goodput (answers within the deadline per second) at
// least 90 % of capacity, successful p99 under the deadline, and the 503s answered within 50 ms.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { bare, gpe, pm2 } from "../lib/competitors.mjs";
import { wrk } from "../lib/load.mjs";
import { fmt, report } from "../lib/report.mjs";
import { HERE } from "../lib/settings.mjs";

const LOAD = join(HERE, "..", "support", "overload-load.mjs");
const PATH = "/cpu?ms=5";
const SECONDS = Number(process.env.BENCH_OVERLOAD_SECONDS ?? 5);
const DEADLINE_MS = 1000;

function offer(c, rate) {
  const out = spawnSync(
    process.execPath,
    [LOAD, `${c.url}${PATH}`, String(rate), String(SECONDS), String(DEADLINE_MS)],
    {
      encoding: "utf8",
    },
  ).stdout;
  return JSON.parse(out);
}

export async function run() {
  const competitors = [
    ["gpe --admission", () => gpe(2, ["--admission"])],
    ["gpe defaults", () => gpe(2)],
    ["pm2", () => pm2(2, { app: "hello.mjs" })],
    ["bare", () => bare(2, { app: "hello.mjs" })],
  ];
  // Capacity: what 2 workers serve in a closed loop (a few connections, no queue), measured on
  // bare node:cluster; every competitor is offered the same rates.
  const probe = await bare(2, { app: "hello.mjs" });
  let capacity;
  try {
    capacity = wrk({ url: `${probe.url}${PATH}`, connections: 4, duration: 3 }).rps;
  } finally {
    await probe.stop();
  }
  report("overload: capacity of 2 workers, 5 ms of CPU a request", `${Math.round(capacity)} requests/s`);
  for (const [name, startOne] of competitors) {
    const c = await startOne();
    try {
      for (const times of [1, 2, 4]) {
        const r = offer(c, Math.round(capacity * times));
        const share = r.goodput / capacity;
        const admission = name === "gpe --admission" && times > 1;
        report(
          `overload ${times} x, ${name}: goodput`,
          `${fmt(share * 100, 0)} % of capacity (${Math.round(r.goodput)}/s; ok p99 ${fmt(r.okP99, 0)} ms; 503 ${r.shed} (p50 ${fmt(r.shedP50, 0)} ms, p99 ${fmt(r.shedP99, 0)} ms); timed out ${r.timedOut}; late ${r.late}; errors ${r.errors})`,
          admission ? "≥ 90 %, p99 < 1 s, 503 p50 ≤ 50 ms" : "",
          admission ? share >= 0.9 && r.okP99 < DEADLINE_MS && !(r.shedP50 > 50) : null,
        );
      }
    } finally {
      await c.stop();
    }
  }
}
