// The store and the metrics server against the real CLI.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { gunzipSync } from "node:zlib";
import { startServer, stopAll, request, waitFor, sleep, loadLoop, parseMetrics } from "../helpers/harness.mjs";

after(stopAll);

const countedRequests = async (s) => (await s.scrape()).sum("gunicorn_worker_requests_total");

describe("metrics", () => {
  it("counts exactly K requests spread over the workers", async () => {
    const s = await startServer({ workers: 3 });
    const K = 60;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let i = 0; i < K / 6; i++) assert.equal((await request(s.url("/"))).status, 200);
      }),
    );
    // Exact once every worker has flushed (0.2 s interval in tests); never more than K.
    const m = await waitFor(
      async () => {
        const m = await s.scrape();
        assert.ok(m.sum("gunicorn_worker_requests_total") <= K);
        return m.sum("gunicorn_worker_requests_total") === K && m;
      },
      { timeout: 5000, what: `${K} requests counted` },
    );
    assert.equal(m.sum("gunicorn_worker_request_duration_seconds_count"), K);
    assert.ok(m.find("gunicorn_worker_requests_total").length >= 2, "requests landed on several workers");
    for (const sample of m.find("gunicorn_worker_requests_total"))
      assert.match(sample.labels.worker_id, /^worker_[123]$/);
  });

  it("never lets a merged counter go down when a worker is SIGKILLed under load", async () => {
    const s = await startServer({ workers: 2 });
    const load = loadLoop(s.url(""), { concurrency: 4 });
    let previous = 0;
    let kills = 0;
    for (let round = 0; round < 20; round++) {
      if (round % 5 === 2) {
        const pids = s.workerPids();
        process.kill(pids[round % pids.length], "SIGKILL");
        kills++;
      }
      const now = await countedRequests(s);
      assert.ok(now >= previous, `counter went down from ${previous} to ${now}`);
      previous = now;
      await sleep(150);
    }
    const stats = await load.stop();
    assert.ok(kills >= 3 && stats.ok > 50);
    const m = await waitFor(async () => {
      const m = await s.scrape();
      return m.sum("gunicorn_master_worker_restarts_total", { reason: "signal" }) >= kills && m;
    });
    assert.ok(m.sum("gunicorn_worker_requests_total") >= previous);
  });

  it("answers a scrape within 250 ms while every worker is blocked", async () => {
    const s = await startServer({ workers: 2, args: ["-t", "0"] });
    await request(s.url("/"));
    await sleep(300);
    request(s.url("/hang"), { timeout: 3000 }).catch(() => {});
    request(s.url("/hang"), { timeout: 3000 }).catch(() => {});
    await sleep(500);
    const t0 = performance.now();
    const m = await s.scrape();
    const elapsed = performance.now() - t0;
    assert.equal(m.status, 200);
    assert.ok(elapsed < 250, `scrape took ${elapsed.toFixed(1)} ms`);
    assert.ok(m.sum("gunicorn_worker_requests_total") >= 1, "counts written before the block are still there");
  });

  it("counts each signal the master handles", async () => {
    const s = await startServer({ workers: 1 });
    for (const sig of ["SIGUSR1", "SIGTTIN", "SIGTTOU", "SIGHUP"]) {
      s.signal(sig);
      await sleep(300);
    }
    const m = await waitFor(async () => {
      const m = await s.scrape();
      return m.sum("gunicorn_master_signals_total", { signal: "HUP" }) === 1 && m;
    });
    for (const sig of ["USR1", "TTIN", "TTOU", "HUP"])
      assert.equal(m.sum("gunicorn_master_signals_total", { signal: sig }), 1, sig);
    assert.ok(m.sum("gunicorn_master_signals_total", { signal: "CHLD" }) >= 1);
  });

  it("skips a corrupt or foreign file in the store, counts it, and still answers 200", async () => {
    const s = await startServer({ workers: 1 });
    await request(s.url("/"));
    writeFileSync(join(s.dir, "gpe_w7_999999.json"), "{ this is not json");
    writeFileSync(join(s.dir, "gpe_w8_999998.json"), JSON.stringify({ hello: "world" }));
    writeFileSync(join(s.dir, "counter_123.db"), "a python exporter file");
    const m = await waitFor(async () => {
      const m = await s.scrape();
      return m.sum("gunicorn_worker_requests_total") === 1 && m;
    });
    assert.equal(m.sum("gunicorn_metrics_store_errors_total", { kind: "corrupt" }) >= 1, true);
    assert.equal(m.sum("gunicorn_metrics_store_errors_total", { kind: "foreign" }) >= 1, true);
    await waitFor(() => /metrics store: skipping gpe_w7_999999\.json: corrupt/.test(s.logs()), {
      what: "the log line",
    });
    assert.ok(readdirSync(s.dir).includes("counter_123.db"), "a file that is not ours is never removed");
  });

  // prom-client moved into the Prometheus organisation as @prometheus-io/client (Node 22 and later).
  for (const client of ["prom-client", "@prometheus-io/client"]) {
    it(`counts handler failures and server errors, and the app's own metrics recorded with ${client}`, async (t) => {
      if (client.startsWith("@prometheus-io") && Number(process.versions.node.split(".")[0]) < 22)
        return t.skip(`${client} supports Node 22 and later; this is ${process.version}`);
      const s = await startServer({
        workers: 2,
        app: join(import.meta.dirname, "..", "fixtures", "custom-metrics.mjs"),
        env: { GPE_TEST_CLIENT: client },
      });
      for (let i = 0; i < 4; i++) await request(s.url("/"));
      assert.equal((await request(s.url("/throw"))).status, 500);
      assert.equal((await request(s.url(`/${"x".repeat(5000)}`))).status, 414);
      // Every count below has reached the store (a worker busy past the scrape's flush wait writes on its interval).
      const m = await waitFor(
        async () => {
          const m = await s.scrape();
          return m.sum("app_jobs_total") === 4 && m.sum("gunicorn_worker_error_handling_total") === 2 && m;
        },
        { what: "app metrics merged" },
      );
      assert.equal(m.find("app_jobs_total").length, 1, "one series, summed over the workers");
      assert.equal(
        m.sum("gunicorn_worker_failed_requests_total", { error_type: "DatabaseError", endpoint: "/throw" }),
        1,
      );
      assert.equal(m.sum("gunicorn_worker_error_handling_total", { error_type: "DatabaseError" }), 1);
      assert.equal(m.sum("gunicorn_worker_error_handling_total", { error_type: "LimitRequestLine" }), 1);
      assert.equal(m.find("app_queue_depth").length, 2, "aggregator 'worker' keeps one gauge per worker");
      assert.equal(m.sum("app_max_seen"), 7, "aggregator 'max' takes the largest");
    });
  }

  it("has the app's metrics from boot, before the first flush interval has passed", async () => {
    // A flush interval far longer than the test: only the snapshot written at boot can hold them.
    const s = await startServer({
      workers: 2,
      app: join(import.meta.dirname, "..", "fixtures", "custom-metrics.mjs"),
      env: { GPE_METRICS_FLUSH_INTERVAL: "60" },
    });
    const m = await s.scrape();
    assert.equal(m.find("app_queue_depth").length, 2, "the gauge each worker set at load");
    assert.equal(m.sum("app_max_seen"), 7);
    assert.match(m.text, /^app_ratio NaN$/m, "a NaN gauge crosses the store as NaN");
  });

  it("boots and serves even when an app collector never settles", async () => {
    const s = await startServer({
      workers: 1,
      app: join(import.meta.dirname, "..", "fixtures", "hanging-collector.mjs"),
    });
    assert.equal((await request(s.url("/"))).status, 200);
    assert.equal((await s.scrape()).sum("gunicorn_workers"), 1);
  });

  it("passes promtool check metrics, with every family present", async (t) => {
    const promtool = spawnSync("promtool", ["--version"]);
    if (promtool.error) {
      t.skip("promtool not installed: apt-get install -y prometheus");
      return;
    }
    const s = await startServer({ workers: 2 });
    await request(s.url("/"));
    await request(s.url("/throw"));
    await sleep(5500); // one resource sample
    const { body } = await request(`http://127.0.0.1:${s.metricsPort}/metrics`);
    const m = parseMetrics(body);
    for (const family of [
      "gunicorn_worker_requests_total",
      "gunicorn_worker_request_duration_seconds_bucket",
      "gunicorn_worker_memory_bytes",
      "gunicorn_worker_cpu_percent",
      "gunicorn_worker_uptime_seconds",
      "gunicorn_worker_state",
      "gunicorn_worker_state_timestamp_seconds",
      "gunicorn_worker_failed_requests_total",
      "gunicorn_worker_error_handling_total",
      "gunicorn_master_worker_restarts_total",
      "gunicorn_master_signals_total",
      "gunicorn_workers",
    ]) {
      assert.ok(m.find(family).length > 0, `${family} is present`);
    }
    const types = body
      .split("\n")
      .filter((l) => l.startsWith("# TYPE "))
      .map((l) => l.split(" ")[2]);
    assert.equal(new Set(types).size, types.length, "one TYPE line per family");
    const check = spawnSync("promtool", ["check", "metrics"], { input: body });
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
    assert.equal(`${check.stdout}${check.stderr}`.trim(), "", "promtool reports nothing");
  });

  it("serves OpenMetrics when asked, gzip when accepted, /healthz, and 404 elsewhere", async () => {
    const s = await startServer({ workers: 1 });
    const om = await request(`http://127.0.0.1:${s.metricsPort}/metrics`, {
      headers: { accept: "application/openmetrics-text; version=1.0.0" },
    });
    assert.match(om.headers["content-type"], /application\/openmetrics-text/);
    assert.match(om.body, /# EOF\n$/);
    assert.match(om.body, /# TYPE gunicorn_master_signals counter/);
    const gz = await request(`http://127.0.0.1:${s.metricsPort}/metrics`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(gz.headers["content-encoding"], "gzip");
    assert.match(gunzipSync(gz.bytes).toString(), /gunicorn_workers 1/);
    assert.equal((await request(`http://127.0.0.1:${s.metricsPort}/healthz`)).status, 200);
    assert.equal((await request(`http://127.0.0.1:${s.metricsPort}/nope`)).status, 404);
  });
});
