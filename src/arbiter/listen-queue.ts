// The kernel's accept queue of each TCP listening socket, from /proc/net/tcp{,6}: for a socket in
// LISTEN state, rx_queue is the number of connections waiting to be accepted. Its limit is the
// backlog we asked for, capped by net.core.somaxconn. Our sockets are found by inode (via
// /proc/self/fd), so other processes' sockets on the same port never count. Elsewhere than Linux
// this reports nothing.
import type { BoundSocket } from "./bound-sockets.js";
import { handleFd } from "../platform/node-internals.js";
import { listeningRows, socketInode, somaxconn } from "../platform/proc.js";
import type { ListenQueue } from "../contracts/pool-view.js";

export function listenQueues(listeners: readonly BoundSocket[], backlog: number): ListenQueue[] {
  const byInode = new Map<string, string>();
  for (const l of listeners) {
    if (l.bind.kind !== "tcp") continue;
    const fd = handleFd(l.handle);
    if (fd === undefined) continue;
    const inode = socketInode("self", fd);
    if (inode) byInode.set(inode, l.address);
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
