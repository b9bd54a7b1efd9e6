// The Prometheus side: a real Prometheus server scraping gpe-server, and the example dashboard,
// alerting rules and config checked against promtool and against a real scrape.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  startServer,
  startProcess,
  stopAll,
  request,
  waitFor,
  freePort,
  tempDir,
  loadLoop,
  ROOT,
} from "../helpers/harness.mjs";

after(stopAll);

const EXAMPLES = join(ROOT, "examples");
const promtool = (...args) => spawnSync("promtool", args, { encoding: "utf8", cwd: EXAMPLES });

/** gunicorn_* names a query refers to. */
const metricNames = (text) => new Set([...text.matchAll(/\b(gunicorn_[a-z_]+)\b/g)].map((m) => m[1]));

/** Every family and sample name a scrape exposes (a histogram's _bucket/_sum/_count included). */
function exposedNames(text) {
  const names = new Set();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) /.exec(line);
    if (type) names.add(type[1]);
    else if (line && !line.startsWith("#")) names.add(/^[^{ ]+/.exec(line)[0]);
  }
  return names;
}

/** A real Prometheus scraping `s` every second, with `rules` and `features`; and a query helper. */
async function startPrometheus(s, { rules = null, features = [] } = {}) {
  const dir = tempDir("gpe-prometheus-");
  const port = await freePort();
  writeFileSync(
    join(dir, "prometheus.yml"),
    `${[
      "global: { scrape_interval: 1s, evaluation_interval: 1s }",
      ...(rules ? [`rule_files: ["${rules}"]`] : []),
      "scrape_configs:",
      "  - job_name: gpe-server",
      `    static_configs: [{ targets: ["127.0.0.1:${s.metricsPort}"] }]`,
    ].join("\n")}\n`,
  );
  const prometheus = startProcess("prometheus", [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    ...features.map((f) => `--enable-feature=${f}`),
    "--log.level=warn",
  ]);
  const query = async (q) => {
    const res = await request(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = JSON.parse(res.body);
    assert.equal(body.status, "success", res.body);
    return body.data.result;
  };
  const exemplars = async (q) => {
    const now = Date.now() / 1000;
    const url = `http://127.0.0.1:${port}/api/v1/query_exemplars?query=${encodeURIComponent(q)}&start=${now - 600}&end=${now + 60}`;
    const body = JSON.parse((await request(url)).body);
    assert.equal(body.status, "success", JSON.stringify(body));
    return body.data;
  };
  return { prometheus, port, query, exemplars };
}

describe("Prometheus", () => {
  it("promtool accepts the example config and rules, and every alert's unit test passes", () => {
    const config = promtool("check", "config", "prometheus/prometheus.yml");
    assert.equal(config.error, undefined, "promtool is installed (apt-get install -y prometheus)");
    assert.equal(config.status, 0, config.stdout + config.stderr);
    const rules = promtool("check", "rules", "prometheus/alerts.yml");
    assert.equal(rules.status, 0, rules.stdout + rules.stderr);
    assert.match(rules.stdout, /SUCCESS: 6 rules found/);
    const tests = promtool("test", "rules", "prometheus/alerts.test.yml");
    assert.equal(tests.status, 0, tests.stdout + tests.stderr);
    const alerts = readFileSync(join(EXAMPLES, "prometheus/alerts.yml"), "utf8");
    const tested = readFileSync(join(EXAMPLES, "prometheus/alerts.test.yml"), "utf8");
    for (const [, name] of alerts.matchAll(/- alert: (\w+)/g))
      assert.match(tested, new RegExp(`alertname: ${name}\\b`), `${name} has a unit test`);
  });

  it("every metric the Grafana dashboard and the alerts query exists in a real scrape", async () => {
    const dashboard = JSON.parse(readFileSync(join(EXAMPLES, "grafana/gpe-server.json"), "utf8"));
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    assert.ok(exprs.length >= 10, "the dashboard has its panels");
    // Redis pointed at a closed port: the forwarding metrics exist, with connected = 0.
    const s = await startServer({ workers: 2, args: ["--redis", "--redis-port", String(await freePort())] });
    await request(s.url("/"));
    await request(s.url("/throw"));
    const m = await waitFor(async () => {
      const m = await s.scrape();
      return m.sum("gunicorn_worker_requests_total") === 2 && m;
    });
    const exposed = exposedNames(m.text);
    const wanted = new Set([
      ...metricNames(exprs.join("\n")),
      ...metricNames(readFileSync(join(EXAMPLES, "prometheus/alerts.yml"), "utf8")),
    ]);
    assert.ok(wanted.size >= 10);
    const missing = [...wanted].filter((name) => !exposed.has(name));
    assert.deepEqual(missing, [], "names queried but not exposed");
  });

  it("a real Prometheus scrapes gpe-server and sees the request rate and the worker count", async () => {
    const s = await startServer({ workers: 2 });
    const { prometheus, port, query } = await startPrometheus(s, {
      rules: join(EXAMPLES, "prometheus/alerts.yml"),
    });
    const load = loadLoop(s.url(), { concurrency: 2 });
    try {
      const rate = await waitFor(
        async () => {
          const [r] = await query("sum(rate(gunicorn_worker_requests_total[30s]))");
          return r && Number(r.value[1]) > 0 && Number(r.value[1]);
        },
        { timeout: 45_000, interval: 500, what: () => `a request rate in Prometheus; its log:\n${prometheus.logs()}` },
      );
      assert.ok(rate > 1, `rate ${rate} req/s`);
    } finally {
      const stats = await load.stop();
      assert.equal(stats.failed, 0);
    }
    const [workers] = await query('gunicorn_workers{job="gpe-server"}');
    assert.equal(Number(workers.value[1]), 2);
    const [up] = await query('up{job="gpe-server"}');
    assert.equal(Number(up.value[1]), 1);
    const rules = JSON.parse((await request(`http://127.0.0.1:${port}/api/v1/rules`)).body);
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    assert.equal(loaded.length, 6);
    assert.ok(
      loaded.every((r) => r.health !== "err"),
      JSON.stringify(loaded.map((r) => [r.name, r.health, r.lastError])),
    );
  });

  it("native histograms: a real Prometheus reads them from the protobuf exposition, and its p99 matches the clients'", async () => {
    const s = await startServer({ workers: 2 });
    const { query } = await startPrometheus(s, { features: ["native-histograms"] });
    // Latencies the clients measure: sleeps of 20, 40, 80 and 160 ms, a quarter each.
    const latencies = [];
    let running = true;
    const loops = Array.from({ length: 8 }, async (_, i) => {
      for (let n = i; running; n++) {
        const t0 = performance.now();
        await request(s.url(`/sleep?ms=${20 * 2 ** (n % 4)}`));
        latencies.push((performance.now() - t0) / 1000);
      }
    });
    let native;
    try {
      await waitFor(
        async () => {
          native = await query("gunicorn_worker_request_duration_seconds");
          return native.length === 2 && native.every((r) => r.histogram);
        },
        { timeout: 30_000, interval: 500, what: () => `native series in Prometheus: ${JSON.stringify(native)}` },
      );
      // A window well filled: 12 s of load.
      await new Promise((r) => setTimeout(r, 12_000));
    } finally {
      running = false;
      await Promise.all(loops);
    }
    const [p99] = await query("histogram_quantile(0.99, sum(rate(gunicorn_worker_request_duration_seconds[10s])))");
    const [routes] = await query("histogram_quantile(0.99, sum(rate(gunicorn_route_request_duration_seconds[10s])))");
    const sorted = latencies.sort((a, b) => a - b);
    const clients = sorted[Math.floor(sorted.length * 0.99)];
    const served = Number(p99.value[1]);
    // Schema 3: a bucket is 9 % wide; the clients' own overhead is a few ms more.
    assert.ok(
      Math.abs(served - clients) <= clients * 0.1 + 0.005,
      `p99 ${served} s from Prometheus, ${clients} s by the clients`,
    );
    assert.ok(Math.abs(Number(routes.value[1]) - served) <= served * 0.1, "the per-route histogram is native too");
  });

  for (const [format, features] of [
    ["OpenMetrics", ["exemplar-storage"]],
    ["protobuf", ["exemplar-storage", "native-histograms"]],
  ])
    it(`exemplars (${format}): a traced request's trace id reaches Prometheus's exemplar storage`, async () => {
      const s = await startServer({ workers: 2 });
      const { exemplars, prometheus } = await startPrometheus(s, { features });
      const sent = new Set();
      let running = true;
      const loops = Array.from({ length: 2 }, async (_, i) => {
        for (let n = 0; running; n++) {
          const trace = `${(i * 1_000_000 + n + 1).toString(16).padStart(32, "0")}`;
          sent.add(trace);
          await request(s.url("/sleep?ms=30"), { headers: { traceparent: `00-${trace}-00f067aa0ba902b7-01` } });
        }
      });
      const found = {};
      try {
        // A Prometheus with native histograms (2.42) keeps no exemplar of a native histogram (later
        // versions do): from the protobuf exposition, the counter's are what it stores.
        const names = ["gunicorn_worker_requests_total"];
        if (format === "OpenMetrics") names.push("gunicorn_worker_request_duration_seconds_bucket");
        for (const name of names) {
          let data = [];
          await waitFor(
            async () => {
              data = await exemplars(name);
              found[name] = data.flatMap((series) => series.exemplars.map((e) => e.labels.trace_id));
              return found[name].length > 0;
            },
            {
              timeout: 30_000,
              interval: 500,
              what: () => `exemplars of ${name}: ${JSON.stringify(data)}; Prometheus:\n${prometheus.logs()}`,
            },
          );
        }
      } finally {
        running = false;
        await Promise.all(loops);
      }
      for (const [name, traces] of Object.entries(found))
        assert.ok(
          traces.every((t) => sent.has(t)),
          `${name}: ${traces} were all sent`,
        );
    });
});
