// The fault suite: things going wrong under load, and what the load saw. Every number asserted
// here is also what the closing note and docs/reliability.md report.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import http from "node:http";
import net from "node:net";
import { join } from "node:path";
import { startServer, stopAll, request, waitFor, sleep, loadLoop, alive, FIXTURES } from "../helpers/harness.mjs";

after(stopAll);

const rssOf = (pid) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) * 1024;

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
    const m = await s.scrape();
    const restarts = JSON.stringify(m.find("gunicorn_master_worker_restarts_total").filter((x) => x.value > 0));
    assert.equal(
      m.sum("gunicorn_master_worker_restarts_total", { reason: "crash" }),
      2,
      `restarts: ${restarts}; logs:\n${s.logs()}`,
    );
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

describe("the store directory under abuse", () => {
  it("a truncated file, random bytes and a foreign file: skipped, logged once, counted; scrapes and the app go on", async () => {
    const s = await startServer({ workers: 1 });
    await request(s.url("/"));
    writeFileSync(join(s.dir, "gpe_w9_999999.json"), '{"format":"gpe-store-1","kind":"worker","fam');
    writeFileSync(
      join(s.dir, "gpe_w8_999998.json"),
      Buffer.from(Array.from({ length: 512 }, () => Math.floor(Math.random() * 256))),
    );
    writeFileSync(join(s.dir, "gpe_w7_999997.json"), JSON.stringify({ hello: "not ours" }));
    for (let i = 0; i < 3; i++) {
      const m = await s.scrape();
      assert.equal(m.status, 200);
    }
    const m = await waitFor(async () => {
      const m = await s.scrape();
      return m.sum("gunicorn_worker_requests_total") === 1 && m;
    });
    assert.ok(m.sum("gunicorn_metrics_store_errors_total", { kind: "corrupt" }) >= 2);
    assert.ok(m.sum("gunicorn_metrics_store_errors_total", { kind: "foreign" }) >= 1);
    for (const f of ["gpe_w9_999999.json", "gpe_w8_999998.json", "gpe_w7_999997.json"]) {
      await waitFor(() => s.logs().includes(`skipping ${f}`), { what: `${f} logged` });
      assert.equal(
        (s.logs().match(new RegExp(`skipping ${f}`, "g")) ?? []).length,
        1,
        `${f} logged once over several scrapes`,
      );
    }
    assert.equal((await request(s.url("/"))).status, 200);
  });

  it("the directory deleted while running: recreated, nothing counted is lost", async () => {
    const s = await startServer({ workers: 2, args: ["--max-requests", "5"] });
    for (let i = 0; i < 12; i++) assert.equal((await request(s.url("/"))).status, 200); // some workers retire: the archive holds their counts
    await waitFor(async () => (await s.scrape()).sum("gunicorn_worker_requests_total") === 12, { what: "12 counted" });
    // Workers may write a file while the directory goes (a replacement's first snapshot): retry.
    for (let attempt = 1; ; attempt++) {
      try {
        rmSync(s.dir, { recursive: true, force: true });
        break;
      } catch (err) {
        if (err.code !== "ENOTEMPTY" || attempt === 20) throw err;
      }
    }
    const first = await s.scrape();
    assert.equal(first.status, 200);
    await waitFor(() => /was removed; recreated it/.test(s.logs()), { what: "the recreation logged" });
    for (let i = 0; i < 3; i++) assert.equal((await request(s.url("/"))).status, 200);
    // Live workers rewrite their files (at the next change, and every 5 s regardless).
    await waitFor(async () => (await s.scrape()).sum("gunicorn_worker_requests_total") === 15, {
      timeout: 10_000,
      what: "all 15 requests counted again",
    });
  });

  it("the disk full (a tiny tmpfs): writes fail and are counted, scrapes and the app go on, and it recovers", async (t) => {
    if (process.getuid() !== 0) return t.skip("mounting a tmpfs needs root");
    const dir = mkdtempSync(join(tmpdir(), "gpe-tmpfs-")); // not tempDir(): stopAll must not remove a mount point
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", dir]);
    if (mounted.status !== 0) return t.skip(`cannot mount a tmpfs here: ${String(mounted.stderr).trim()}`);
    try {
      const store = join(dir, "store");
      mkdirSync(store, { mode: 0o700 });
      const s = await startServer({ workers: 1, args: ["--multiproc-dir", store] });
      await request(s.url("/"));
      await waitFor(async () => (await s.scrape()).sum("gunicorn_worker_requests_total") === 1);
      // Fill the filesystem.
      const filler = join(dir, "filler");
      spawnSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=4k", "count=1000"], { stdio: "ignore" });
      for (let i = 0; i < 5; i++) assert.equal((await request(s.url("/"))).status, 200, "the app keeps serving");
      const m = await waitFor(
        async () => {
          const m = await s.scrape();
          return m.sum("gunicorn_metrics_store_errors_total", { kind: "write" }) >= 1 && m;
        },
        { what: "failed writes counted" },
      );
      assert.equal(m.status, 200);
      await waitFor(() => /cannot write metrics file/.test(s.logs()), { what: "the failed write logged" });
      assert.equal((s.logs().match(/cannot write metrics file/g) ?? []).length, 1, "logged once, not once per flush");
      rmSync(filler);
      await waitFor(async () => (await s.scrape()).sum("gunicorn_worker_requests_total") === 6, {
        timeout: 10_000,
        what: "writes to resume with every request counted",
      });
    } finally {
      await stopAll();
      spawnSync("umount", ["-l", dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("abusive clients", () => {
  it("a slowloris client gets 408 after --header-timeout and cannot hold a sync worker", async () => {
    const s = await startServer({ workers: 1, args: ["-k", "sync", "--header-timeout", "1"] });
    const socket = net.connect(s.port, "127.0.0.1");
    let received = "";
    socket.on("data", (d) => {
      received += d;
      if (/^HTTP\/1\.1 408/.test(received)) socket.destroy(); // answered: stop dripping
    });
    socket.on("error", () => {}); // a reset after the answer is fine; the answer is what is checked
    const closed = new Promise((resolve) => socket.on("close", resolve));
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n");
    const drip = setInterval(() => socket.writable && socket.write("X-Drip: 1\r\n"), 200);
    const t0 = Date.now();
    const gaveUp = setTimeout(() => socket.destroy(), 8000);
    await closed;
    clearTimeout(gaveUp);
    clearInterval(drip);
    assert.ok(Date.now() - t0 < 4000, `dropped after ${Date.now() - t0} ms`);
    assert.match(received, /^HTTP\/1\.1 408/);
    assert.equal((await request(s.url("/"))).status, 200, "the worker serves others again");
    await waitFor(
      async () =>
        (await s.scrape()).sum("gunicorn_worker_error_handling_total", { error_type: "RequestTimeout" }) === 1,
      { what: "the 408 counted" },
    );
  });

  it("100 000 distinct URLs: failure series stay within the endpoint cap and the master's memory stays flat", async () => {
    const s = await startServer({ workers: 2, args: ["-k", "async", "--metrics-endpoint-limit", "50"] });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const hit = (path) =>
      new Promise((resolve, reject) => {
        http
          .get({ host: "127.0.0.1", port: s.port, path, agent }, (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode));
          })
          .on("error", reject);
      });
    let next = 0;
    const run = (count) =>
      Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < count) {
            const i = next++;
            const path = i % 2 ? `/fail/${i.toString(36)}/${"x".repeat(i % 200)}` : `/missing/${i}`;
            await hit(path);
          }
        }),
      );
    await run(20_000);
    await s.scrape();
    const rssAt20k = rssOf(s.pid);
    await run(100_000);
    agent.destroy();
    const m = await waitFor(
      async () => {
        const m = await s.scrape();
        return m.sum("gunicorn_worker_requests_total") === 100_000 && m;
      },
      { timeout: 20_000, what: "100 000 requests counted" },
    );
    const series = m.find("gunicorn_worker_failed_requests_total");
    // Per worker: 50 endpoints plus "other".
    assert.ok(series.length <= 2 * 51, `${series.length} failure series`);
    assert.equal(m.sum("gunicorn_worker_failed_requests_total"), 50_000);
    assert.ok(m.sum("gunicorn_worker_failed_requests_total", { endpoint: "other" }) > 40_000);
    const growth = rssOf(s.pid) - rssAt20k;
    console.log(
      `# master RSS ${(rssAt20k / 1048576).toFixed(1)} MiB after 20k URLs, +${(growth / 1048576).toFixed(1)} MiB after 100k; ${series.length} failure series`,
    );
    assert.ok(growth < 20 * 1048576, `master RSS grew by ${(growth / 1048576).toFixed(1)} MiB`);
  });
});
