// The fault suite: things going wrong under load, and what the load saw. Every number asserted
// here is also what the closing note and docs/reliability.md report.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, stopAll, request, waitFor, sleep, loadLoop, alive, FIXTURES } from "../helpers/harness.mjs";

after(stopAll);

describe("faults under load", () => {
  it("SIGKILL of a random worker every second for 20 s: replaced within 1 s, only in-flight requests fail, counters never go down", async () => {
    const s = await startServer({ workers: 4, args: ["-k", "async"] });
    const load = loadLoop(s.url(""), { concurrency: 4 });
    const replaceMs = [];
    let kills = 0;
    let lastTotal = 0;
    try {
      for (let i = 0; i < 20; i++) {
        const pids = s.workerPids();
        const victim = pids[Math.floor(Math.random() * pids.length)];
        const t0 = Date.now();
        process.kill(victim, "SIGKILL");
        kills++;
        await waitFor(
          () => {
            const now = s.workerPids();
            return now.length === 4 && !now.includes(victim);
          },
          { timeout: 5000, interval: 10, what: "a replacement" },
        );
        replaceMs.push(Date.now() - t0);
        const total = (await s.scrape()).sum("gunicorn_worker_requests_total");
        assert.ok(total >= lastTotal, `requests_total went down: ${lastTotal} -> ${total}`);
        lastTotal = total;
        await sleep(Math.max(0, 1000 - (Date.now() - t0)));
      }
    } finally {
      const stats = await load.stop();
      // Only requests in flight on a killed worker may fail: at most `concurrency` per kill, and
      // only as a reset connection, never a refused one (the master holds the socket).
      assert.ok(stats.failed <= kills * 4, `${stats.failed} failed for ${kills} kills`);
      assert.ok(
        stats.errors.every((e) => /ECONNRESET|socket hang up/.test(e)),
        stats.errors.slice(0, 3).join("; "),
      );
      assert.ok(stats.ok > 1000, `${stats.ok} requests served`);
      console.log(
        `# 20 kills: replacement (new process) max ${Math.max(...replaceMs)} ms, median ${replaceMs.sort((a, b) => a - b)[10]} ms; ${stats.ok} ok, ${stats.failed} failed`,
      );
    }
    assert.ok(Math.max(...replaceMs) <= 1000, `replacements took ${replaceMs.join(", ")} ms`);
    let counted = null;
    const m = await waitFor(
      async () => {
        const m = await s.scrape();
        counted = m.sum("gunicorn_master_worker_restarts_total", { reason: "signal" });
        return counted === kills && m;
      },
      { what: () => `every kill counted: ${counted} of ${kills}; logs:\n${s.logs().slice(-3000)}` },
    );
    assert.ok(m.sum("gunicorn_worker_requests_total") >= lastTotal);
  });

  it("SIGSTOP of a worker: aborted after the timeout and counted as reason timeout", async () => {
    // -t 2, not 1: on a loaded machine a booting replacement can miss a 1 s heartbeat and time out too.
    const s = await startServer({ workers: 2, args: ["-t", "2"] });
    const [frozen] = s.workerPids();
    process.kill(frozen, "SIGSTOP");
    await waitFor(() => !s.workerPids().includes(frozen) && s.workerPids().length === 2, {
      timeout: 15_000,
      what: "the frozen worker replaced",
    });
    const m = await waitFor(async () => {
      const m = await s.scrape();
      return m.sum("gunicorn_master_worker_restarts_total", { reason: "timeout" }) === 1 && m;
    });
    assert.equal(m.sum("gunicorn_worker_restarts_total", { reason: "timeout" }), 1);
    await waitFor(() => new RegExp(`WORKER TIMEOUT \\(pid:${frozen}`).test(s.logs()), { what: "the log line" });
    assert.equal(alive(frozen), false);
    assert.equal((await request(s.url("/"))).status, 200);
  });

  it("an app that crashes on its 100th request is respawned with a backoff, never more than a few forks a second", async () => {
    const s = await startServer({ workers: 2, app: join(FIXTURES, "crash-on-nth.mjs") });
    const load = loadLoop(s.url(""), { concurrency: 2 });
    const t0 = Date.now();
    await sleep(6000);
    const stats = await load.stop();
    const seconds = (Date.now() - t0) / 1000;
    const boots = (s.logs().match(/Booted worker/g) ?? []).length;
    assert.ok(boots >= 4, `workers were respawned (${boots} boots)`);
    assert.ok(boots / seconds <= 3, `${boots} boots in ${seconds.toFixed(1)} s`);
    assert.ok(stats.ok >= 300, `service continued: ${stats.ok} ok, ${stats.failed} failed`);
    assert.ok(alive(s.pid));
    const m = await s.scrape();
    assert.ok(m.sum("gunicorn_master_worker_restarts_total", { reason: "crash" }) >= 2);
    assert.ok(
      m.sum("gunicorn_worker_failed_requests_total", { error_type: "Error", endpoint: "unknown" }) >= 2,
      "each crash counted",
    );
  });

  it("an uncaught exception or unhandled rejection outside a request: counted, logged, the worker is replaced", async () => {
    const s = await startServer({ workers: 2 });
    for (const [path, type] of [
      ["/timer-throw", "TimerError"],
      ["/floating", "FloatingError"],
    ]) {
      const before = s.workerPids();
      await request(s.url(path), { timeout: 3000 }).catch(() => {});
      await waitFor(() => s.workerPids().length === 2 && s.workerPids().some((p) => !before.includes(p)), {
        what: `a replacement after ${path}`,
      });
      await waitFor(
        async () => (await s.scrape()).sum("gunicorn_worker_failed_requests_total", { error_type: type }) === 1,
        { what: `${type} counted` },
      );
      await waitFor(() => new RegExp(`${type}|outside any request`).test(s.logs()), { what: "the log line" });
    }
    assert.equal((await request(s.url("/"))).status, 200);
    const m = await s.scrape();
    assert.equal(m.sum("gunicorn_master_worker_restarts_total", { reason: "crash" }), 2);
  });

  it("the same in a thread of a thread worker: counted, and the worker finishes its other thread's request before it is replaced", async () => {
    const s = await startServer({ workers: 1, args: ["-k", "thread", "--threads", "2"] });
    for (const [path, type] of [
      ["/timer-throw", "TimerError"],
      ["/floating", "FloatingError"],
    ]) {
      const before = s.workerPids();
      // A request in flight on the other thread when the error ends this one.
      const slow = request(s.url("/sleep?ms=800"));
      await sleep(100);
      await request(s.url(path), { timeout: 3000 }).catch(() => {});
      assert.equal((await slow).status, 200, "the other thread's request finished");
      await waitFor(() => s.workerPids().length === 1 && !before.includes(s.workerPids()[0]), {
        what: `a replacement after ${path}`,
      });
      await waitFor(
        async () =>
          (await s.scrape()).sum("gunicorn_worker_failed_requests_total", { error_type: type, endpoint: "unknown" }) ===
          1,
        { what: `${type} counted` },
      );
    }
    // The second worker may still be finishing its other thread's request: wait for its exit to be counted.
    const crashes = async () => (await s.scrape()).sum("gunicorn_master_worker_restarts_total", { reason: "crash" });
    await waitFor(async () => (await crashes()) >= 2, {
      timeout: 15_000,
      what: () => `2 crashes counted; logs:\n${s.logs()}`,
    });
    const m = await s.scrape();
    assert.equal(m.sum("gunicorn_master_worker_restarts_total", { reason: "crash" }), 2);
    assert.equal(m.sum("gunicorn_worker_last_exit_code"), 70);
    assert.equal((await request(s.url("/"))).status, 200);
  });

  it("1000 signals in a burst (HUP, TTIN, TTOU): a consistent pool, and nothing orphaned", async () => {
    const s = await startServer({ workers: 2 });
    const signals = ["SIGHUP", "SIGTTIN", "SIGTTOU"];
    for (let i = 0; i < 1000; i++) {
      s.signal(signals[i % 3]);
      if (i % 50 === 0) await sleep(1);
    }
    // Settled: the pool the master reports is the pool that exists.
    const settled = await waitFor(
      async () => {
        const status = JSON.parse((await request(`http://127.0.0.1:${s.metricsPort}/status.json`)).body);
        const running = status.workers.filter((w) => w.state === "running");
        const pids = s.workerPids();
        return (
          running.length === status.workers.length &&
          running.length === pids.length &&
          running.every((w) => pids.includes(w.pid)) &&
          status
        );
      },
      { timeout: 30_000, interval: 250, what: "the pool to settle" },
    );
    await sleep(1000);
    const n = settled.workers.length;
    assert.ok(n >= 1);
    assert.equal(s.workerPids().length, n, "no extra process");
    s.signal("SIGTTIN");
    await waitFor(() => s.workerPids().length === n + 1, {
      timeout: 15_000,
      what: `${n + 1} workers after one more TTIN`,
    });
    assert.equal((await request(s.url("/"))).status, 200);
    // Every gpe-server worker on the machine that this master started is its child.
    const orphans = readdirSync("/proc")
      .filter((d) => /^\d+$/.test(d))
      .filter((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
          const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
          return ppid === 1 && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(String(s.dir));
        } catch {
          return false;
        }
      });
    assert.deepEqual(orphans, []);
  });

  it("the master SIGKILLed: its workers notice and exit within a few seconds", async () => {
    const s = await startServer({ workers: 3 });
    const workers = s.workerPids();
    process.kill(s.pid, "SIGKILL");
    const t0 = Date.now();
    await waitFor(() => workers.every((p) => !alive(p)), { timeout: 10_000, what: "every worker to exit" });
    assert.ok(Date.now() - t0 < 7000);
  });
});
