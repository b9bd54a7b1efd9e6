// `gpe-server reload | scale N | stop` against a real master, found by its pidfile or its metrics
// URL; `status` given the /metrics URL users paste; --help with defaults and environment.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, stopAll, runCli, tempDir, waitFor, alive, childPids } from "../helpers/harness.mjs";

after(stopAll);

/** A pid no process has: a dead master's, as a stale pidfile holds it. */
async function deadPid() {
  const r = await runCli(["--version"]);
  return r.pid;
}

describe("control commands", () => {
  it("scale 3, scale 1, reload and stop act on the master named by --pid, and say what they did", async () => {
    const pidfile = join(tempDir(), "gpe.pid");
    const s = await startServer({ workers: 2, args: ["-p", pidfile] });
    const workersOf = () => childPids(s.pid).length;

    const up = await runCli(["scale", "3", "--pid", pidfile]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`^scaled master ${s.pid} from 2 to 3 workers \\(\\d+, \\d+, \\d+\\)\\n$`));
    await waitFor(() => workersOf() === 3, { what: "3 worker processes" });

    const down = await runCli(["scale", "1", "--pid", pidfile]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /from 3 to 1 workers \((\d+)\)/);
    const [, kept] = /\((\d+)\)/.exec(down.stdout);
    await waitFor(() => workersOf() === 1, { what: "1 worker process" });

    const same = await runCli(["scale", "1", "--pid", pidfile]);
    assert.match(same.stdout, /already runs 1 workers/);

    const reload = await runCli(["reload", "--pid", pidfile], { timeout: 40_000 });
    assert.equal(reload.code, 0, reload.stderr);
    // HUP re-reads the settings: the pool is the configured 2 again, none of them the old worker.
    const m = new RegExp(`^reloaded master ${s.pid}: workers ${kept} -> (\\d+), (\\d+)\\n$`).exec(reload.stdout);
    assert.ok(m, reload.stdout);
    assert.ok(!m.slice(1).includes(kept));

    const stop = await runCli(["stop", "--pid", pidfile], { timeout: 40_000 });
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, new RegExp(`^stopped master ${s.pid} in \\d+\\.\\d s\\n$`));
    assert.ok(!alive(s.pid), "the master is gone when stop returns");
    assert.match(s.logs(), /Handling signal: term/);
  });

  it("finds the master by its metrics URL, given as the /metrics URL", async () => {
    const s = await startServer({ workers: 1 });
    const url = `http://127.0.0.1:${s.metricsPort}/metrics`;
    const up = await runCli(["scale", "2", "--metrics-url", url]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`scaled master ${s.pid} from 1 to 2 workers`));
    const status = await runCli(["status", "--metrics-url", url]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /worker_1 .* running/);
    assert.match(status.stdout, /worker_2 .* running/);
    const stop = await runCli(["stop", "--metrics-url", url], { timeout: 40_000 });
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(!alive(s.pid));
  });

  for (const command of [["reload"], ["scale", "3"], ["stop"], ["status"]]) {
    it(`${command[0]} against a stale pidfile: one line, exit 1`, async () => {
      const pidfile = join(tempDir(), "stale.pid");
      const pid = await deadPid();
      writeFileSync(pidfile, `${pid}\n`);
      const r = await runCli([...command, "--pid", pidfile]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, `gpe-server ${command[0]}: no process with pid ${pid} (a stale pidfile ${pidfile}?)\n`);
    });
  }

  it("a missing pidfile, an unreachable URL and a bad count are one line each", async () => {
    const missing = await runCli(["stop", "--pid", "/nonexistent/gpe.pid"]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "gpe-server stop: cannot read pidfile /nonexistent/gpe.pid (ENOENT)\n");
    const nowhere = await runCli(["reload", "--metrics-url", "http://127.0.0.1:9/metrics"]);
    assert.equal(nowhere.code, 1);
    assert.match(
      nowhere.stderr,
      /^gpe-server reload: cannot reach http:\/\/127\.0\.0\.1:9\/status\.json: ECONNREFUSED\n$/,
    );
    const zero = await runCli(["scale", "0", "--pid", "/x"]);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /^gpe-server scale: .*expected a number of workers from 1 to 1024\n$/);
  });
});

describe("--help", () => {
  it("shows each setting's default and environment variables", async () => {
    const r = await runCli(["--help"]);
    assert.equal(r.code, 0);
    const help = r.stdout.replace(/\s+/g, " ");
    assert.match(help, /-w, --workers <N> .*\[default: 1\] \[env: GUNICORN_WORKERS, WEB_CONCURRENCY\]/);
    assert.match(help, /--forwarded-allow-ips <LIST> .*\[default: 127\.0\.0\.1,::1\] \[env: FORWARDED_ALLOW_IPS\]/);
    assert.match(help, /gpe-server scale N/);
  });
});
