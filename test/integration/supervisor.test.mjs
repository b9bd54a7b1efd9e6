// The master against real signals, real worker deaths and real HTTP.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, stopAll, request, waitFor, sleep, alive, loadLoop, tempDir } from "../helpers/harness.mjs";

after(stopAll);

describe("the master", () => {
  it("forks N workers with process titles and serves from all of them", async () => {
    const s = await startServer({ workers: 3 });
    const pids = s.workerPids();
    assert.equal(pids.length, 3);
    assert.match(readFileSync(`/proc/${s.pid}/cmdline`, "utf8"), /gpe-server: master/);
    assert.match(readFileSync(`/proc/${pids[0]}/cmdline`, "utf8"), /gpe-server: worker/);
    const res = await request(s.url("/"));
    assert.equal(res.status, 200);
    assert.match(res.body, /hello from \d+/);
  });

  it("has no children but its workers once they boot, through its first resource sample", async () => {
    // pidusage starts two `getconf` shells on its first call; the master makes that call before it
    // forks, so a tool (or test) that kills "a child of the master" always hits a worker. A slow
    // getconf first on PATH keeps those shells alive for a second, so they cannot slip between
    // two looks.
    const bin = tempDir("gpe-getconf-");
    writeFileSync(join(bin, "getconf"), '#!/bin/sh\nsleep 1\nexec /usr/bin/getconf "$@"\n', { mode: 0o755 });
    const s = await startServer({ workers: 2, env: { PATH: `${bin}:${process.env.PATH}` } });
    const strangers = new Set();
    const until = Date.now() + 6500; // the first sample is due 5 s after start
    while (Date.now() < until) {
      for (const pid of s.workerPids()) {
        try {
          const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
          if (!cmdline.includes("gpe-server: worker")) strangers.add(cmdline.replace(/\0/g, " ").trim());
        } catch {
          // exited between the listing and the read
        }
      }
      await sleep(50);
    }
    assert.deepEqual([...strangers], []);
    const m = await s.scrape();
    assert.equal(m.find("gunicorn_worker_memory_bytes").length, 2, "the workers were sampled");
  });

  it("replaces a worker killed with SIGKILL", async () => {
    const s = await startServer({ workers: 2 });
    const [victim] = s.workerPids();
    process.kill(victim, "SIGKILL");
    await waitFor(
      () => {
        const pids = s.workerPids();
        return pids.length === 2 && !pids.includes(victim);
      },
      { what: "a replacement worker" },
    );
    // The replacement may wait ~100 ms: a worker that dies young counts towards crash backoff.
    const m = await waitFor(
      async () => {
        const m = await s.scrape();
        return (
          m.sum("gunicorn_master_worker_restarts_total", { reason: "signal" }) === 1 &&
          m.sum("gunicorn_workers") === 2 &&
          m
        );
      },
      { what: "restart counted and the pool back to 2" },
    );
    assert.equal(m.sum("gunicorn_master_worker_restarts_total"), 1);
    assert.equal((await request(s.url("/"))).status, 200);
  });

  it("aborts a hung worker after the timeout and replaces it", async () => {
    // -t 2, not 1: on a loaded machine a booting replacement can miss a 1 s heartbeat and time out too.
    const s = await startServer({ workers: 2, args: ["-t", "2"] });
    const before = s.workerPids();
    request(s.url("/hang"), { timeout: 15_000 }).catch(() => {});
    await waitFor(
      () => {
        const pids = s.workerPids();
        return pids.length === 2 && pids.filter((p) => before.includes(p)).length === 1;
      },
      { timeout: 15_000, what: "the hung worker to be replaced" },
    );
    assert.match(s.logs(), /WORKER TIMEOUT/);
    // The replacement starts as soon as the hung worker is aborted; the restart is counted when it is reaped.
    await waitFor(
      async () => (await s.scrape()).sum("gunicorn_master_worker_restarts_total", { reason: "timeout" }) === 1,
      { timeout: 15_000, what: "the timeout restart counted" },
    );
    assert.equal((await request(s.url("/"))).status, 200);
  });

  it("recycles workers after max_requests without failing a request", async () => {
    const s = await startServer({ workers: 1, args: ["--max-requests", "3"] });
    const seen = new Set();
    for (let i = 0; i < 10; i++) {
      const res = await request(s.url("/pid"));
      assert.equal(res.status, 200);
      seen.add(res.body);
    }
    assert.ok(seen.size >= 3, `expected at least 3 worker pids, saw ${seen.size}`);
    const m = await waitFor(
      async () => {
        const m = await s.scrape();
        return m.sum("gunicorn_master_worker_restarts_total", { reason: "max_requests" }) >= 3 && m;
      },
      { what: "max_requests restarts counted" },
    );
    assert.ok(m.sum("gunicorn_worker_requests_total") <= 10);
    // Exact once a flush interval (0.2 s in tests) has passed, across dead and live workers.
    await sleep(400);
    assert.equal(
      await s.scrape().then((x) => x.sum("gunicorn_worker_requests_total")),
      10,
      "every request counted across recycled workers",
    );
  });

  it("adds a worker on TTIN and removes one on TTOU", async () => {
    const s = await startServer({ workers: 2 });
    s.signal("SIGTTIN");
    await waitFor(() => s.workerPids().length === 3, { what: "3 workers" });
    s.signal("SIGTTOU");
    await sleep(100);
    s.signal("SIGTTOU");
    await waitFor(() => s.workerPids().length === 1, { what: "1 worker" });
    // Retired workers drain first; each is counted when it has exited.
    const m = await waitFor(
      async () => {
        const m = await s.scrape();
        return (
          m.sum("gunicorn_workers") === 1 &&
          m.sum("gunicorn_master_worker_restarts_total", { reason: "scale_down" }) === 2 &&
          m
        );
      },
      { what: "two scale-downs counted" },
    );
    assert.equal(m.sum("gunicorn_master_worker_restarts_total"), 2);
  });

  it("reloads on HUP under continuous load with zero failed requests and new workers", async () => {
    const s = await startServer({ workers: 2 });
    const old = s.workerPids();
    const load = loadLoop(s.url(""), { concurrency: 4 });
    await sleep(500);
    s.signal("SIGHUP");
    await waitFor(
      () => {
        const pids = s.workerPids();
        return pids.length === 2 && pids.every((p) => !old.includes(p));
      },
      { timeout: 15_000, what: "a new generation of workers" },
    );
    await sleep(500);
    const stats = await load.stop();
    assert.equal(stats.failed, 0, `failed requests: ${stats.errors.slice(0, 5).join("; ")}`);
    assert.ok(stats.ok > 20, `load ran (${stats.ok} requests)`);
    assert.match(s.logs(), /reload complete/);
  });

  // Sync: regression, a connection handed to a worker just as it became idle and exited was lost.
  // Async workers accept differently: a connection starts reading as it is accepted, and a
  // stopping worker hands what it still accepts round the master.
  for (const [workerClass, how] of [
    ["sync", "sync workers hand connections around"],
    ["async", "async workers read connections as they accept them"],
  ]) {
    it(`survives 10 reloads in a row under load (${how}) with zero failed requests`, async () => {
      const s = await startServer({ workers: 2, args: ["-k", workerClass] });
      const load = loadLoop(s.url(""), { concurrency: 8 });
      try {
        for (let i = 1; i <= 10; i++) {
          s.signal("SIGHUP");
          await waitFor(() => (s.logs().match(/reload complete/g) ?? []).length >= i, {
            timeout: 15_000,
            what: `reload ${i}`,
          });
        }
      } finally {
        const stats = await load.stop();
        assert.equal(stats.failed, 0, `failed requests: ${stats.errors.slice(0, 5).join("; ")}`);
        assert.ok(stats.ok > 100, `load ran (${stats.ok} requests)`);
      }
    });
  }

  it("lets an in-flight request finish on TERM, then exits 0", async () => {
    const s = await startServer({ workers: 1 });
    const slow = request(s.url("/sleep?ms=1500"));
    await sleep(300);
    s.signal("SIGTERM");
    const res = await slow;
    assert.equal(res.status, 200);
    const { code } = await s.exited;
    assert.equal(code, 0);
  });

  it("stops quickly on INT even with a request in flight", async () => {
    const s = await startServer({ workers: 1 });
    request(s.url("/sleep?ms=10000")).catch(() => {});
    await sleep(200);
    const t0 = Date.now();
    s.signal("SIGINT");
    const { code } = await s.exited;
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 3000, "fast stop does not wait for the request");
  });

  it("reopens the error and access logs on USR1 (logrotate)", async () => {
    const dir = tempDir();
    const errorLog = join(dir, "error.log");
    const accessLog = join(dir, "access.log");
    const s = await startServer({
      workers: 1,
      args: ["--error-logfile", errorLog, "--access-logfile", accessLog],
      waitWorkers: 0,
    });
    await waitFor(() => existsSync(errorLog) && /Booted worker/.test(readFileSync(errorLog, "utf8")), {
      what: "worker boot in the error log",
    });
    await request(s.url("/before"));
    await waitFor(() => existsSync(accessLog) && readFileSync(accessLog, "utf8").includes("/before"));
    renameSync(errorLog, `${errorLog}.1`);
    renameSync(accessLog, `${accessLog}.1`);
    s.signal("SIGUSR1");
    await waitFor(() => existsSync(errorLog) && readFileSync(errorLog, "utf8").includes("reopened log files"), {
      what: "a new error log",
    });
    await sleep(200);
    await request(s.url("/after"));
    await waitFor(() => existsSync(accessLog) && readFileSync(accessLog, "utf8").includes("GET /after HTTP/1.1"), {
      what: "a new access log",
    });
    assert.ok(!readFileSync(`${accessLog}.1`, "utf8").includes("/after"), "the moved file no longer receives lines");
    assert.match(
      readFileSync(accessLog, "utf8"),
      /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/after HTTP\/1\.1" 200 \d+ "-" "-"$/m,
    );
  });

  it("upgrades on USR2: a new master serves on the same sockets, the old pidfile becomes FILE.2", async () => {
    const dir = tempDir();
    const pidfile = join(dir, "gpe.pid");
    const s = await startServer({ workers: 1, args: ["-p", pidfile] });
    assert.equal(Number(readFileSync(pidfile, "utf8")), s.pid);
    const load = loadLoop(s.url(""), { concurrency: 2 });
    s.signal("SIGUSR2");
    const newPid = await waitFor(
      () => {
        const pid = existsSync(pidfile) ? Number(readFileSync(pidfile, "utf8")) : 0;
        return pid && pid !== s.pid && existsSync(`${pidfile}.2`) ? pid : 0;
      },
      { what: "the new master's pidfile" },
    );
    await waitFor(() => (s.logs().match(/Booted worker/g) ?? []).length >= 2, { what: "the new master's worker" });
    s.signal("SIGTERM");
    await s.exited;
    await sleep(300);
    const stats = await load.stop();
    assert.equal(stats.failed, 0, `failed requests: ${stats.errors.slice(0, 5).join("; ")}`);
    assert.ok(alive(newPid), "the new master runs on");
    assert.equal((await request(s.url("/"))).status, 200);
    process.kill(newPid, "SIGTERM");
    await waitFor(() => !alive(newPid), { what: "the new master to stop" });
    assert.ok(!existsSync(pidfile), "the new master removed its pidfile");
  });
});
