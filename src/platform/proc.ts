// Facts about processes and their sockets, from the kernel: whether a pid lives, a process's
// resident memory and CPU time, which of its descriptors are sockets, and the listening rows of
// /proc/net/tcp. Elsewhere than Linux the /proc readers find nothing and say so by their result.
import { closeSync, openSync, readFileSync, readSync, readlinkSync } from "node:fs";
import { readFile } from "node:fs/promises";

/** Whether a process with this pid exists (EPERM: it does, under another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Resident memory in bytes, from the text of /proc/PID/status (0 when the line is missing). */
export function residentFromStatus(status: string): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) * 1024;
}

/** Resident memory in bytes from /proc/PID/status, or null when it cannot be read (gone, not Linux). */
export async function residentBytes(pid: number): Promise<number | null> {
  try {
    const bytes = residentFromStatus(await readFile(`/proc/${pid}/status`, "utf8"));
    return bytes > 0 ? bytes : null;
  } catch {
    return null;
  }
}

/** The inode of the socket a descriptor of a process holds ("self" for this one); undefined for anything else. */
export function socketInode(pid: number | "self", fd: number | string): string | undefined {
  try {
    return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
  } catch {
    return undefined; // closed meanwhile, or no /proc
  }
}

const LISTEN_STATE = "0A";

/**
 * The LISTEN rows of a /proc/net/tcp table, split in fields (4: tx:rx queues, 9: inode). The kernel
 * lists listening sockets before all others, so reading stops at the first row in another state:
 * a busy machine's tens of thousands of connections are never read.
 */
export function listeningRows(path: string): string[][] {
  const rows: string[][] = [];
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return rows;
  }
  try {
    const chunk = Buffer.alloc(16384);
    let rest = "";
    let header = true;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) return rows;
      const lines = (rest + chunk.toString("latin1", 0, n)).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (header) {
          header = false;
          continue;
        }
        const f = line.trim().split(/\s+/);
        if (f.length < 10) continue;
        if (f[3] !== LISTEN_STATE) return rows;
        rows.push(f);
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** The kernel's cap on a listen backlog (net.core.somaxconn); Infinity when unknown. */
export function somaxconn(): number {
  try {
    return Number(readFileSync("/proc/sys/net/core/somaxconn", "latin1").trim()) || Infinity;
  } catch {
    return Infinity;
  }
}

/**
 * The kernel's accept queue of each of these listening sockets (by inode): how many connections
 * wait to be accepted (rx_queue of its LISTEN row). Once every socket is found the other table is
 * not read: reading a table of a family the machine has few sockets of (tcp6 on most servers)
 * makes the kernel walk every connection looking for them, which takes milliseconds with tens of
 * thousands in TIME_WAIT.
 */
export function acceptQueues(inodes: ReadonlySet<string>): Map<string, number> {
  const waiting = new Map<string, number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (waiting.size === inodes.size) break;
    for (const f of listeningRows(table)) {
      if (inodes.has(f[9]!)) waiting.set(f[9]!, parseInt(f[4]!.split(":")[1]!, 16));
    }
  }
  return waiting;
}
