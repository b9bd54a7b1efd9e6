// A graceful stop awaits the app's close() and worker_exit within graceful_timeout.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, stopAll, request, tempDir, FIXTURES } from "../helpers/harness.mjs";

after(stopAll);

describe("awaited shutdown", () => {
  it("awaits the app's close(), then an async worker_exit (700 ms), then on_exit, on TERM", async () => {
    const marks = tempDir();
    const s = await startServer({
      app: join(FIXTURES, "closing.mjs"),
      workers: 1,
      args: ["-c", join(FIXTURES, "exit-hooks.conf.mjs")],
      env: { GPE_TEST_MARKS: marks },
    });
    assert.equal((await request(s.url("/"))).status, 200);
    const [worker] = s.workerPids();
    s.signal("SIGTERM");
    const { code } = await s.exited;
    assert.equal(code, 0, s.logs());
    const at = (name) => Number(readFileSync(join(marks, name), "utf8"));
    assert.ok(existsSync(join(marks, `close-${worker}`)), "the app's close() ran to its end");
    assert.ok(existsSync(join(marks, `worker_exit-${worker}`)), "worker_exit ran to its end");
    assert.ok(existsSync(join(marks, "on_exit")), "on_exit ran to its end");
    assert.ok(at(`worker_exit-${worker}`) - at(`close-${worker}`) >= 650, "worker_exit began after close() ended");
    assert.ok(at("on_exit") >= at(`worker_exit-${worker}`), "on_exit came after the worker was done");
  });
});
