// Connections that a busy worker handed back. The master passes each to a worker believed to have
// room; a worker that turns out busy hands it back again and is marked busy until it reports
// room, so a connection visits each worker at most once before it waits here. Workers report room
// only when asked (the master asks them all when a connection has to wait here): a busy worker
// that tells the master every time its queue runs dry costs two messages and a wake-up of the
// master per batch, on the path every request takes, for a picture the master rarely needs.
import type { Socket } from "node:net";
import { stopReading } from "../platform/node-internals.js";

export interface DispatchTarget {
  readonly pid: number;
  acceptsWork(): boolean;
  /** `more`: other connections are still waiting in the master; `waitedMs`: how long this one did. */
  sendConnection(socket: Socket, more: boolean, waitedMs: number): void;
  /** Asks the worker to report room as soon as it has some. */
  askForRoom(): void;
}

const QUEUED_AT = Symbol("gpe.queuedAt");
type Queued = Socket & { [QUEUED_AT]?: number };

export class ConnectionDispatcher<W extends DispatchTarget> {
  private readonly waiting: Socket[] = [];
  /** Called with the seconds each handed-back connection waited in the master before a worker got it. */
  onDispatch: ((seconds: number) => void) | null = null;
  private readonly busy = new Set<W>();
  private cursor = 0;

  constructor(
    private readonly workers: () => readonly W[],
    private readonly limit: number,
  ) {}

  get queued(): number {
    return this.waiting.length;
  }

  /** Set while the server stops: connections go to workers still draining, which serve them. */
  private draining: (() => readonly W[]) | null = null;

  handOff(from: W, socket: Socket): void {
    // Nothing may be read in the master: the bytes belong to the worker that serves the request.
    stopReading(socket);
    (socket as Queued)[QUEUED_AT] = performance.now();
    if (this.draining) {
      this.toDraining(socket);
      return;
    }
    this.busy.add(from);
    const target = this.pickRoomy();
    if (target) {
      this.send(target, socket);
    } else if (this.waiting.length < this.limit) {
      this.waiting.push(socket);
      if (this.waiting.length === 1) this.askForRoom();
    } else {
      socket.destroy(); // past the backlog, as the kernel would refuse it
    }
  }

  /** A connection the master accepted itself while the server stops: to a draining worker. */
  adopt(socket: Socket): void {
    stopReading(socket);
    if (this.draining) this.toDraining(socket);
    else socket.destroy();
  }

  /** A worker says it has room again. */
  idle(worker: W): void {
    this.busy.delete(worker);
    const socket = this.waiting.shift();
    if (socket) this.send(worker, socket);
  }

  /** Gives waiting connections to workers with room (a worker just booted, or time passed). */
  pump(): void {
    while (this.waiting.length > 0) {
      const target = this.pickRoomy();
      if (!target) return;
      this.send(target, this.waiting.shift()!);
    }
  }

  /** A worker says it has no room (before it starts what may be a long request). */
  full(worker: W): void {
    this.busy.add(worker);
  }

  forget(worker: W): void {
    this.busy.delete(worker);
  }

  /** The server is stopping: from now on connections go to draining workers (or close). */
  stop(draining: () => readonly W[]): void {
    this.draining = draining;
    for (const socket of this.waiting.splice(0)) this.toDraining(socket);
  }

  private toDraining(socket: Socket): void {
    const workers = this.draining!();
    if (workers.length === 0) socket.destroy();
    else this.send(workers[this.cursor++ % workers.length]!, socket);
  }

  private send(worker: W, socket: Socket): void {
    const queuedAt = (socket as Queued)[QUEUED_AT];
    const waitedMs = queuedAt === undefined ? 0 : performance.now() - queuedAt;
    if (queuedAt !== undefined) this.onDispatch?.(waitedMs / 1000);
    worker.sendConnection(socket, this.waiting.length > 0, waitedMs);
  }

  /** Every worker that may take work is asked: the first to have room gets the oldest connection. */
  private askForRoom(): void {
    for (const w of this.workers()) if (w.acceptsWork()) w.askForRoom();
  }

  private pickRoomy(): W | null {
    const all = this.workers();
    for (let i = 0; i < all.length; i++) {
      const w = all[(this.cursor + i) % all.length]!;
      if (!this.busy.has(w) && w.acceptsWork()) {
        this.cursor = (this.cursor + i + 1) % all.length;
        return w;
      }
    }
    return null;
  }
}
