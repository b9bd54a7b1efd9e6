// The kernel's accept queue of each TCP listening socket, from /proc/net/tcp{,6}: for a socket in
// LISTEN state, rx_queue is the number of connections waiting to be accepted. Its limit is the
// backlog we asked for, capped by net.core.somaxconn. Our sockets are found by inode (via
// /proc/self/fd), so other processes' sockets on the same port never count. Elsewhere than Linux
// this reports nothing.
import type { BoundSocket } from "./bound-sockets.js";
import { handleFd } from "../platform/node-internals.js";
import { acceptQueues, socketInode, somaxconn } from "../platform/proc.js";
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
  const max = Math.min(backlog, somaxconn());
  return [...acceptQueues(new Set(byInode.keys()))].map(([inode, length]) => ({
    bind: byInode.get(inode)!,
    length,
    max,
  }));
}
