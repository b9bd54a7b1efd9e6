// Nothing a test starts outlives it: not when the test runner is killed outright, and not when
// gpe-server's own parent dies (--die-with-parent).
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawn } from "node:child_process";
import {
  CLI,
  FIXTURES,
  ROOT,
  adopt,
  alive,
  childPids,
  freePort,
  listenArgs,
  stopAll,
  tempDir,
  waitFor,
  sleep,
} from "../helpers/harness.mjs";

after(stopAll);

/** Starts a plain node parent that spawns gpe-server (its own process group) and then just waits. */
async function serverUnderParent(extraArgs) {
  const port = await freePort();
  const metricsPort = await freePort();
  const dir = tempDir("gpe-store-");
  const errorLog = join(dir, "error.log");
  const args = [
    "-w",
    "2",
    ...listenArgs(port, metricsPort, dir),
    "--error-logfile",
    errorLog,
    ...extraArgs,
    join(FIXTURES, "app.mjs"),
  ];
  const script = `const c = require("node:child_process").spawn(process.execPath, ${JSON.stringify([CLI, ...args])}, { detached: true, stdio: "ignore" });
    console.log(c.pid); setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ["-e", script], { detached: true, stdio: ["ignore", "pipe", "inherit"] });
  adopt(parent.pid);
  const master = Number(await new Promise((resolve) => parent.stdout.once("data", (d) => resolve(String(d).trim()))));
  adopt(master);
  const log = () => (existsSync(errorLog) ? readFileSync(errorLog, "utf8") : "");
  const workers = await waitFor(() => (childPids(master).length === 2 ? childPids(master) : null), {
    timeout: 20_000,
    what: () => `2 workers; log:\n${log()}`,
  });
  await waitFor(() => fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok), {
    timeout: 20_000,
    what: "the server to answer",
  });
  return { parent, master, pids: [master, ...workers], port, log };
}

describe("no orphans", () => {
  it("SIGKILL of the test runner mid-test leaves no gpe-server process behind", async () => {
    const out = join(tempDir("gpe-probe-"), "pids.json");
    // Without the outer runner's marker, so that the inner one runs as a runner of its own.
    const { NODE_TEST_CONTEXT, ...env } = process.env;
    const runner = spawn(process.execPath, ["--test", join(FIXTURES, "orphan-probe.mjs")], {
      cwd: ROOT,
      detached: true,
      stdio: "ignore",
      env: { ...env, GPE_PROBE_OUT: out },
    });
    adopt(runner.pid);
    await waitFor(() => existsSync(out) && readFileSync(out, "utf8").length > 0, {
      timeout: 30_000,
      what: "the inner test to start its server",
    });
    const { pids } = JSON.parse(readFileSync(out, "utf8"));
    assert.equal(pids.length, 3);
    assert.ok(pids.every(alive), "the server runs before the runner is killed");
    process.kill(runner.pid, "SIGKILL");
    await waitFor(() => pids.every((pid) => !alive(pid)), {
      timeout: 5000,
      what: () => `no process left of ${pids.filter(alive).join(", ")}`,
    });
  });

  it("--die-with-parent: the master stops when the process that started it dies", async () => {
    const { parent, pids } = await serverUnderParent(["--die-with-parent"]);
    process.kill(parent.pid, "SIGKILL");
    await waitFor(() => pids.every((pid) => !alive(pid)), {
      timeout: 10_000,
      what: () => `no process left of ${pids.filter(alive).join(", ")}`,
    });
  });

  it("without --die-with-parent the master outlives its parent (as a daemon should)", async () => {
    const { parent, master, pids, port, log } = await serverUnderParent([]);
    process.kill(parent.pid, "SIGKILL");
    await sleep(1500);
    const gone = pids.filter((pid) => !alive(pid));
    assert.deepEqual(gone, [], `master ${master} and its workers still run; the log:\n${log()}`);
    assert.deepEqual(
      childPids(master),
      pids.slice(1).sort((a, b) => a - b),
      "the same workers, and no others",
    );
    assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200);
  });
});
