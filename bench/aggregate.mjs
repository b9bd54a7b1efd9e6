// Scrape latency of `gpe-server aggregate` over a fleet in a real redis-server.
//   node bench/aggregate.mjs      (needs redis-server: apt-get install -y redis-server)
// BENCH_INSTANCES (50) hosts x BENCH_SERIES (200) samples each, BENCH_SCRAPES (300) scrapes.
// Two cases: "unchanged" (no host forwarded since the last scrape: parsed snapshots are reused)
// and "all changed" (every host forwarded since the last scrape: the worst case, every value parsed).
import { spawn, spawnSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, sleep } from "./lib.mjs";
import http from "node:http";
import { Redis } from "ioredis";
import { instanceKey } from "../dist/redis/connection.js";
import { FLEET_FORMAT } from "../dist/redis/fleet.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, "..", "bin", "gpe-server.js");
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 50);
const SERIES = Number(process.env.BENCH_SERIES ?? 200);
const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 300);

if (spawnSync("redis-server", ["--version"]).error) {
  console.error("bench: redis-server is missing. Run: apt-get install -y redis-server");
  process.exit(1);
}

function scrape(port) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    http
      .get(`http://127.0.0.1:${port}/metrics`, { agent: false }, (res) => {
        let bytes = 0;
        res.on("data", (d) => (bytes += d.length));
        res.on("end", () =>
          res.statusCode === 200
            ? resolve({ ms: performance.now() - started, bytes })
            : reject(new Error(`status ${res.statusCode}`)),
        );
      })
      .on("error", reject);
  });
}

/** One host's snapshot: a histogram over 4 workers (4 x 17 samples), the rest per-endpoint counters. */
function snapshot(instance, round) {
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
  const histogram = [];
  for (let w = 1; w <= 4; w++) {
    const worker_id = `worker_${w}`;
    buckets.forEach((le, i) => {
      histogram.push({
        metricName: "gunicorn_worker_request_duration_seconds_bucket",
        labels: { worker_id, le },
        value: round + i,
      });
    });
    histogram.push({
      metricName: "gunicorn_worker_request_duration_seconds_bucket",
      labels: { worker_id, le: "+Inf" },
      value: round + 20,
    });
    histogram.push({
      metricName: "gunicorn_worker_request_duration_seconds_sum",
      labels: { worker_id },
      value: round * 0.01,
    });
    histogram.push({
      metricName: "gunicorn_worker_request_duration_seconds_count",
      labels: { worker_id },
      value: round + 20,
    });
  }
  const counters = Array.from({ length: Math.max(0, SERIES - histogram.length) }, (_, i) => ({
    labels: { worker_id: `worker_${(i % 4) + 1}`, method: "GET", status: "200", endpoint: `/api/v1/items/${i}` },
    value: round * 3 + i,
  }));
  return JSON.stringify({
    format: FLEET_FORMAT,
    instance,
    written: Date.now(),
    families: [
      {
        name: "gunicorn_worker_request_duration_seconds",
        help: "Request duration.",
        type: "histogram",
        values: histogram,
      },
      {
        name: "gunicorn_worker_requests_by_endpoint_total",
        help: "Requests by endpoint.",
        type: "counter",
        values: counters,
      },
    ],
  });
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

async function main() {
  const redisPort = await freePort();
  const redisServer = spawn(
    "redis-server",
    ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore", detached: true },
  );
  const metricsPort = await freePort();
  let aggregator;
  const redis = new Redis({ port: redisPort, lazyConnect: true });
  try {
    for (let i = 0; i < 50; i++) {
      try {
        await redis.connect();
        break;
      } catch {
        await sleep(100);
      }
    }
    const write = async (round) => {
      const pipeline = redis.pipeline();
      for (let i = 0; i < INSTANCES; i++)
        pipeline.set(instanceKey("gunicorn", `host-${i}:9090`), snapshot(`host-${i}:9090`, round), "EX", 300);
      await pipeline.exec();
    };
    await write(0);
    aggregator = spawn(
      process.execPath,
      [
        CLI,
        "aggregate",
        "--redis-port",
        String(redisPort),
        "--metrics-port",
        String(metricsPort),
        "--metrics-bind",
        "127.0.0.1",
        "--log-level",
        "warning",
      ],
      { stdio: "inherit", detached: true },
    );
    let first;
    for (let i = 0; i < 100 && !first; i++) first = await scrape(metricsPort).catch(() => sleep(100).then(() => null));
    if (!first) throw new Error("the aggregator did not answer");
    console.log(
      `aggregate: ${INSTANCES} instances x ${SERIES} samples, ${(first.bytes / 1024).toFixed(0)} KiB per scrape, ${SCRAPES} scrapes per case`,
    );
    for (const changed of [false, true]) {
      const times = [];
      for (let i = 0; i < 20; i++) await scrape(metricsPort); // warm-up
      for (let i = 0; i < SCRAPES; i++) {
        if (changed) await write(i + 1);
        times.push((await scrape(metricsPort)).ms);
      }
      times.sort((a, b) => a - b);
      const p99 = percentile(times, 0.99);
      console.log(
        `  ${changed ? "all changed" : "unchanged  "}  median ${percentile(times, 0.5).toFixed(1)} ms  p99 ${p99.toFixed(1)} ms  (target p99 <= 100 ms: ${p99 <= 100 ? "met" : "NOT met"})`,
      );
    }
  } finally {
    redis.disconnect();
    for (const child of [aggregator, redisServer]) {
      try {
        if (child) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

await main();
