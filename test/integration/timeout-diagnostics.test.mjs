// A worker that times out: a 504 for its request, and where its loop was blocked, in the log.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, stopAll, request, waitFor, alive, FIXTURES } from "../helpers/harness.mjs";

after(stopAll);

describe("timeout diagnostics", () => {
  for (const [workerClass, extra] of [
    ["sync", []],
    ["async", []],
    ["thread", ["--threads", "2"]],
  ]) {
    it(`logs where a ${workerClass} worker is stuck on its very first request, answers 504, and replaces it`, async () => {
      const s = await startServer({
        app: join(FIXTURES, "stuck.mjs"),
        workers: 1,
        args: ["-k", workerClass, "-t", "3", ...extra],
      });
      const [stuckPid] = s.workerPids();
      // The stuck request is the first the worker takes, right after it is ready: a new release's
      // first requests are when diagnostics matter most.
      const res = await request(s.url(`/stuck?case=${workerClass}`), { timeout: 20_000 });
      assert.equal(res.status, 504);
      await waitFor(() => /WORKER TIMEOUT/.test(s.logs()), { timeout: 15_000, what: "the timeout line" });
      const line = s
        .logs()
        .split("\n")
        .find((l) => l.includes("WORKER TIMEOUT"));
      const message = JSON.parse(line).msg;
      assert.match(message, new RegExp(`WORKER TIMEOUT \\(pid:${stuckPid}, slot 1\\): blocked for \\d`));
      assert.match(message, new RegExp(`serving GET /stuck\\?case=${workerClass} \\(\\d`));
      assert.match(message, /at spinInsideStuckFixture \(file:\/\/.*stuck\.mjs:3:\d+\)/);
      await waitFor(() => !alive(stuckPid), { timeout: 10_000, what: "the stuck worker to be killed" });
      await waitFor(async () => (await request(s.url("/"))).status === 200, {
        timeout: 20_000,
        what: "the replacement to serve",
      });
      const m = await waitFor(
        async () => {
          const m = await s.scrape();
          return m.sum("gunicorn_master_worker_restarts_total", { reason: "timeout" }) === 1 && m;
        },
        { what: "the timeout restart to be counted" },
      );
      assert.ok(m);
    });
  }
});
