// How many CPUs this process may really use, for `workers = "auto"`: the affinity mask and the
// cgroup v2 CPU quota of its cgroup and every ancestor, not the machine's CPU count.
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import { integer, SettingError, type Validator } from "./validators.js";

export interface CpuBudget {
  count: number;
  /** Where the number came from, for --print-config. */
  why: string;
}

type Read = (path: string) => string | null;

/** The CPUs one cgroup directory allows: v2 `cpu.max`, or v1 `cpu.cfs_quota_us` over its period. */
function quotaIn(dir: string, v2: boolean, read: Read): { cpus: number; where: string } | null {
  if (v2) {
    const [quota, period] = (read(`${dir}/cpu.max`) ?? "").trim().split(/\s+/);
    if (!quota || quota === "max" || !(Number(period) > 0)) return null;
    return { cpus: Number(quota) / Number(period), where: `${dir}/cpu.max = ${quota} ${period}` };
  }
  const quota = Number((read(`${dir}/cpu.cfs_quota_us`) ?? "").trim());
  const period = Number((read(`${dir}/cpu.cfs_period_us`) ?? "").trim());
  if (!(quota > 0) || !(period > 0)) return null;
  return { cpus: quota / period, where: `${dir}/cpu.cfs_quota_us = ${quota} per ${period}` };
}

/**
 * The tightest CPU quota on the path from this process's cgroup to the root, in CPUs: cgroup v2
 * (`0::/path`), or the v1 `cpu` controller's hierarchy where the machine still mounts v1.
 */
export function cgroupQuota(read: Read, root = "/sys/fs/cgroup"): { cpus: number; where: string } | null {
  let best: { cpus: number; where: string } | null = null;
  for (const line of (read("/proc/self/cgroup") ?? "").split("\n")) {
    const [id, controllers, path] = line.split(":");
    if (path === undefined) continue;
    const v2 = id === "0" && controllers === "";
    const v1Mount = controllers!.split(",").includes("cpu") ? `${root}/${controllers}` : null;
    if (!v2 && !v1Mount) continue;
    const base = v2 ? root : read(`${v1Mount}/cpu.cfs_period_us`) !== null ? v1Mount! : `${root}/cpu`;
    for (let dir = path.trim() || "/"; ; dir = dir.slice(0, dir.lastIndexOf("/")) || "/") {
      const found = quotaIn(`${base}${dir === "/" ? "" : dir}`, v2, read);
      if (found && (!best || found.cpus < best.cpus)) best = found;
      if (dir === "/") break;
    }
  }
  return best;
}

const readOrNull = (path: string): string | null => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
};

/** A fractional quota is rounded up: 1.5 CPUs run two workers, throttled only when both are busy. */
export function cpuBudget(read = readOrNull): CpuBudget {
  const affinity = availableParallelism();
  const quota = cgroupQuota(read);
  if (quota && Math.ceil(quota.cpus) < affinity) {
    const count = Math.max(1, Math.ceil(quota.cpus));
    return { count, why: `cgroup CPU quota ${quota.cpus} (${quota.where}); affinity allows ${affinity}` };
  }
  return { count: affinity, why: `CPU affinity mask${quota ? `; cgroup quota ${quota.cpus} CPUs` : ""}` };
}

let lastAuto: CpuBudget | null = null;

/** The `workers` setting: a count, or "auto" for the CPUs this process may use (cpuBudget). */
export const workerCount: Validator<number> = (raw, name) => {
  if (typeof raw === "string" && raw.trim().toLowerCase() === "auto") {
    lastAuto = cpuBudget();
    return lastAuto.count;
  }
  if (typeof raw === "string" && !/^\s*-?\d+\s*$/.test(raw))
    throw new SettingError(`${name}: expected a whole number, auto or MIN:MAX, got ${JSON.stringify(raw)}`);
  return integer(1, 1024)(raw, name);
};

/** workers_min and workers_max: unset (null), a count, or auto. */
export const optionalCount: Validator<number | null> = (raw, name) =>
  raw === null || raw === undefined ? null : workerCount(raw, name);

/** `-w MIN:MAX`: the two bounds of an adaptive pool, or null when the value is a plain count. */
export function workerRange(raw: unknown): [string, string] | null {
  const m = typeof raw === "string" ? /^\s*([^:\s]+)\s*:\s*([^:\s]+)\s*$/.exec(raw) : null;
  return m ? [m[1]!, m[2]!] : null;
}

/** How the last "auto" was worked out, for --print-config; null when workers was a number. */
export const autoWorkers = (): CpuBudget | null => lastAuto;
