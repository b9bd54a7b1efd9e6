// Every hook of a config file runs where and when its catalogue says, with the arguments it names.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, stopAll, request, waitFor, tempDir, FIXTURES } from "../helpers/harness.mjs";

after(stopAll);

describe("hooks", () => {
  it("run at gunicorn's moments, in master and workers; a hook that throws is logged and harmless", async () => {
    const log = join(tempDir(), "hooks.log");
    writeFileSync(log, "");
    const s = await startServer({
      workers: 1,
      args: ["-c", join(FIXTURES, "hooks.conf.mjs")],
      env: { GPE_HOOK_LOG: log },
    });
    await request(s.url("/hello"));
    s.signal("SIGTTIN");
    await waitFor(() => readFileSync(log, "utf8").includes("post_worker_init slot=2"), { what: "the second worker" });
    s.signal("SIGHUP");
    await waitFor(() => /reload complete/.test(s.logs()), { timeout: 15_000, what: "reload" });
    s.signal("SIGTERM");
    assert.equal((await s.exited).code, 0);
    const lines = readFileSync(log, "utf8").split("\n");
    for (const expected of [
      "on_starting",
      "pre_fork slot=1",
      "post_worker_init slot=1",
      "when_ready 1",
      "pre_request /hello",
      "post_request /hello 200",
      "nworkers_changed 1->2",
      "on_reload",
      "child_exit slot=1",
      "worker_exit slot=1",
      "on_exit",
    ]) {
      assert.ok(lines.includes(expected), `hook line ${JSON.stringify(expected)} in:\n${lines.join("\n")}`);
    }
    assert.ok(lines.some((l) => /^post_fork slot=1 pid=\d+$/.test(l)));
    assert.ok(lines.indexOf("on_starting") < lines.indexOf("pre_fork slot=1"));
    assert.ok(lines.indexOf("pre_request /hello") < lines.indexOf("post_request /hello 200"));
    assert.equal(lines.filter((l) => l === "on_exit").length, 1);
    assert.match(s.logs(), /hook on_reload failed: on_reload exploded/);
  });
});
