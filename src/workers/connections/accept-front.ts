// How connections reach a worker. Every worker accepts on the shared listening sockets (the
// kernel spreads connections over the idle ones, the fastest path measured: docs/performance.md). libuv
// accepts every pending connection in one go, so a worker with little capacity (sync, thread)
// often accepts more than it can start. It holds them, unread, while its current work is young (a
// fast request ends in well under a millisecond, and passing a socket round the master costs far
// more); once that work has run LONG_WORK_MS, or the oldest held connection has waited that long
// (a run of moderately slow requests), or when it holds HOLD_MAX, it hands the rest back to the
// master, which passes each to a worker that has room (or keeps it until one says it has). So
// that the master never passes a connection to a worker that has just started a long request (it
// would wait in the pipe until that request ends), a worker that told the master it had room tells
// it when it fills up; it reports room again only when the master wants to know (it holds
// connections, or this worker handed some off), not every time its queue runs dry. An async
// worker, whose capacity is large, almost never fills up.
import net, { type Socket } from "node:net";
import type { ToMaster } from "../../contracts/messages.js";
import { handleFd, serverHandle, stopReading } from "../../platform/node-internals.js";
import { acceptQueues, socketInode } from "../../platform/proc.js";
import { arrivedAt } from "./arrivals.js";

export interface Admission {
  /** True when this worker can start one more connection now. */
  hasRoom(): boolean;
  take(socket: Socket): void;
}

/** Work older than this is long: connections held behind it go back to the master. */
export const LONG_WORK_MS = 10;
/**
 * Most connections a worker holds unread behind its current work. A bound on what one worker takes
 * from the kernel in one go, not on waiting (LONG_WORK_MS is): a sync worker answers a batch of
 * held connections per turn of its event loop (read-ahead.ts), and under load finds that many
 * queued again at its next accept. A smaller bound made sync workers under load pass connections
 * round the master for nothing (measured in docs/performance-notes.md).
 */
export const HOLD_MAX = 128;

export class AcceptFront {
  private readonly servers: net.Server[] = [];
  /** What the master believes: that this worker has room. */
  private advertisedRoom = true;
  /**
   * The master holds connections that only a worker reporting room will get: set when this
   * worker handed one off, or the master said some are waiting. Reported at the next room even
   * if this worker still holds its own, so that the master's queue never starves behind them.
   */
  private owesIdle = false;
  private stopping = false;
  /** Accepted while this worker had no room; not read yet, so still free to go elsewhere. */
  private readonly held: Socket[] = [];
  /** When each held connection was put there (performance.now()), in the same order. */
  private readonly heldAt: number[] = [];
  /** When this worker last filled up: the age of the work that held connections wait behind. */
  private fullSince = 0;
  /**
   * Held connections that came from the master: on stopping they are served here rather than sent
   * round again. A set, not a flag on the socket, so that those sockets keep the hidden class of
   * the rest (PendingConnections says why that matters).
   */
  private readonly heldFromMaster = new Set<Socket>();
  private longWorkTimer: NodeJS.Timeout | null = null;
  /** The inodes of the listening sockets, for the accept queue's length; found at the first ask. */
  private inodes: Set<string> | null = null;

  /**
   * @param readAtOnce Let accepted connections start reading at once (async workers, which take
   *   nearly every connection they accept): a connection held or handed off after all is stopped
   *   in the same tick instead, before anything can be read. Workers that often hold connections
   *   accept them paused, which saves starting and stopping the read.
   */
  constructor(
    private readonly admission: Admission,
    private readonly send: (message: ToMaster, handle?: Socket) => void,
    private readonly readAtOnce = false,
  ) {}

