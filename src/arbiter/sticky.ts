// --sticky: the master accepts every connection itself and passes it to the worker slot its client
// address hashes to, so one client's connections (socket.io's long-polling requests) all reach the
// worker that holds its session, and keep reaching that slot's replacement.
import type net from "node:net";
import type { Socket } from "node:net";
import type { BoundSocket } from "./bound-sockets.js";
import { acceptInMaster } from "./master-accept.js";

export interface StickyTarget {
  readonly slot: number;
  acceptsWork(): boolean;
  sendConnection(socket: Socket, more: boolean, waitedMs: number): void;
}

/** FNV-1a of the address: the same client lands in the same slot of `slots`, spread evenly. */
export function slotFor(address: string, slots: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < address.length; i++) hash = Math.imul(hash ^ address.charCodeAt(i), 0x01000193) >>> 0;
  return (hash % slots) + 1;
}

export class StickyFront<W extends StickyTarget> {
  private servers: net.Server[] = [];
  /** Connections whose slot has no worker serving yet (booting, backing off), by slot. */
  private readonly waiting = new Map<number, Socket[]>();
  private waitingCount = 0;

  constructor(
    private readonly slots: () => number,
    /** The workers taking work, newest generation first. */
    private readonly workers: () => readonly W[],
    private readonly limit: number,
  ) {}

  async listen(listeners: readonly BoundSocket[], backlog: number): Promise<void> {
    this.servers = await acceptInMaster(listeners, backlog, (socket) => this.route(socket));
  }

  private route(socket: Socket): void {
    const slot = slotFor(socket.remoteAddress ?? "", this.slots());
    const worker = this.workerOf(slot);
    if (worker) {
      worker.sendConnection(socket, false, 0);
    } else if (this.waitingCount < this.limit) {
      const queue = this.waiting.get(slot) ?? [];
      queue.push(socket);
      this.waiting.set(slot, queue);
      this.waitingCount++;
      socket.once("close", () => this.drop(slot, socket));
    } else {
      socket.destroy(); // past the backlog, as the kernel would refuse it
    }
  }

  private workerOf(slot: number): W | undefined {
    return this.workers().find((w) => w.slot === slot && w.acceptsWork());
  }

  /** A worker is ready (or the pool changed): connections waiting for its slot go to it. */
  pump(): void {
    for (const [slot, queue] of this.waiting) {
      const worker = this.workerOf(slot);
      if (!worker) continue;
      this.waiting.delete(slot);
      this.waitingCount -= queue.length;
      for (const socket of queue) if (!socket.destroyed) worker.sendConnection(socket, false, 0);
    }
  }

  private drop(slot: number, socket: Socket): void {
    const queue = this.waiting.get(slot);
    const at = queue?.indexOf(socket) ?? -1;
    if (at < 0) return;
    queue!.splice(at, 1);
    this.waitingCount--;
  }

  get queued(): number {
    return this.waitingCount;
  }

  /** Stops accepting (the listening sockets stay open for a USR2 successor or the next start). */
  close(): void {
    for (const server of this.servers) server.close();
    for (const queue of this.waiting.values()) for (const socket of queue) socket.destroy();
    this.waiting.clear();
    this.waitingCount = 0;
  }
}
