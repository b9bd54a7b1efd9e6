// The pure rules behind the operator's knobs: CPU budget from cgroups, sizes, the restart policy,
// the list of running requests and the WORKER TIMEOUT message.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cgroupQuota, cpuBudget } from "../../dist/config/cpu-budget.js";
import { size } from "../../dist/config/validators.js";
import { CrashBackoff } from "../../dist/arbiter/crash-backoff.js";
import { RunningRequests } from "../../dist/workers/http/running-requests.js";
import { timeoutMessage } from "../../dist/arbiter/stall-report.js";

const files = (map) => (path) => map[path] ?? null;

describe("cgroup CPU quota", () => {
  it("reads cgroup v2 cpu.max and keeps the tightest quota up the tree", () => {
    const read = files({
      "/proc/self/cgroup": "0::/kubepods/pod1/ctr\n",
      "/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max": "max 100000\n",
      "/sys/fs/cgroup/kubepods/pod1/cpu.max": "150000 100000\n",
      "/sys/fs/cgroup/kubepods/cpu.max": "400000 100000\n",
    });
    assert.deepEqual(cgroupQuota(read), { cpus: 1.5, where: "/sys/fs/cgroup/kubepods/pod1/cpu.max = 150000 100000" });
  });
  it("reads cgroup v1 cfs quota, and -1 is no quota", () => {
    const read = files({
      "/proc/self/cgroup": "4:memory:/x\n2:cpu,cpuacct:/docker/abc\n",
      "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
      "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "50000\n",
      "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
      "/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us": "-1\n",
    });
    assert.equal(cgroupQuota(read)?.cpus, 0.5);
  });
  it("has no quota without cgroup files, and auto rounds a fraction up, never to 0", () => {
    assert.equal(cgroupQuota(files({})), null);
    const half = cpuBudget(files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "50000 100000" }));
    assert.equal(half.count, 1);
    assert.match(half.why, /cgroup CPU quota 0\.5/);
  });
});

describe("sizes", () => {
  it("reads bytes and K, M, G, T as powers of 1024", () => {
    assert.equal(size("512M", "max_memory"), 512 * 1024 ** 2);
    assert.equal(size("1.5G", "max_memory"), 1.5 * 1024 ** 3);
    assert.equal(size("300MB", "max_memory"), 300 * 1024 ** 2);
    assert.equal(size("4096", "max_memory"), 4096);
    assert.equal(size(0, "max_memory"), 0);
  });
  it("refuses anything else with the setting's name", () => {
    for (const bad of ["12XB", "-1M", "M", "1.2.3G", ""])
      assert.throws(() => size(bad, "max_memory"), /max_memory: expected a size such as 512M/);
  });
});

describe("restart policy", () => {
  const policy = { minUptimeMs: 10_000, firstDelayMs: 100 };
  it("doubles restart_delay for each unstable start in a row and gives up at max_restarts", () => {
    const b = new CrashBackoff(() => policy);
    const t = 1_000_000;
    assert.deepEqual(
      [1, 2, 3]
        .map((i) => b.crashed(1, t, 3, t + i * 10))
        .map(({ inARow, delayMs, giveUp }) => [inARow, delayMs, !!giveUp]),
      [
        [1, 100, false],
        [2, 200, false],
        [3, 400, true],
      ],
    );
  });
  it("forgets the run once a worker lived min_uptime, and never gives up with max_restarts 0", () => {
    const b = new CrashBackoff(() => policy);
    for (let i = 0; i < 50; i++) assert.equal(b.crashed(2, 0, 0, 5).giveUp, null);
    assert.deepEqual(b.crashed(2, 0, 3, 10_000), { inARow: 0, delayMs: 0, giveUp: null });
    assert.equal(b.waiting(2, 10_001), false);
  });
  it("caps the delay at 10 s, or at restart_delay when that is longer", () => {
    const b = new CrashBackoff(() => ({ minUptimeMs: 10_000, firstDelayMs: 15_000 }));
    assert.equal(b.crashed(1, 0, 0, 1).delayMs, 15_000);
    assert.equal(b.crashed(1, 0, 0, 2).delayMs, 15_000);
  });
});

describe("running requests", () => {
  const node = (name) => ({ name, prevRunning: null, nextRunning: null });
  it("lists oldest first and unlinks from anywhere", () => {
    const list = new RunningRequests();
    const [a, b, c] = ["a", "b", "c"].map(node);
    for (const n of [a, b, c]) list.add(n);
    assert.deepEqual(
      list.list().map((n) => n.name),
      ["a", "b", "c"],
    );
    list.remove(b);
    assert.deepEqual(
      list.list().map((n) => n.name),
      ["a", "c"],
    );
    list.remove(c);
    list.remove(a);
    assert.deepEqual(list.list(), []);
  });
});

describe("the WORKER TIMEOUT message", () => {
  it("names the worker, each blocked thread's requests and its stack", () => {
    const text = timeoutMessage({ pid: 7, slot: 2 }, 31_200, [
      {
        thread: "main",
        frames: ["at spin (file:///app.js:3:5)"],
        inFlight: [{ method: "GET", url: "/x", ms: 31_000 }],
      },
    ]);
    assert.equal(
      text,
      "WORKER TIMEOUT (pid:7, slot 2): blocked for 31.2 s\n  main: serving GET /x (31.0 s)\n    at spin (file:///app.js:3:5)",
    );
  });
  it("says so when the worker did not answer", () => {
    assert.match(timeoutMessage({ pid: 7, slot: 2 }, 5000, null), /did not say where/);
  });
});
