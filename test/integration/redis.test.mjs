// Redis forwarding and the fleet aggregator, against a real redis-server on a free loopback port.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { hostname } from "node:os";
import {
  startServer,
  startCommand,
  startRedis,
  redisCli,
  stopAll,
  request,
  waitFor,
  sleep,
  loadLoop,
  runCli,
  freePort,
  FIXTURES,
  ROOT,
} from "../helpers/harness.mjs";

after(stopAll);

const FAST = ["--redis", "--redis-forward-interval", "0.2"];
const count = (text, re) => (text.match(re) ?? []).length;

async function hit(server, n) {
  for (let i = 0; i < n; i++) assert.equal((await request(server.url("/"))).status, 200);
}

describe("Redis forwarding and gpe-server aggregate", () => {
  it("shows two instances with their own labels and correct sums, in an exposition promtool accepts", async () => {
    const redis = await startRedis({ password: "s3cret pass" });
    const env = { REDIS_PASSWORD: "s3cret pass", REDIS_PORT: String(redis.port) };
    const a = await startServer({ workers: 2, args: [...FAST, "--instance", "host-a"], env });
    const b = await startServer({ workers: 1, args: [...FAST, "--instance", "host-b"], env });
    await hit(a, 3);
    await hit(b, 5);
    const agg = await startCommand("aggregate", ["--redis-url", `redis://127.0.0.1:${redis.port}/0`], {
      env: { REDIS_PASSWORD: "s3cret pass" },
    });
    const m = await waitFor(
      async () => {
        const m = await agg.scrape();
        return (
          m.sum("gunicorn_worker_requests_total", { instance: "host-a" }) === 3 &&
          m.sum("gunicorn_worker_requests_total", { instance: "host-b" }) === 5 &&
          m
        );
      },
      { what: "both instances' request counts in the aggregate" },
    );
    assert.equal(m.sum("gunicorn_worker_requests_total"), 8);
    assert.equal(m.sum("gunicorn_aggregator_instances"), 2);
    assert.equal(m.sum("gunicorn_workers", { instance: "host-a" }), 2);
    assert.equal(m.sum("gunicorn_workers", { instance: "host-b" }), 1);
    assert.equal(m.sum("gunicorn_redis_connected", { instance: "host-b" }), 1);
    assert.ok(
      m.samples.every((s) => s.name.startsWith("gunicorn_aggregator_") || s.labels.instance),
      "every forwarded series has an instance label",
    );
    assert.equal(count(m.text, /^# TYPE gunicorn_worker_requests_total /gm), 1, "one TYPE line per family");
    const keys = redisCli(redis, "--scan", "--pattern", "gunicorn:*").split("\n").sort();
    assert.deepEqual(keys, ["gunicorn:gpe:instance:host-a", "gunicorn:gpe:instance:host-b"]);
    const check = spawnSync("promtool", ["check", "metrics"], { input: m.text, encoding: "utf8" });
    assert.equal(check.error, undefined, "promtool is installed (apt-get install -y prometheus)");
    assert.equal(check.status, 0, `promtool check metrics: ${check.stdout}${check.stderr}`);
  });

  it("drops a stopped instance after the TTL while the live one's counters stay", async () => {
    const redis = await startRedis();
    const env = { REDIS_PORT: String(redis.port) };
    const a = await startServer({ workers: 1, args: [...FAST, "--redis-ttl", "2", "--instance", "live"], env });
    const b = await startServer({ workers: 1, args: [...FAST, "--redis-ttl", "2", "--instance", "gone"], env });
    await hit(a, 4);
    await hit(b, 6);
    const agg = await startCommand("aggregate", ["--redis-port", String(redis.port)]);
    await waitFor(async () => (await agg.scrape()).sum("gunicorn_worker_requests_total", { instance: "gone" }) === 6, {
      what: "instance gone in the aggregate",
    });
    assert.ok(Number(redisCli(redis, "TTL", "gunicorn:gpe:instance:gone")) <= 2, "the key carries the TTL");
    b.signal("SIGTERM");
    assert.equal((await b.exited).code, 0);
    // The final forward at shutdown still holds every request, with no worker left.
    const last = await agg.scrape();
    assert.equal(last.sum("gunicorn_worker_requests_total", { instance: "gone" }), 6);
    assert.equal(last.sum("gunicorn_workers", { instance: "gone" }), 0);
    const started = Date.now();
    await waitFor(async () => (await agg.scrape()).find("gunicorn_workers", { instance: "gone" }).length === 0, {
      timeout: 6000,
      what: "the stopped instance to expire",
    });
    assert.ok(Date.now() - started >= 1000, "gone only after the TTL");
    await sleep(2500); // longer than the TTL: the live instance's key is refreshed, not expired
    const m = await agg.scrape();
    assert.equal(m.sum("gunicorn_worker_requests_total", { instance: "live" }), 4);
    assert.equal(m.sum("gunicorn_aggregator_instances"), 1);
  });

  it("keeps serving through Redis stopping, freezing and coming back, then resumes forwarding", async () => {
    const redis = await startRedis();
    const s = await startServer({
      workers: 2,
      args: [...FAST, "--instance", "survivor"],
      env: { REDIS_PORT: String(redis.port) },
    });
    const agg = await startCommand("aggregate", ["--redis-port", String(redis.port)]);
    await waitFor(async () => (await agg.scrape()).sum("gunicorn_aggregator_instances") === 1, {
      what: "the instance in Redis",
    });
    const load = loadLoop(s.url(), { concurrency: 4 });
    try {
      await sleep(300);
      await redis.stop();
      await waitFor(async () => (await s.scrape()).sum("gunicorn_redis_connected") === 0, {
        what: "redis_connected 0",
      });
      assert.equal((await agg.get()).status, 500, "the aggregator fails the scrape instead of serving stale data");
      await sleep(1000); // several forward intervals and reconnect attempts while Redis is down
      assert.equal((await s.scrape()).status, 200, "local /metrics keeps answering");
      await redis.start();
      await waitFor(async () => (await s.scrape()).sum("gunicorn_redis_connected") === 1, {
        what: "redis_connected back to 1",
      });
      // A frozen Redis (SIGSTOP): forwards hang until the command timeout, requests do not.
      process.kill(redis.child.pid, "SIGSTOP");
      await sleep(1000);
      process.kill(redis.child.pid, "SIGCONT");
    } finally {
      const stats = await load.stop();
      assert.equal(stats.failed, 0, `failed requests: ${stats.errors.slice(0, 3).join("; ")}`);
      assert.ok(stats.ok > 20, `requests served: ${stats.ok}`);
    }
    const m = await s.scrape();
    assert.ok(
      m.sum("gunicorn_redis_forward_errors_total", { reason: "disconnected" }) >= 2,
      "skipped forwards counted",
    );
    assert.ok(
      m.sum("gunicorn_redis_forward_errors_total", { reason: "busy" }) >= 1,
      "forwards skipped while one hung on the frozen Redis",
    );
    // Forwarding resumed: the aggregate catches up with what this host serves.
    const served = m.sum("gunicorn_worker_requests_total");
    await waitFor(
      async () => (await agg.scrape()).sum("gunicorn_worker_requests_total", { instance: "survivor" }) >= served,
      { what: "the aggregate to catch up" },
    );
    assert.equal(count(s.logs(), /lost the connection to Redis/g), 1, "one line when the connection is lost");
    assert.equal(count(s.logs(), /Redis connection restored/g), 1, "one line when it is back");
  });

  it("starts and serves with Redis down or refusing the password, with one log line", async () => {
    const nobody = await freePort();
    const down = await startServer({ workers: 1, args: [...FAST, "--redis-port", String(nobody)] });
    const redis = await startRedis({ password: "right" });
    const refused = await startServer({
      workers: 1,
      args: [...FAST, "--redis-port", String(redis.port)],
      env: { REDIS_PASSWORD: "wrong" },
    });
    await sleep(1500);
    for (const s of [down, refused]) {
      assert.equal((await request(s.url("/"))).status, 200);
      const m = await s.scrape();
      assert.equal(m.sum("gunicorn_redis_connected"), 0);
      assert.ok(m.sum("gunicorn_redis_forward_errors_total") >= 3);
      assert.equal(count(s.logs(), /cannot reach Redis/g), 1, s.logs());
    }
    assert.match(down.logs(), /ECONNREFUSED/);
    assert.match(refused.logs(), /WRONGPASS|invalid password/i);
    assert.equal(redisCli(redis, "DBSIZE"), "0", "nothing written without the password");
  });

  it("runs examples/gunicorn_redis.conf.ts: forwards under hostname:metrics-port", async () => {
    const redis = await startRedis();
    const s = await startServer({
      workers: 1,
      args: ["-c", `${ROOT}/examples/gunicorn_redis.conf.ts`, "--redis-forward-interval", "0.2"],
      env: { REDIS_PORT: String(redis.port) },
    });
    const key = `gunicorn:gpe:instance:${hostname()}:${s.metricsPort}`;
    await waitFor(() => redisCli(redis, "EXISTS", key) === "1", { what: `key ${key}` });
    assert.ok(Number(redisCli(redis, "TTL", key)) > 200, "the example's 300 s TTL");
    await waitFor(() => /forwarding to Redis every 0.2s/.test(s.logs()), {
      what: "the example's when_ready hook to log",
    });
  });

  it("refuses bad Redis settings with one line", async () => {
    const app = `${FIXTURES}/app.mjs`;
    for (const [args, env, expected] of [
      [["--redis", "--redis-url", "http://127.0.0.1:6379"], {}, /redis_url: expected a redis:\/\/ or rediss:\/\/ URL/],
      [
        ["--redis", "--redis-forward-interval", "10", "--redis-ttl", "5"],
        {},
        /redis_forward_interval \(10\) must be shorter than redis_ttl_seconds \(5\)/,
      ],
      [[], { REDIS_ENABLED: "perhaps" }, /redis_enabled \(from REDIS_ENABLED\): expected true or false/],
      [["--redis", "--no-metrics"], {}, /redis_enabled needs the metrics store/],
    ]) {
      const r = await runCli([...args, app], { env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, expected);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  });
});

describe("gpe-server exporter (sidecar)", () => {
  it("serves the merged store of another server's directory and leaves its files alone", async () => {
    const s = await startServer({ workers: 2 });
    await hit(s, 7);
    const exporter = await startCommand("exporter", ["--multiproc-dir", s.dir]);
    const m = await waitFor(
      async () => {
        const m = await exporter.scrape();
        return m.sum("gunicorn_worker_requests_total") === 7 && m;
      },
      { what: "the exporter to show 7 requests" },
    );
    assert.equal(m.find("gunicorn_worker_requests_total").filter((x) => x.labels.worker_id).length >= 1, true);
    const files = readdirSync(s.dir).sort();
    // The exporter only reads: after several scrapes the directory holds the same files.
    await sleep(300);
    assert.deepEqual(readdirSync(s.dir).sort(), files);
    exporter.signal("SIGTERM");
    assert.equal((await exporter.exited).code, 0);
  });

  it("answers on a directory that does not exist yet, logging it once", async () => {
    const exporter = await startCommand("exporter", ["--multiproc-dir", "/nonexistent/gpe-store"]);
    for (let i = 0; i < 3; i++) {
      const m = await exporter.scrape();
      assert.equal(m.sum("gunicorn_metrics_store_errors_total", { kind: "unreadable" }), i + 1);
    }
    assert.equal(count(exporter.logs(), /cannot list the directory/g), 1);
  });
});
