// Process helpers the test harness and the bench share: free loopback ports, a process's children
// and resident memory, and the CPU a process tree has used, all read from Linux /proc.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import net from "node:net";
import { basename } from "node:path";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const anyFreePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const handedOut = new Set();
/**
 * A port free on loopback right now, and not one this process was given before: the kernel may
 * hand the same free port out twice in a row, and a server's app and metrics ports must differ
 * (a bench run once lost its pinned scenario to that).
 */
export async function freePort() {
  for (let i = 0; i < 100; i++) {
    const port = await anyFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("freePort: no new free port in 100 tries");
}

/** The fields of /proc/PID/stat after the command name (which may hold spaces): [0] state, [1] ppid. */
function statFields(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/**
 * Direct children of a process, zombies left out, sorted by pid. By default only those that run
 * Node (workers): any short-lived helper a master might run (a shell, a tool) is left out.
 */
export function childPids(ppid, { nodeOnly = true } = {}) {
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(entry);
      if (Number(fields[1]) !== ppid || fields[0] === "Z") continue;
      if (!nodeOnly || basename(readlinkSync(`/proc/${entry}/exe`)).startsWith("node")) out.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return out.sort((a, b) => a - b);
}

/** Whether a process lives and is not a zombie. */
export function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return statFields(pid)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Resident memory of a process in bytes (VmRSS). */
export const residentBytes = (pid) =>
  Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;

/** CPU seconds used so far by a process and all its descendants. */
export function treeCpuSeconds(pid) {
  let total = 0;
  const visit = (p) => {
    try {
      const fields = statFields(p);
      total += (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
      for (const child of childPids(p, { nodeOnly: false })) visit(child);
    } catch {
      // the process exited meanwhile
    }
  };
  visit(pid);
  return total;
}
