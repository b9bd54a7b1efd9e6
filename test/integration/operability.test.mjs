// Saturation metrics, `gpe-server status` (also in a real terminal, via tmux) and the status page
// in a real headless Chromium.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { startServer, stopAll, request, waitFor, sleep, runCli, tempDir, ROOT } from "../helpers/harness.mjs";

after(stopAll);

const CHROMIUM = "/usr/bin/chromium";

describe("saturation metrics", () => {
  it("shows the worker with a request in flight as busy, and the pool's utilization", async () => {
    const s = await startServer({ workers: 2, args: ["-k", "sync"] });
    const slow = request(s.url("/sleep?ms=2500"));
    const m = await waitFor(
      async () => {
        const m = await s.scrape();
        return m.sum("gunicorn_worker_requests_in_flight") === 1 && m;
      },
      { what: "one request in flight" },
    );
    assert.equal(m.sum("gunicorn_workers_busy"), 1);
    assert.equal(m.sum("gunicorn_pool_utilization"), 0.5);
    assert.deepEqual(
      m.find("gunicorn_worker_capacity").map((x) => x.value),
      [1, 1],
    );
    const busy = m.find("gunicorn_worker_requests_in_flight").find((x) => x.value === 1).labels.worker_id;
    const status = JSON.parse((await request(`http://127.0.0.1:${s.metricsPort}/status.json`)).body);
    assert.equal(status.workers.find((w) => w.workerId === busy).inFlight, 1);
    assert.equal(status.summary.utilization, 0.5);
    await slow;
    await waitFor(async () => (await s.scrape()).sum("gunicorn_workers_busy") === 0, { what: "the pool idle again" });
  });

  it("reports capacity as threads for the thread worker and worker_connections for async", async () => {
    const t = await startServer({ workers: 1, args: ["-k", "thread", "--threads", "3"] });
    const a = await startServer({ workers: 1, args: ["-k", "async", "--worker-connections", "50"] });
    await waitFor(async () => (await t.scrape()).sum("gunicorn_worker_capacity") === 3, { what: "thread capacity" });
    await waitFor(async () => (await a.scrape()).sum("gunicorn_worker_capacity") === 50, { what: "async capacity" });
  });

  it("reports an idle worker's event loop as idle, and a CPU-bound one as busy and late", async () => {
    const s = await startServer({ workers: 1, args: ["-k", "async"] });
    const gauges = (m) => ({
      elu: m.sum("gunicorn_worker_event_loop_utilization"),
      lag: m.sum("gunicorn_worker_event_loop_lag_seconds"),
    });
    await sleep(2200); // two heartbeats of an idle worker
    const idle = gauges(await s.scrape());
    assert.ok(idle.elu < 0.2 && idle.lag < 0.05, `idle worker: ${JSON.stringify(idle)}`);
    // Back-to-back 150 ms busy loops for about 3 s: every heartbeat in that time runs late.
    let busy = { elu: 0, lag: 0 };
    const load = (async () => {
      for (let i = 0; i < 20; i++) await request(s.url("/busy?ms=150"));
    })();
    for (let i = 0; i < 12; i++) {
      await sleep(250);
      const g = gauges(await s.scrape());
      busy = { elu: Math.max(busy.elu, g.elu), lag: Math.max(busy.lag, g.lag) };
    }
    await load;
    assert.ok(busy.elu > 0.8, `busy worker's utilization: ${busy.elu}`);
    assert.ok(busy.lag > 0.005 && busy.lag < 0.2, `busy worker's lag: ${busy.lag}`);
  });

  it("grows a blocked worker's heartbeat age, and counts connections waiting in the kernel's queue", async () => {
    const s = await startServer({ workers: 1, args: ["-t", "60"] });
    request(s.url("/hang"), { timeout: 20_000 }).catch(() => {});
    await sleep(300);
    const first = (await s.scrape()).sum("gunicorn_worker_heartbeat_age_seconds");
    // The only worker is blocked: new connections stay in the listening socket's accept queue.
    const sockets = await Promise.all(
      Array.from(
        { length: 3 },
        () =>
          new Promise((resolve, reject) => {
            const c = net.connect(s.port, "127.0.0.1", () => resolve(c));
            c.on("error", reject);
          }),
      ),
    );
    try {
      await sleep(1500);
      const m = await s.scrape();
      assert.ok(
        m.sum("gunicorn_worker_heartbeat_age_seconds") >= first + 1.2,
        `heartbeat age ${first} then ${m.sum("gunicorn_worker_heartbeat_age_seconds")}`,
      );
      // The accept queue is sampled every 5 s, off the scrape path.
      const q = await waitFor(
        async () => {
          const m = await s.scrape();
          return m.sum("gunicorn_listen_queue_length", { bind: `127.0.0.1:${s.port}` }) >= 3 && m;
        },
        { timeout: 8000, interval: 250, what: "3 connections in the kernel's accept queue" },
      );
      assert.ok(q.sum("gunicorn_listen_queue_max") >= 1);
    } finally {
      for (const c of sockets) c.destroy();
    }
  });

  it("puts restart reasons and the last exit code on the worker's own slot", async () => {
    const s = await startServer({ workers: 2 });
    const status = JSON.parse((await request(`http://127.0.0.1:${s.metricsPort}/status.json`)).body);
    const victim = status.workers.find((w) => w.slot === 2).pid;
    process.kill(victim, "SIGKILL");
    const m = await waitFor(
      async () => {
        const m = await s.scrape();
        return m.sum("gunicorn_worker_restarts_total", { worker_id: "worker_2", reason: "signal" }) === 1 && m;
      },
      { what: "the restart on worker_2" },
    );
    assert.equal(m.sum("gunicorn_worker_restarts_total", { worker_id: "worker_1" }), 0);
    assert.equal(m.sum("gunicorn_worker_last_exit_code", { worker_id: "worker_2" }), 137);
    const replaced = await waitFor(
      async () => {
        const status = JSON.parse((await request(`http://127.0.0.1:${s.metricsPort}/status.json`)).body);
        return status.workers.find((w) => w.slot === 2 && w.pid !== victim);
      },
      { what: "slot 2's replacement in /status.json" },
    );
    assert.deepEqual(replaced.restarts, { signal: 1 });
  });
});

