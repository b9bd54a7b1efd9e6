// What PM2 and gunicorn operators turn every week: worker identity, restart policy, memory limit,
// pool size, awaited shutdown and the timeout diagnostics. Real processes, real signals.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
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
  CLI,
} from "../helpers/harness.mjs";

after(stopAll);

describe("worker identity", () => {
  it("gives each worker NODE_APP_INSTANCE and GPE_WORKER_ID, and a replacement keeps its slot's", async () => {
    const s = await startServer({ app: join(FIXTURES, "identity.mjs"), workers: 2 });
    const seen = new Map();
    await waitFor(
      async () => {
        const who = JSON.parse((await request(s.url("/"))).body);
        seen.set(who.instance, who);
        return seen.size === 2;
      },
      { what: "both workers to answer" },
    );
    assert.deepEqual([...seen.keys()].sort(), ["0", "1"]);
    for (const [instance, who] of seen) assert.equal(who.id, `worker_${Number(instance) + 1}`);
    const first = seen.get("0");
    process.kill(first.pid, "SIGKILL");
    const replacement = await waitFor(
      async () => {
        const who = JSON.parse((await request(s.url("/"))).body);
        return who.instance === "0" && who.pid !== first.pid && who;
      },
      { timeout: 20_000, what: "the replacement in slot 1 to answer" },
    );
    assert.equal(replacement.id, "worker_1");
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

describe("memory limit", () => {
  it("replaces a leaking worker above --max-memory with no failed request and counts reason=memory", async () => {
    const s = await startServer({
      app: join(FIXTURES, "leaky.mjs"),
      workers: 2,
      args: ["-k", "async", "--max-memory", "160M"],
    });
    const stats = { ok: 0, failed: [] };
    let running = true;
    // Paced: 4 MB kept per request, at most 50 requests a second across both workers.
    const loops = [0, 1].map(async () => {
      while (running) {
        try {
          const res = await request(s.url("/"));
          if (res.status === 200) stats.ok++;
          else stats.failed.push(`status ${res.status}`);
        } catch (err) {
          stats.failed.push(err.message);
        }
        await sleep(40);
      }
    });
    try {
      await waitFor(
        async () => (await s.scrape()).sum("gunicorn_master_worker_restarts_total", { reason: "memory" }) >= 1,
        { timeout: 60_000, interval: 250, what: "a memory restart" },
      );
      await sleep(500);
    } finally {
      running = false;
      await Promise.all(loops);
    }
    assert.deepEqual(stats.failed, [], "no request failed");
    assert.ok(stats.ok > 0);
    assert.match(s.logs(), /uses \d+\.\d MiB, above max_memory 160\.0 MiB: replacing it/);
  });
});

describe("pool size", () => {
  const app = join(FIXTURES, "app.mjs");
  it("-w auto is the CPUs this process may use", async () => {
    const r = await runCli(["-w", "auto", "--print-config", app]);
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.split("\n").find((l) => l.startsWith("workers "));
    assert.match(line, new RegExp(`= ${availableParallelism()}  \\(cli: auto, `));
    const nproc = Number(spawnSync("nproc", { encoding: "utf8" }).stdout.trim());
    assert.equal(availableParallelism(), nproc);
  });

  it("-w auto follows a cgroup CPU quota", async (t) => {
    const cgroup = makeQuotaCgroup();
    if (typeof cgroup === "string") {
      t.skip(`cannot create a cgroup with a CPU quota here: ${cgroup}`);
      return;
    }
    try {
      const r = spawnSync(
        "sh",
        ["-c", `echo $$ > ${cgroup.procs} && exec "${process.execPath}" "${CLI}" -w auto --print-config "${app}"`],
        { encoding: "utf8", timeout: 15_000 },
      );
      assert.equal(r.status, 0, r.stderr);
      const line = r.stdout.split("\n").find((l) => l.startsWith("workers "));
      assert.match(line, /= 1 {2}\(cli: auto, cgroup CPU quota 1 /);
    } finally {
      cgroup.remove();
    }
  });
});

/** A cgroup (v2 if the cpu controller is there, else v1's cpu hierarchy) allowing one CPU, or why not. */
function makeQuotaCgroup() {
  if (availableParallelism() < 2) return "this machine has one CPU: a quota of one changes nothing";
  const name = `gpe-test-${process.pid}`;
  const v2 = "/sys/fs/cgroup";
  try {
    if (existsSync(`${v2}/cgroup.controllers`)) {
      if (!readFileSync(`${v2}/cgroup.controllers`, "utf8").split(/\s+/).includes("cpu"))
        return "cgroup v2 without the cpu controller";
      writeFileSync(`${v2}/cgroup.subtree_control`, "+cpu");
      const dir = `${v2}/${name}`;
      mkdirSync(dir);
      writeFileSync(`${dir}/cpu.max`, "100000 100000");
      return { procs: `${dir}/cgroup.procs`, remove: () => rmdirSync(dir) };
    }
    const dir = `${v2}/cpu/${name}`;
    mkdirSync(dir);
    writeFileSync(`${dir}/cpu.cfs_quota_us`, "100000");
    return { procs: `${dir}/cgroup.procs`, remove: () => rmdirSync(dir) };
  } catch (err) {
    return err.message;
  }
}

describe("recycling without a wait", () => {
  it("boots a standby for a worker near max_requests, which takes the slot the moment it retires", async () => {
    const s = await startServer({
      app: join(FIXTURES, "identity.mjs"),
      workers: 1,
      args: ["-k", "sync", "--max-requests", "2", "--log-level", "debug"],
    });
    const [first] = s.workerPids();
    const who = async () => JSON.parse((await request(s.url("/"))).body).pid;
    // One request left of 2: the master prestarts the successor, which boots but does not serve.
    assert.equal(await who(), first);
    await waitFor(() => /Booting worker with pid: \d+ \(slot 1, standby\)/.test(s.logs()), { what: "the standby" });
    const standby = Number(/Booting worker with pid: (\d+) \(slot 1, standby\)/.exec(s.logs())[1]);
    await waitFor(() => s.workerPids().includes(standby), { what: "the standby process" });
    await sleep(500);
    assert.equal(await who(), first, "the standby does not serve while the worker still may");
    // The second request ended the first worker: the standby serves the next one.
    const t0 = performance.now();
    assert.equal(await who(), standby);
    assert.ok(performance.now() - t0 < 1000, "no boot to wait for");
    assert.match(
      s.logs(),
      new RegExp(`Worker \\(pid:${first}, slot 1\\) served 2 requests \\(max_requests\\); retiring`),
    );
    // Counted when the old worker's exit is reaped, a moment after it stopped serving.
    await waitFor(
      async () => (await s.scrape()).sum("gunicorn_master_worker_restarts_total", { reason: "max_requests" }) === 1,
      { what: "the max_requests restart to be counted" },
    );
  });
});

describe("worker priority", () => {
  // Field 19 of a stat file; the command name before it may hold spaces.
  const niceIn = (statFile) => {
    const stat = readFileSync(statFile, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  };
  const niceOf = (pid) => niceIn(`/proc/${pid}/stat`);

  const ownNice = () => niceOf(process.pid);
  // Every thread's, since a priority belongs to a thread on Linux.
  const threadNices = (pid) => readdirSync(`/proc/${pid}/task`).map((tid) => niceIn(`/proc/${pid}/task/${tid}/stat`));
  const privileged = process.getuid?.() === 0;

  it("runs workers --worker-nice lower than the master", async () => {
    const s = await startServer({ workers: 2, args: ["--worker-nice", "5"] });
    const master = niceOf(s.pid);
    for (const pid of s.workerPids()) assert.equal(niceOf(pid), Math.min(19, master + 5));
  });

  it("as root, raises the master and leaves the workers at the priority it started with", {
    skip: !privileged && "needs root",
  }, async () => {
    const s = await startServer({ workers: 2, args: ["--worker-nice", "5"] });
    const raised = Math.max(-20, ownNice() - 5);
    assert.deepEqual(new Set(threadNices(s.pid)), new Set([raised]));
    for (const pid of s.workerPids()) assert.deepEqual(new Set(threadNices(pid)), new Set([ownNice()]));
    // A worker forked later (a crash's replacement) gets the same, once it has booted.
    const [first] = s.workerPids();
    process.kill(first, "SIGKILL");
    await waitFor(() => (s.logs().match(/Booted worker/g) ?? []).length >= 3, { what: "a replacement" });
    for (const pid of s.workerPids()) assert.deepEqual(new Set(threadNices(pid)), new Set([ownNice()]));
  });

  it("without CAP_SYS_NICE, lowers the workers instead and says why once", {
    skip: !privileged && "needs root",
  }, async () => {
    const s = await startServer({
      workers: 2,
      args: ["--worker-nice", "5"],
      wrap: ["setpriv", "--bounding-set", "-sys_nice"],
    });
    assert.equal(niceOf(s.pid), ownNice());
    for (const pid of s.workerPids()) assert.equal(niceOf(pid), Math.min(19, ownNice() + 5));
    assert.equal(s.logs().match(/worker_nice: the master cannot raise its priority \(EACCES/g)?.length, 1, s.logs());
  });

  it("by default raises the master by 10 where it may, and never lowers the workers", async () => {
    const s = await startServer({ workers: 1 });
    const master = privileged ? Math.max(-20, ownNice() - 10) : ownNice();
    assert.deepEqual(new Set(threadNices(s.pid)), new Set([master]));
    for (const pid of s.workerPids()) assert.deepEqual(new Set(threadNices(pid)), new Set([ownNice()]));
  });

  it("by default, without CAP_SYS_NICE, leaves every priority as started and says nothing", {
    skip: !privileged && "needs root",
  }, async () => {
    const s = await startServer({ workers: 2, wrap: ["setpriv", "--bounding-set", "-sys_nice"] });
    assert.equal(niceOf(s.pid), ownNice());
    for (const pid of s.workerPids()) assert.equal(niceOf(pid), ownNice());
    assert.doesNotMatch(s.logs(), /worker_nice/);
  });

  it("--worker-nice 0 leaves the master and the workers at the priority they started with", async () => {
    const s = await startServer({ workers: 1, args: ["--worker-nice", "0"] });
    assert.deepEqual(new Set(threadNices(s.pid)), new Set([ownNice()]));
    for (const pid of s.workerPids()) assert.equal(niceOf(pid), ownNice());
  });
});
