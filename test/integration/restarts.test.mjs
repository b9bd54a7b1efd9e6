// Workers that restart after every request (--max-requests 1): the store stays bounded and exact,
// and the master lets go of what it held for exited workers. Each restart is a worker boot (about
// a second on a loaded 2-core machine), so these have a file, and its timeout, of their own.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readlinkSync } from "node:fs";
import { startServer, stopAll, request, waitFor, alive, sleep } from "../helpers/harness.mjs";

after(stopAll);

describe("restarting workers", () => {
  it("keeps the file count bounded and every count intact over 40 worker restarts", async () => {
    const s = await startServer({ workers: 2, args: ["--max-requests", "1"] });
    const N = 40;
    for (let i = 0; i < N; i++) assert.equal((await request(s.url("/"))).status, 200);
    const m = await waitFor(
      async () => {
        const m = await s.scrape();
        return m.sum("gunicorn_worker_requests_total") === N && m;
      },
      { timeout: 20_000, what: `${N} requests counted` },
    );
    assert.ok(m.sum("gunicorn_master_worker_restarts_total", { reason: "max_requests" }) >= N - 2);
    const files = readdirSync(s.dir).filter((f) => f.endsWith(".json"));
    assert.ok(files.length <= 2 + 3, `store holds ${files.length} files: ${files.join(", ")}`);
    assert.equal(
      m
        .find("gunicorn_worker_requests_total")
        .filter((x) => x.labels.worker_id)
        .every((x) => /^worker_[12]$/.test(x.labels.worker_id)),
      true,
      "worker_id stays bounded by slots",
    );
  });

  it("holds no /proc file of an exited worker open, however fast workers restart", async () => {
    // The master samples each worker's CPU and memory from /proc. pidusage kept each stat file
    // open between readings, and never closed one whose process was reaped between its open and
    // its first read: fast restarts leaked them. The master now opens, reads and closes.
    const s = await startServer({ workers: 2, args: ["--max-requests", "1"] });
    const deadStatFiles = () =>
      readdirSync(`/proc/${s.pid}/fd`).flatMap((fd) => {
        let target = "";
        try {
          target = readlinkSync(`/proc/${s.pid}/fd/${fd}`);
        } catch {
          return [];
        }
        const pid = /^\/proc\/(\d+)\/stat/.exec(target)?.[1];
        return pid && !alive(Number(pid)) ? [pid] : [];
      });
    for (let i = 0; i < 30; i++) {
      assert.equal((await request(s.url("/"))).status, 200);
      assert.deepEqual(deadStatFiles(), [], `after request ${i + 1}`);
    }
    await sleep(5500); // a sampling round of the master
    assert.deepEqual(deadStatFiles(), []);
    assert.ok((await s.scrape()).sum("gunicorn_worker_memory_bytes") > 0, "live workers are still sampled");
  });
});
