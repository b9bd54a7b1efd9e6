// How many workers, and at what priority: -w auto, TTIN/TTOU, scale, and the workers' nice value.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { startServer, stopAll, waitFor, runCli, loadLoop, sleep, FIXTURES, CLI } from "../helpers/harness.mjs";

after(stopAll);

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

describe("adaptive pool", () => {
  const app = join(FIXTURES, "app.mjs");
  const target = async (s) => (await s.scrape()).find("gunicorn_master_workers_target")[0].value;

  it("grows a pool of sync workers under I/O-bound load, and shrinks it when idle, failing nothing", async () => {
    const s = await startServer({
      workers: "1:3",
      waitWorkers: 1,
      args: ["-k", "sync", "--scale-up-after", "1", "--scale-down-after", "2"],
    });
    // Six clients of a 100 ms handler: one sync worker serves 10 a second, three serve 30.
    const load = loadLoop(s.url(""), { concurrency: 6, path: "/sleep?ms=100" });
    const rate = async () => {
      const before = load.stats.ok;
      await sleep(1000);
      return load.stats.ok - before;
    };
    const alone = await rate();
    await waitFor(async () => (await target(s)) === 3, { timeout: 15_000, what: "the pool to grow to 3" });
    await waitFor(() => (s.logs().match(/Booted worker/g) ?? []).length >= 3, { what: "3 workers booted" });
    const grown = await rate();
    const stats = await load.stop();
    assert.ok(alone <= 12, `one worker served ${alone} requests in a second`);
    assert.ok(grown >= 2 * alone, `three workers served ${grown} a second against ${alone} for one`);
    assert.match(s.logs(), /adaptive pool: adding a worker, 1 -> 2: utilization 1\.00 over 1 s/);

    const status = await runCli(["status", "--metrics-url", `http://127.0.0.1:${s.metricsPort}`]);
    assert.match(status.stdout, /workers 3 \(target 3, adaptive 1\.\.3\)/, status.stdout + status.stderr);
    const refused = await runCli(["scale", "5", "--metrics-url", `http://127.0.0.1:${s.metricsPort}`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /adaptive pool of 1 to 3 workers: 5 is outside it/);

    await waitFor(async () => (await target(s)) === 1, { timeout: 20_000, what: "the pool to shrink to 1" });
    await waitFor(() => s.workerPids().length === 1, { what: "the retired workers to exit" });
    assert.equal(stats.failed, 0, stats.errors.slice(0, 5).join("; "));
    const m = await s.scrape();
    const resizes = (reason) => m.find("gunicorn_master_pool_resizes_total", { reason, by: "auto" })[0].value;
    assert.deepEqual([resizes("scale_up"), resizes("scale_down")], [2, 2]);
    assert.deepEqual(
      m.find("gunicorn_master_workers_limit").map((x) => [x.labels.bound, x.value]),
      [
        ["min", 1],
        ["max", 3],
      ],
    );
    // A retired worker is counted when the master has heard of its exit, a moment after it is gone.
    await waitFor(
      async () =>
        (await s.scrape()).find("gunicorn_master_worker_restarts_total", { reason: "scale_down" })[0].value === 2,
      { what: "both retirements counted" },
    );
  });

  it("refuses bounds that cannot hold in one line, exit 2", async () => {
    for (const [args, message] of [
      [["-w", "4:2"], /workers: the minimum 4 is above the maximum 2/],
      [["--workers-min", "3", "--workers-max", "2"], /the minimum 3 is above the maximum 2/],
      [["--workers-max", "-1"], /workers_max: /],
      [["-w", "2:x"], /workers_max: expected a whole number, auto or MIN:MAX, got "x"/],
      [["-w", "1:2", "--scale-up-utilization", "1.5"], /scale_up_utilization: /],
    ]) {
      const r = await runCli([...args, "--check-config", app]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  });

  it("-w 2:auto stops at the CPU budget, and --print-config says where the bounds came from", async () => {
    const r = await runCli(["-w", "2:auto", "--print-config", app]);
    assert.equal(r.code, 0, r.stderr);
    const line = (name) => r.stdout.split("\n").find((l) => l.startsWith(`${name} `));
    assert.match(line("workers_min"), /= 2 {2}\(cli/);
    assert.match(line("workers_max"), new RegExp(`= ${availableParallelism()} {2}\\(cli`));
    assert.match(line("workers"), /= 2 {2}\(cli/);
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
