// Metrics overhead and scrape latency, measured against bare node:cluster in the same run.
//   node bench/run.mjs            (needs wrk: apt-get install -y wrk)
// Prints throughput ratios (gpe-server / bare node:cluster) at several worker counts, and
// scrape latency (median, p99) fresh and after 1000 worker restarts. Absolute req/s on a
// shared 2-core machine mean little; the ratios, from alternating runs, are the result.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import http from "node:http";

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, "..", "bin", "gpe-server.js");
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WORKER_COUNTS = (process.env.BENCH_WORKERS ?? "2,8,32").split(",").map(Number);
const RESTARTS = Number(process.env.BENCH_RESTARTS ?? 1000);

if (spawnSync("wrk", ["--version"]).error) {
  console.error("bench: wrk is missing. Run: apt-get install -y wrk");
  process.exit(1);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    }).on("error", reject);
  });
}

async function until(url, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    try {
      if ((await get(url)) === 200) return;
    } catch {}
    await sleep(100);
  }
  throw new Error(`${url} did not come up`);
}

function start(cmd, args, env = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"], detached: true });
  return { child, stop: async () => { try { process.kill(-child.pid, "SIGKILL"); } catch {} await sleep(300); } };
}

function wrk(url, connections = 64) {
  const r = spawnSync("wrk", ["-t2", `-c${connections}`, `-d${DURATION}s`, url], { encoding: "utf8" });
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  if (!m) throw new Error(`wrk failed: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

async function bare(workers) {
  const port = await freePort();
  const s = start(process.execPath, [join(HERE, "bare-cluster.mjs"), String(port), String(workers)]);
  await until(`http://127.0.0.1:${port}/`);
  const rps = wrk(`http://127.0.0.1:${port}/`);
  await s.stop();
  return rps;
}

async function gpe(workers, extra = [], env = {}) {
  const port = await freePort();
  const metricsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "gpe-bench-"));
  const s = start(process.execPath, [CLI, "-w", String(workers), "-b", `127.0.0.1:${port}`, "--metrics-port", String(metricsPort), "--metrics-bind", "127.0.0.1", "--multiproc-dir", dir, "--log-level", "warning", ...extra, join(HERE, "hello.mjs")], env);
  await until(`http://127.0.0.1:${port}/`);
  await until(`http://127.0.0.1:${metricsPort}/metrics`);
  return { port, metricsPort, dir, stop: async () => { await s.stop(); rmSync(dir, { recursive: true, force: true }); } };
}

async function scrapeLatency(metricsPort, n = Number(process.env.BENCH_SCRAPES ?? 1000)) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await get(`http://127.0.0.1:${metricsPort}/metrics`);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(n / 2)], p99: times[Math.floor(n * 0.99)] };
}

const fmt = (x, d = 2) => x.toFixed(d);
const rows = [];

console.log(`# gpe-server bench: node ${process.version}, ${DURATION}s wrk runs (-t2 -c64, keep-alive), ${ROUNDS} alternating rounds`);
for (const workers of process.env.BENCH_SKIP_THROUGHPUT ? [] : WORKER_COUNTS) {
  for (const [label, extra] of [["async", ["-k", "async"]], ["sync, keep-alive on", ["-k", "sync", "--keep-alive", "2"]]]) {
    let bareSum = 0;
    let gpeSum = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so drift on a shared machine hits both alike.
      const order = round % 2 === 0 ? ["bare", "gpe"] : ["gpe", "bare"];
      for (const which of order) {
        if (which === "bare") bareSum += await bare(workers);
        else {
          const g = await gpe(workers, extra);
          gpeSum += wrk(`http://127.0.0.1:${g.port}/`);
          await g.stop();
        }
      }
    }
    rows.push({ scenario: `throughput, ${workers} workers, ${label}`, value: `${fmt(gpeSum / bareSum, 3)} × bare (${Math.round(gpeSum / ROUNDS)} vs ${Math.round(bareSum / ROUNDS)} req/s)` });
    console.log(rows.at(-1));
  }
}

for (const workers of WORKER_COUNTS) {
  const g = await gpe(workers, ["-k", "async"], { BENCH_SERIES: "200" });
  await sleep(1500);
  const idle = await scrapeLatency(g.metricsPort);
  rows.push({ scenario: `scrape, ${workers} workers × 200 series, idle`, value: `median ${fmt(idle.median)} ms, p99 ${fmt(idle.p99)} ms` });
  console.log(rows.at(-1));
  await g.stop();
}

{
  const workers = 8;
  const g = await gpe(workers, ["-k", "async", "--max-requests", "1"], { BENCH_SERIES: "200" });
  await sleep(1500);
  const fresh = await scrapeLatency(g.metricsPort);
  const t0 = Date.now();
  let done = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (done < RESTARTS) {
      done++;
      await get(`http://127.0.0.1:${g.port}/`).catch(() => {});
    }
  }));
  await sleep(1500);
  const after = await scrapeLatency(g.metricsPort);
  const files = spawnSync("sh", ["-c", `ls ${g.dir} | wc -l`], { encoding: "utf8" }).stdout.trim();
  rows.push({ scenario: `scrape after ${RESTARTS} restarts (${workers} workers × 200 series)`, value: `median ${fmt(after.median)} ms, p99 ${fmt(after.p99)} ms = ${fmt(after.p99 / fresh.p99)} × fresh p99 (${fmt(fresh.p99)} ms); ${files} files in the store; restarts took ${((Date.now() - t0) / 1000).toFixed(1)} s` });
  console.log(rows.at(-1));
  await g.stop();
}

console.log("\n| scenario | result |\n|---|---|");
for (const r of rows) console.log(`| ${r.scenario} | ${r.value} |`);
