// Abuse from outside the process tree: the metrics store's directory tampered with, deleted or
// full, and hostile clients. Split from faults.test.mjs so each file stays well inside the
// per-file timeout on a loaded machine.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import http from "node:http";
import net from "node:net";
import { join } from "node:path";
import { startServer, stopAll, request, waitFor } from "../helpers/harness.mjs";

after(stopAll);

const rssOf = (pid) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) * 1024;

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