  /** Starts accepting on a listening handle the master sent. */
  listen(handle: object, backlog: number): Promise<void> {
    // noDelay and allowHalfOpen as Node's HTTP server sets them on the connections it accepts itself
    // (ours never does): without noDelay, Nagle's algorithm adds a write path to every response;
    // without allowHalfOpen, a client that shuts its side after its request loses the answer on
    // its way back from a thread.
    const server = net.createServer(
      { pauseOnConnect: !this.readAtOnce, noDelay: true, allowHalfOpen: true },
      (socket) => this.accepted(socket),
    );
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      // The (handle, backlog, callback) form: Node reuses the inherited socket instead of binding.
      server.listen(handle as net.ListenOptions, backlog, () => {
        server.off("error", reject);
        resolve();
      });
    });
  }

  /**
   * Connections waiting in the kernel to be accepted, on the sockets this worker listens on (shared
   * with the other workers). Node accepts one connection per turn of a busy event loop, so under a
   * load past capacity this is where the queue stands, unseen by the loop.
   */
  backlog(): number {
    if (this.inodes === null) {
      this.inodes = new Set();
      for (const server of this.servers) {
        const fd = handleFd(serverHandle(server));
        const inode = fd === undefined ? undefined : socketInode("self", fd);
        if (inode) this.inodes.add(inode);
      }
    }
    if (this.inodes.size === 0) return 0;
    let waiting = 0;
    for (const n of acceptQueues(this.inodes).values()) waiting += n;
    return waiting;
  }

  private accepted(socket: Socket): void {
    if (!this.stopping && this.admission.hasRoom()) {
      this.take(socket);
      return;
    }
    if (this.readAtOnce) stopReading(socket);
    if (this.stopping) this.handOff(socket);
    else if (this.held.length < HOLD_MAX && performance.now() - this.fullSince < LONG_WORK_MS) this.hold(socket);
    else this.handOff(socket);
  }

  /**
   * A connection the master passed on: served here, now or after what this worker holds (it
   * may have taken another from the kernel since it reported room). Like any held connection,
   * it goes round again only if the work in front of it runs long.
   */
  received(socket: Socket, more: boolean, waitedMs: number): void {
    stopReading(socket);
    if (waitedMs > 0) arrivedAt(socket, performance.now() - waitedMs);
    socket.allowHalfOpen = true; // as for the connections this worker accepts itself
    if (more) this.owesIdle = true;
    if (this.stopping) {
      this.admission.take(socket); // draining: served here, after what is in flight
    } else if (this.admission.hasRoom()) {
      this.take(socket);
    } else {
      this.heldFromMaster.add(socket);
      this.hold(socket);
    }
  }

  private take(socket: Socket): void {
    this.admission.take(socket);
    if (this.admission.hasRoom()) return; // an async worker, almost always: no clock read, no message
    this.fullSince = performance.now();
    if (this.advertisedRoom && !this.stopping) {
      this.advertisedRoom = false;
      this.send({ cmd: "gpe:full" });
    }
  }

  /** Keeps a connection unread until this worker has room (or its work runs long). */
  private hold(socket: Socket): void {
    this.held.push(socket);
    this.heldAt.push(performance.now());
    if (this.held.length > 1) return; // the timer is already set for the work in front
    if (this.longWorkTimer) this.longWorkTimer.refresh();
    else this.longWorkTimer = setTimeout(() => this.workRanLong(), LONG_WORK_MS).unref();
  }

  /** Timer: if the current work is still going, what is held goes to workers with room. */
  private workRanLong(): void {
    if (this.held.length === 0 || this.admission.hasRoom()) return;
    if (this.waitedLong(performance.now())) this.handOffHeld();
    else this.longWorkTimer?.refresh();
  }

  /** The current work has run long, or the oldest held connection has waited long. */
  private waitedLong(now: number): boolean {
    return now - this.fullSince >= LONG_WORK_MS || (this.heldAt.length > 0 && now - this.heldAt[0]! >= LONG_WORK_MS);
  }

  private handOffHeld(): void {
    this.heldAt.length = 0;
    this.heldFromMaster.clear();
    for (const socket of this.held.splice(0)) this.handOff(socket);
  }

  private handOff(socket: Socket): void {
    this.advertisedRoom = false; // the master marks a worker that hands off as busy
    this.owesIdle = true;
    this.send({ cmd: "gpe:handoff" }, socket);
  }

  /** Called whenever a request or connection ends: report room, and start what is held. */
  roomChanged(): void {
    if (this.stopping || !this.admission.hasRoom()) return;
    if (!this.advertisedRoom && this.owesIdle) this.reportRoom();
    if (this.held.length === 0) return;
    // The work that just ended ran long (a CPU-bound request the timer could not interrupt), or
    // the held connections have waited long behind several: what waits goes to whichever worker
    // is free; this one takes the oldest.
    const waitedLong = this.waitedLong(performance.now());
    const next = this.held.shift()!;
    arrivedAt(next, this.heldAt.shift()!);
    if (this.heldFromMaster.size > 0) this.heldFromMaster.delete(next);
    if (waitedLong) this.handOffHeld();
    this.take(next);
  }

  /** The master holds connections for workers with room: report it now, or as soon as there is. */
  wanted(): void {
    this.owesIdle = true;
    this.roomChanged();
  }

  private reportRoom(): void {
    this.advertisedRoom = true;
    this.owesIdle = false;
    this.send({ cmd: "gpe:idle" });
  }

  /** Stops accepting; connections already taken go on. */
  close(): void {
    this.stopping = true;
    if (this.longWorkTimer) clearTimeout(this.longWorkTimer);
    // Held connections were never started: workers that are not stopping serve them, except
    // those that have been round the master once already (it may be stopping everything).
    this.heldAt.length = 0;
    for (const socket of this.held.splice(0)) {
      if (this.heldFromMaster.has(socket)) this.admission.take(socket);
      else this.handOff(socket);
    }
    this.heldFromMaster.clear();
    for (const server of this.servers) server.close();
  }
}

/**
 * Connections that were accepted but have not yet started a request. Kept in a set rather than
 * flagged on the socket: a property added to some sockets and not others gives them another hidden
 * class, and every optimized function of Node's that handles sockets is thrown away when it meets
 * the second one. The engine that took the socket reports its close (it listens for it anyway).
 */
export class PendingConnections {
  private readonly sockets = new Set<Socket>();

  get count(): number {
    return this.sockets.size;
  }

  add(socket: Socket): void {
    this.sockets.add(socket);
  }

  /** The socket's first request started: it now counts as in flight instead. */
  started(socket: Socket | null): void {
    if (socket !== null) this.sockets.delete(socket);
  }

  /** The socket closed, with or without a request. */
  closed(socket: Socket): void {
    this.sockets.delete(socket);
  }
}
