// The benchmark suite: gpe-server against what users would run instead, in the same run,
// alternating, on the same app and worker count. Prints ratios; absolute figures on a shared
// 2-core machine mean little. Each scenario is a file of scenarios/ with its own targets; the
// helpers they share are in lib/ (competitors, load drivers, rounds, statistics, scrapes, the
// report) and ../support/ (process facts, shared with the tests). Needs wrk (apt-get install -y
// wrk); the gunicorn scenario needs gunicorn and python3-prometheus-client and is skipped with a
// message without them.
//   npm run bench                         every scenario (about 40 minutes on 2 cores)
//   BENCH_SCENARIOS=keepalive,scrape npm run bench
// Knobs: BENCH_DURATION (s per wrk run, 2), BENCH_ROUNDS (20; the mixed-load scenario runs at most 5),
// BENCH_SITTINGS (4: how many times, at least, the competitors of a scenario are started afresh;
// raised to a multiple of their number), BENCH_SCRAPES (500), BENCH_RESTARTS (1000),
// BENCH_MIXED_RATE (requests/s of the mixed-load scenario, 500), BENCH_KA_WORKERS (worker counts of the
// keep-alive scenario, 2,4,8,32).
import { spawnSync } from "node:child_process";
import { rows } from "./lib/report.mjs";
import { DURATION, ROUNDS, SITTINGS } from "./lib/settings.mjs";

/** Every scenario, in the order a full run takes them. */
const ALL = [
  "defaults",
  "express",
  "fastify",
  "boot",
  "keepalive",
  "close",
  "pinned",
  "mixed",
  "overload",
  "thread",
  "scrape",
  "restarts",
  "reload",
  "deploy",
  "memory",
  "gunicorn",
];
const chosen = (process.env.BENCH_SCENARIOS ?? ALL.join(",")).split(",");
const unknown = chosen.filter((name) => !ALL.includes(name));
if (unknown.length > 0) {
  console.error(`bench: no scenario ${unknown.join(", ")}; the scenarios are ${ALL.join(", ")}`);
  process.exit(2);
}
if (spawnSync("wrk", ["--version"]).error) {
  console.error("bench: wrk is missing. Run: apt-get install -y wrk");
  process.exit(1);
}

console.log(
  `# gpe-server bench: node ${process.version}, wrk -t2, ${DURATION}s runs, ${ROUNDS} alternating rounds in at least ${SITTINGS} sittings (a multiple of the competitors), ${new Date().toISOString()}`,
);
for (const name of ALL.filter((n) => chosen.includes(n))) {
  const { run } = await import(`./scenarios/${name}.mjs`);
  await run();
}

console.log("\n| scenario | result | target |\n|---|---|---|");
for (const row of rows)
  console.log(`| ${row.scenario} | ${row.value} | ${row.target ? `${row.target}: ${row.met}` : ""} |`);
