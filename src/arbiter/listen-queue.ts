// The kernel's accept queue of each TCP listening socket, from /proc/net/tcp{,6}: for a socket in
// LISTEN state, rx_queue is the number of connections waiting to be accepted. Its limit is the
// backlog we asked for, capped by net.core.somaxconn. Our sockets are found by inode (via
// /proc/self/fd), so other processes' sockets on the same port never count. Elsewhere than Linux
// this reports nothing.
import { closeSync, openSync, readFileSync, readSync, readlinkSync } from "node:fs";
import type { Listener } from "./bound-sockets.js";
import { handleFd } from "../platform/node-internals.js";
import type { ListenQueue } from "../exporter/master-metrics.js";

const LISTEN_STATE = "0A";

/**
 * The LISTEN rows of a /proc/net/tcp table. The kernel lists listening sockets before all others,
 * so reading stops at the first row in another state: a busy machine's tens of thousands of
 * connections are never read.
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

function somaxconn(): number {
  try {
    return Number(readFileSync("/proc/sys/net/core/somaxconn", "latin1").trim()) || Infinity;
  } catch {
    return Infinity;
  }
}

export function listenQueues(listeners: readonly Listener[], backlog: number): ListenQueue[] {
  const byInode = new Map<string, string>();
  for (const l of listeners) {
    if (l.bind.kind !== "tcp") continue;
    const fd = handleFd(l.handle);
    if (fd === undefined) continue;
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
      if (inode) byInode.set(inode, l.address);
    } catch {
      // no /proc: not Linux
    }
  }
  if (byInode.size === 0) return [];
  const out: ListenQueue[] = [];
  const max = Math.min(backlog, somaxconn());
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    // Once every socket of ours is found, the other table is not read: reading a table of a family
    // the machine has few sockets of (tcp6 on most servers) makes the kernel walk every connection
    // looking for them, which takes milliseconds with tens of thousands in TIME_WAIT.
    if (out.length === byInode.size) break;
    for (const f of listeningRows(table)) {
      const bind = byInode.get(f[9]!);
      if (bind === undefined) continue;
      const rx = f[4]!.split(":")[1]!;
      out.push({ bind, length: parseInt(rx, 16), max });
    }
  }
  return out;
}
