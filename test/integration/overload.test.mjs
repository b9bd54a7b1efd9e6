// Admission control's limits one by one: nothing is shed without an overload; a proxy's
// X-Request-Start counts from a trusted peer only; health checks are never shed; bad limits are
// refused. The open-loop overload itself is in test/load/ (run alone, after the rest).
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES, ROOT, request, runCli, startServer, stopAll, waitFor } from "../helpers/harness.mjs";

const APP = join(ROOT, "bench", "hello.mjs");

after(stopAll);

describe("admission control with no overload", () => {
  // A lone client's slow requests (150 ms of CPU each, three times the lag target) keep the loop
  // late at every look, yet nothing waits behind them: none may be shed.
  for (const klass of ["async", "sync", "thread"]) {
    it(`${klass}: a lone client's slow requests, one after another, are all served`, async () => {
      const s = await startServer({ app: APP, workers: 1, args: ["-k", klass, "--admission"] });
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await request(s.url("/cpu?ms=150"))).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
    });
  }
});

describe("queue time from the proxy", () => {
  const aged = (seconds) => `t=${((Date.now() - seconds * 1000) / 1000).toFixed(3)}`;

  it("from a trusted peer: an old X-Request-Start is shed, a fresh one served, both measured", async () => {
    const s = await startServer({ app: APP, workers: 1, args: ["--max-queue-time", "1000"] });
    const old = await request(s.url("/"), { headers: { "x-request-start": aged(5) } });
    assert.equal(old.status, 503);
    assert.equal(old.headers["retry-after"], "1");
    const fresh = await request(s.url("/"), { headers: { "x-request-start": `t=${Date.now() * 1000}` } });
    assert.equal(fresh.status, 200, "microseconds, as HAProxy sends them");
    const health = await request(s.url("/healthz"), { headers: { "x-queue-start": aged(5) } });
    assert.equal(health.status, 200, "a health check is never shed");
    // The worker writes its counts at its flush interval: read until the three requests are in.
    let m = await s.scrape();
    await waitFor(async () => {
      m = await s.scrape();
      return m.sum("gunicorn_request_queue_seconds_count") === 3;
    });
    assert.equal(m.sum("gunicorn_worker_shed_total", { reason: "queue_time" }), 1);
    const sum = m.sum("gunicorn_request_queue_seconds_sum");
    assert.ok(sum >= 9.5 && sum < 12, `two requests queued 5 s at the proxy: ${sum}`);
  });

  it("from an untrusted peer: the header is ignored", async () => {
    const s = await startServer({
      app: APP,
      workers: 1,
      args: ["--max-queue-time", "1000", "--forwarded-allow-ips", "10.0.0.1"],
    });
    const r = await request(s.url("/"), { headers: { "x-request-start": aged(5) } });
    assert.equal(r.status, 200);
  });

  it("refuses a bad limit in one line, exit 2", async () => {
    for (const args of [
      ["--max-inflight", "-1"],
      ["--max-queue-time", "soon"],
      ["--shed-lag", "-5"],
    ]) {
      const r = await runCli([...args, join(FIXTURES, "app.mjs")]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  });
});
