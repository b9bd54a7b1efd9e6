// Workers replaced before they wear out: max_memory, and max_requests with the successor prestarted.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, stopAll, request, waitFor, sleep, FIXTURES } from "../helpers/harness.mjs";

after(stopAll);

describe("memory limit", () => {
  it("replaces a leaking worker above --max-memory with no failed request and counts reason=memory", async () => {
    const s = await startServer({
      app: join(FIXTURES, "leaky.mjs"),
      workers: 2,
      args: ["-k", "async", "--max-memory", "160M"],
    });
    const stats = { ok: 0, failed: [] };
    let running = true;
    // Paced: 4 MB kept per request, at most 50 requests a second across both workers.
    const loops = [0, 1].map(async () => {
      while (running) {
        try {
          const res = await request(s.url("/"));
          if (res.status === 200) stats.ok++;
          else stats.failed.push(`status ${res.status}`);
        } catch (err) {
          stats.failed.push(err.message);
        }
        await sleep(40);
      }
    });
    try {
      await waitFor(
        async () => (await s.scrape()).sum("gunicorn_master_worker_restarts_total", { reason: "memory" }) >= 1,
        { timeout: 60_000, interval: 250, what: "a memory restart" },
      );
      await sleep(500);
    } finally {
      running = false;
      await Promise.all(loops);
    }
    assert.deepEqual(stats.failed, [], "no request failed");
    assert.ok(stats.ok > 0);
    assert.match(s.logs(), /uses \d+\.\d MiB, above max_memory 160\.0 MiB: replacing it/);
  });
});

describe("recycling without a wait", () => {
  it("boots a standby for a worker near max_requests, which takes the slot the moment it retires", async () => {
    const s = await startServer({
      app: join(FIXTURES, "identity.mjs"),
      workers: 1,
      args: ["-k", "sync", "--max-requests", "2", "--log-level", "debug"],
    });
    const [first] = s.workerPids();
    const who = async () => JSON.parse((await request(s.url("/"))).body).pid;
    // One request left of 2: the master prestarts the successor, which boots but does not serve.
    assert.equal(await who(), first);
    await waitFor(() => /Booting worker with pid: \d+ \(slot 1, standby\)/.test(s.logs()), { what: "the standby" });
    const standby = Number(/Booting worker with pid: (\d+) \(slot 1, standby\)/.exec(s.logs())[1]);
    await waitFor(() => s.workerPids().includes(standby), { what: "the standby process" });
    await sleep(500);
    assert.equal(await who(), first, "the standby does not serve while the worker still may");
    // The second request ended the first worker: the standby serves the next one.
    const t0 = performance.now();
    assert.equal(await who(), standby);
    assert.ok(performance.now() - t0 < 1000, "no boot to wait for");
    assert.match(
      s.logs(),
      new RegExp(`Worker \\(pid:${first}, slot 1\\) served 2 requests \\(max_requests\\); retiring`),
    );
    // Counted when the old worker's exit is reaped, a moment after it stopped serving.
    await waitFor(
      async () => (await s.scrape()).sum("gunicorn_master_worker_restarts_total", { reason: "max_requests" }) === 1,
      { what: "the max_requests restart to be counted" },
    );
  });
});