describe("a worker's CPU figure", () => {
  it("is not its boot: none until a sample after it is ready, then what it uses now", async () => {
    const s = await startServer({ workers: 1 });
    const cpuNow = async () =>
      JSON.parse((await request(`http://127.0.0.1:${s.metricsPort}/status.json`)).body).workers[0].cpuPercent;
    // Right after boot the only figure would be the average since the process started: its boot.
    assert.equal(await cpuNow(), null);
    assert.equal((await s.scrape()).find("gunicorn_worker_cpu_percent").length, 0);
    // The next sample (every 5 s) measures the idle worker since it was ready.
    const { idle } = await waitFor(
      async () => {
        const idle = await cpuNow();
        return idle !== null && { idle };
      },
      { timeout: 12_000, interval: 250, what: "a CPU figure" },
    );
    assert.ok(idle < 20, `an idle worker's CPU: ${idle}`);
  });
});

describe("gpe-server status", () => {
  it("--json matches /metrics, found by --metrics-url and by --pid", async () => {
    const pidfile = join(tempDir(), "master.pid");
    const s = await startServer({ workers: 2, args: ["-p", pidfile] });
    for (let i = 0; i < 5; i++) await request(s.url("/"));
    const m = await waitFor(async () => {
      const m = await s.scrape();
      return m.sum("gunicorn_worker_requests_total") === 5 && m;
    });
    for (const how of [
      ["--metrics-url", `http://127.0.0.1:${s.metricsPort}`],
      ["--pid", pidfile],
    ]) {
      const r = await runCli(["status", ...how, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const status = JSON.parse(r.stdout);
      assert.equal(status.pid, s.pid);
      assert.deepEqual(status.workers.map((w) => w.pid).sort(), s.workerPids().sort());
      assert.equal(status.summary.requests, m.sum("gunicorn_worker_requests_total"));
      for (const w of status.workers) {
        assert.equal(w.requests, m.sum("gunicorn_worker_requests_total", { worker_id: w.workerId }));
        assert.equal(w.capacity, m.sum("gunicorn_worker_capacity", { worker_id: w.workerId }));
      }
    }
  });

  it("says what is wrong in one line when there is no master to ask", async () => {
    const none = await runCli(["status", "--metrics-url", "http://127.0.0.1:1"]);
    assert.equal(none.code, 1);
    assert.match(
      none.stderr,
      /^gpe-server status: cannot reach http:\/\/127\.0\.0\.1:1\/status\.json: ECONNREFUSED\n$/,
    );
    const missing = await runCli(["status", "--pid", "/nonexistent/master.pid"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read pidfile \/nonexistent\/master\.pid \(ENOENT\)/);
  });

  it("draws the table in a real terminal and redraws it with --watch (tmux)", async (t) => {
    if (spawnSync("tmux", ["-V"]).error) {
      t.skip("tmux not installed (apt-get install -y tmux)");
      return;
    }
    const s = await startServer({ workers: 3, args: ["-k", "sync"] });
    const socket = `gpe-test-${process.pid}`;
    const tmux = (...args) => spawnSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
    try {
      const started = tmux(
        "new-session",
        "-d",
        "-x",
        "150",
        "-y",
        "30",
        `${process.execPath} ${join(ROOT, "bin/gpe-server.js")} status --watch 0.5 --metrics-url http://127.0.0.1:${s.metricsPort}`,
      );
      assert.equal(started.status, 0, started.stderr);
      const screen = await waitFor(
        () => {
          const pane = tmux("capture-pane", "-p").stdout;
          return /worker_3/.test(pane) && pane;
        },
        { what: "the status table on the tmux screen" },
      );
      const lines = screen.split("\n");
      const header = lines.findIndex((l) => l.startsWith("SLOT"));
      assert.ok(header >= 0, screen);
      assert.match(
        lines[header],
        /^SLOT\s+PID\s+TYPE\s+STATE\s+BUSY\s+CONNS\s+REQS\s+REQ\/S\s+RSS\s+CPU%\s+UPTIME\s+HB\s+RESTARTS$/,
      );
      for (const [i, pid] of s
        .workerPids()
        .sort((a, b) => a - b)
        .entries())
        assert.match(
          screen,
          new RegExp(`worker_${i + 1}\\s+\\d+\\s+sync\\s+running\\s+0/1`),
          `row for slot ${i + 1} (pid ${pid})`,
        );
      assert.match(screen, /workers 3 \(target 3\)\s+busy 0\s+utilization 0%/);
      // --watch redraws in place: the request count changes on the same screen.
      for (let i = 0; i < 4; i++) await request(s.url("/"));
      await waitFor(
        () =>
          /req\/s [\d.]+\s+queued/.test(tmux("capture-pane", "-p").stdout) &&
          tmux("capture-pane", "-p")
            .stdout.split("\n")
            .filter((l) => /^worker_\d/.test(l))
            .reduce((n, l) => n + Number(l.split(/\s+/)[6]), 0) === 4,
        { what: "the redrawn table to show 4 requests" },
      );
      assert.equal(
        tmux("capture-pane", "-p")
          .stdout.split("\n")
          .filter((l) => l.startsWith("SLOT")).length,
        1,
        "redrawn in place, not appended",
      );
    } finally {
      tmux("kill-server");
    }
  });
});

describe("the status page", () => {
  it("shows one row per worker and a chart that updates, in headless Chromium", async (t) => {
    if (!existsSync(CHROMIUM)) {
      t.skip(`Chromium not installed at ${CHROMIUM} (apt-get install -y chromium); nothing was installed`);
      return;
    }
    const { chromium } = await import("playwright-core");
    const s = await startServer({ workers: 3 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
      const errors = [];
      page.on("pageerror", (err) => errors.push(err.message));
      await page.goto(`http://127.0.0.1:${s.metricsPort}/`);
      await page.waitForFunction(() => document.querySelectorAll("#workers tr").length === 3);
      const slots = await page.$$eval("#workers tr", (rows) => rows.map((r) => r.dataset.slot));
      assert.deepEqual(slots, ["1", "2", "3"]);
      const before = Number(await page.getAttribute("#chart", "data-points"));
      for (let i = 0; i < 10; i++) await request(s.url("/"));
      // The master samples every 2 s and the page polls every 2 s: new points arrive.
      await page.waitForFunction((n) => Number(document.getElementById("chart").dataset.points) >= n + 2, before, {
        timeout: 15_000,
      });
      const requests = await page.$$eval("#workers tr", (rows) =>
        rows.reduce((n, r) => n + Number(r.children[6].textContent), 0),
      );
      assert.equal(requests, 10);
      assert.deepEqual(errors, []);
      // Saved for the docs: .test-output/ on every run; docs/images/ when asked to refresh it.
      const where = process.env.UPDATE_DOCS_SCREENSHOT ? join(ROOT, "docs", "images") : join(ROOT, ".test-output");
      mkdirSync(where, { recursive: true });
      await page.screenshot({ path: join(where, "status-page.png") });
      assert.ok(existsSync(join(where, "status-page.png")));
    } finally {
      await browser.close();
    }
  });
});
