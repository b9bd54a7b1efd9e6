// Process helpers the test harness and the bench share: free loopback ports, a process's children
// and resident memory, and the CPU a process tree has used, all read from Linux /proc.
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
// Built by `npm run build`, which the test command and the bench run first.
import { residentFromStatus } from "../dist/platform/proc.js";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Whether `port` can be listened on at 127.0.0.1 now. */
const canListen = (port) =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });

/** The kernel's range of ephemeral ports (the local ports of outgoing connections and of listen(0)). */
function ephemeralRange() {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux
  }
  return [32768, 60999];
}

const handedOut = new Set();

/**
 * Test files run side by side, each its own process: a port one of them was given is reserved for
 * it in a shared directory (a file named by the port, holding the pid), so that another never gets
 * it between the check and the bind. A reservation of a process that is gone is taken over.
 */
const RESERVED = join(tmpdir(), "gpe-test-ports");
function reserve(port) {
  const file = join(RESERVED, String(port));
  mkdirSync(RESERVED, { recursive: true });
  try {
    writeFileSync(file, String(process.pid), { flag: "wx" });
  } catch {
    const owner = Number(readFileSync(file, "utf8"));
    if (owner === process.pid || processAlive(owner)) return false;
    writeFileSync(file, String(process.pid));
  }
  reservations.push(file);
  return true;
}
const reservations = [];
process.on("exit", () => {
  for (const file of reservations) rmSync(file, { force: true });
});
/**
 * A port free on loopback right now, and not one this process was given before (a server's app and
 * metrics ports must differ). Picked at random below the kernel's ephemeral range: a port from
 * that range (what listen(0) gives) can be taken between the check and the bind by any outgoing
 * connection or any listen(0) elsewhere, and the tests make thousands of both.
 */
export async function freePort() {
  const [low] = ephemeralRange();
  const first = Math.min(10_000, low - 1000);
  for (let i = 0; i < 200; i++) {
    const port = first + Math.floor(Math.random() * (low - first));
    if (handedOut.has(port) || !reserve(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error("freePort: no free port in 200 tries");
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

/** Resident memory of a process in bytes (VmRSS), read as the master reads it. */
export const residentBytes = (pid) => residentFromStatus(readFileSync(`/proc/${pid}/status`, "utf8"));

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
