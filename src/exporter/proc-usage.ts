// A process's CPU and memory read from /proc on Linux, each file opened, read and closed at once.
// pidusage keeps each process's stat file open between readings, and when the process is reaped
// between its open and its first read, it never closes that descriptor (fast restarts leaked them).
import { readFileSync } from "node:fs";
import pidusage from "pidusage";
import { residentFromStatus } from "../platform/proc.js";

/** Clock ticks a second in /proc's figures: USER_HZ, fixed at 100 in Linux's ABI. */
const USER_HZ = 100;

export interface Usage {
  /** Resident memory, bytes. */
  memory: number;
  /**
   * Percent of one core since the last reading; undefined on a process's first reading, whose only
   * figure would be its average since it started (for a worker that just booted: its boot, which
   * would read as if it were busy now).
   */
  cpu: number | undefined;
}

interface Reading {
  cpuSeconds: number;
  at: number;
}

const onLinux = process.platform === "linux";

export class ProcessUsage {
  private last = new Map<number, Reading>();

  /** Readings of `pids`; a process that has gone is left out. Elsewhere than Linux, pidusage's. */
  async read(pids: readonly number[]): Promise<Map<number, Usage>> {
    const out = new Map<number, Usage>();
    const next = new Map<number, Reading>();
    if (!onLinux) {
      const results = await Promise.allSettled(pids.map((pid) => pidusage(pid)));
      results.forEach((r, i) => {
        if (r.status === "fulfilled") out.set(pids[i]!, { memory: r.value.memory, cpu: r.value.cpu });
      });
      return out;
    }
    const uptime = Number.parseFloat(readFileSync("/proc/uptime", "utf8"));
    for (const pid of pids) {
      const usage = this.readOne(pid, uptime, next);
      if (usage) out.set(pid, usage);
    }
    this.last = next;
    return out;
  }

  private readOne(pid: number, uptime: number, next: Map<number, Reading>): Usage | null {
    let stat: string;
    let status: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      status = readFileSync(`/proc/${pid}/status`, "utf8");
    } catch {
      return null; // exited
    }
    // Fields after the command name, which may hold spaces: utime is 14th of the file, stime 15th, starttime 22nd.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuSeconds = (Number(f[11]) + Number(f[12])) / USER_HZ;
    const memory = residentFromStatus(status);
    const prev = this.last.get(pid);
    next.set(pid, { cpuSeconds, at: uptime });
    if (!prev) return { memory, cpu: undefined };
    const elapsed = uptime - prev.at;
    return { memory, cpu: elapsed > 0 ? ((cpuSeconds - prev.cpuSeconds) / elapsed) * 100 : 0 };
  }
}
