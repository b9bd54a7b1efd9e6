after(stopAll);
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  startServer,
  stopAll,
  groupGone,
  request,
  waitFor,
  runCli,
  tempDir,
  sleep,
  alive,
  FIXTURES,
} from "../helpers/harness.mjs";

after(stopAll);

describe("crash loop", () => {
  it("respawns a worker that keeps crashing after boot with a backoff, not in a tight loop", async () => {
    const s = await startServer({ workers: 1, app: join(FIXTURES, "crash-after-boot.mjs"), waitWorkers: 1 });
    const t0 = Date.now();
    const booted = () => (s.logs().match(/Booted worker/g) ?? []).length;
    // Waits for the event, then watches at least 4 s; the rate bound scales with what was watched.
    await waitFor(() => booted() >= 3, { timeout: 20_000, what: () => `3 boots (${booted()} so far)` });
    await sleep(Math.max(0, 4000 - (Date.now() - t0)));
    const boots = booted();
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(boots >= 3, `it was respawned (${boots} boots)`);
    assert.ok(boots <= 10 * (seconds / 4), `at most a few forks a second: ${boots} boots in ${seconds.toFixed(1)} s`);
    assert.ok(alive(s.pid), "the master carries on");
    assert.match(s.logs(), /crashed \d+ times in a row; next start in \d+ ms/);
    const m = await s.scrape();
    assert.ok(m.sum("gunicorn_master_worker_restarts_total", { reason: "crash" }) >= 2);
  });
});

describe("exit codes after boot", () => {
  it("treats a worker that exits with 3 or 4 after it was ready as a crash: respawned, the master serves on", async () => {
    const s = await startServer({ workers: 1, app: join(FIXTURES, "exit-on-request.mjs"), waitWorkers: 1 });
    for (const code of [3, 4]) {
      const [before] = s.workerPids();
      const res = await request(s.url(`/exit?code=${code}`));
      assert.equal(res.status, 200);
      await waitFor(() => !alive(before), { what: `the worker that exited with ${code} to be gone` });
      await waitFor(async () => (await request(s.url("/"))).status === 200 && s.workerPids()[0] !== before, {
        timeout: 15_000,
        what: `a replacement for the worker that exited with ${code}`,
      });
      assert.match(s.logs(), new RegExp(`Worker \\(pid:${before}, slot 1\\) exited with code ${code}`));
    }
    assert.ok(alive(s.pid), "the master carries on");
    assert.doesNotMatch(s.logs(), /failed to boot/);
    const m = await waitFor(
      async () => {
        const m = await s.scrape();
        return m.sum("gunicorn_master_worker_restarts_total", { reason: "crash" }) === 2 && m;
      },
      { what: "both exits to be counted as crashes" },
    );
    assert.equal(m.sum("gunicorn_master_worker_restarts_total", { reason: "boot_error" }), 0);
  });
});

describe("restart policy", () => {
  it("gives up after --max-restarts unstable starts in a row: one line, a non-zero exit, nothing left", async () => {
    const store = tempDir();
    const r = await runCli(
      [
        "--multiproc-dir",
        store,
        "--metrics-port",
        "0",
        "-b",
        "127.0.0.1:0",
        "-w",
        "1",
        "--max-restarts",
        "3",
        "--restart-delay",
        "10",
        join(FIXTURES, "crash-after-boot.mjs"),
      ],
      { timeout: 60_000 },
    );
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("gpe-server:"));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /slot 1: 3 unstable starts in a row .*giving up \(max_restarts 3\)/);
    await sleep(100);
    assert.ok(groupGone(r.pid), "no process of the server is left");
  });
});
