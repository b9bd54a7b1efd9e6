// The CPU budget -w auto reads from cgroups.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cgroupQuota, cpuBudget } from "../../../dist/config/cpu-budget.js";

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
