// The keep-alive timeout, kept by a sweep instead of a timer per request. Node's own
// keepAliveTimeout arms a timer on the socket when a response ends and clears it when the next
// request arrives: two timer-list operations per request. Here a request costs one map store, and
// a timer that runs only while there are connections checks them a few times per keep-alive period.
// A map, not a mark on the socket: sockets keep one hidden class (PendingConnections says why).
import type { Socket } from "node:net";
import { currentResponse } from "../../platform/node-internals.js";

/** Checks per keep-alive period: an idle connection closes within 1/SWEEPS of it after it is due. */
const SWEEPS = 4;

export class IdleConnections {
  /** Each kept-alive connection and the sweeps it has been idle through. */
  private readonly sockets = new Map<Socket, number>();
  private readonly intervalMs: number;
  /** Sweeps a connection may stay idle through; it closes at the next one. */
  private readonly allowedSweeps: number;
  private timer: NodeJS.Timeout | null = null;
  private readonly untrack: (this: Socket) => void;
  private readonly check: (sweeps: number, socket: Socket) => void;

  /** How many connections are kept alive now. */
  get size(): number {
    return this.sockets.size;
  }

  /** @param onCount Told whenever a connection starts or stops being kept alive. */
  constructor(
    keepAliveMs: number,
    private readonly onCount: (() => void) | null = null,
  ) {
    this.intervalMs = Math.max(50, Math.min(1000, keepAliveMs / SWEEPS));
    this.allowedSweeps = Math.ceil(keepAliveMs / this.intervalMs);
    const self = this;
    this.untrack = function (this: Socket) {
      self.sockets.delete(this);
      self.onCount?.();
      if (self.sockets.size === 0 && self.timer) {
        clearInterval(self.timer);
        self.timer = null;
      }
    };
    this.check = (sweeps, socket) => {
      // A response still being written (or waiting behind a pipelined one) is not idleness.
      if (currentResponse(socket)) this.sockets.set(socket, 0);
      else if (sweeps + 1 > this.allowedSweeps) socket.destroy();
      else this.sockets.set(socket, sweeps + 1);
    };
  }

  /** A request started on this connection: its idle time starts again from zero. */
  requestStarted(socket: Socket): void {
    const before = this.sockets.size;
    this.sockets.set(socket, 0);
    if (this.sockets.size !== before) this.track(socket);
  }

  /** The connection is no longer HTTP (upgraded): it is never closed for idleness. */
  forget(socket: Socket): void {
    if (!this.sockets.has(socket)) return;
    socket.removeListener("close", this.untrack);
    this.untrack.call(socket);
  }

  private track(socket: Socket): void {
    socket.on("close", this.untrack);
    this.onCount?.();
    if (!this.timer) {
      // Idle workers (no connections) are never woken by it.
      this.timer = setInterval(() => this.sockets.forEach(this.check), this.intervalMs);
      this.timer.unref();
    }
  }
}
