// The kernel's accept queue of each TCP listening socket, from /proc/net/tcp{,6}: for a socket in
// LISTEN state, rx_queue is the number of connections waiting to be accepted. Its limit is the
// backlog we asked for, capped by net.core.somaxconn. Our sockets are found by inode (via
// /proc/self/fd), so other processes' sockets on the same port never count. Elsewhere than Linux
// this reports nothing.
import { readFileSync, readlinkSync } from "node:fs";
import type { Listener } from "./listeners.js";

export interface ListenQueue {
  bind: string;
  length: number;
  max: number;
}

const LISTEN_STATE = "0A";

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
    const fd = (l.handle as { fd?: number }).fd;
    if (typeof fd !== "number" || fd < 0) continue;
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
    let text: string;
    try {
      text = readFileSync(table, "latin1");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== LISTEN_STATE) continue;
      const bind = byInode.get(f[9]!);
      if (bind === undefined) continue;
      const rx = f[4]!.split(":")[1]!;
      out.push({ bind, length: parseInt(rx, 16), max });
    }
  }
  return out;
}
