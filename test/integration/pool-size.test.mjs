// How many workers, and at what priority: -w auto, TTIN/TTOU, scale, and the workers' nice value.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { startServer, stopAll, waitFor, runCli, FIXTURES, CLI } from "../helpers/harness.mjs";

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
