// The keep-alive timeout, kept by a sweep instead of a timer per request. Node's own
// keepAliveTimeout arms a timer on the socket when a response ends and clears it when the next
// request arrives: two timer-list operations per request, about 1 % of a hello-world request's CPU
// in a profile. Here a request costs one field store, and a timer that runs only while there are
// connections checks them a few times per keep-alive period.
import type { Socket } from "node:net";

const IDLE_SWEEPS = Symbol("gpe.idleSweeps");
type Tracked = Socket & { [IDLE_SWEEPS]?: number; _httpMessage?: unknown };

/** Checks per keep-alive period: an idle connection closes within 1/SWEEPS of it after it is due. */
const SWEEPS = 4;

export class IdleConnections {
  private readonly sockets = new Set<Tracked>();
  private readonly intervalMs: number;
  /** Sweeps a connection may stay idle through; it closes at the next one. */
  private readonly allowedSweeps: number;
  private timer: NodeJS.Timeout | null = null;
  private readonly untrack: (this: Tracked) => void;

  constructor(keepAliveMs: number) {
    this.intervalMs = Math.max(50, Math.min(1000, keepAliveMs / SWEEPS));
    this.allowedSweeps = Math.ceil(keepAliveMs / this.intervalMs);
    const self = this;
    this.untrack = function (this: Tracked) {
      self.sockets.delete(this);
      if (self.sockets.size === 0 && self.timer) {
        clearInterval(self.timer);
        self.timer = null;
      }
    };
  }

  /** A request started on this connection: its idle time starts again from zero. */
  requestStarted(socket: Socket): void {
    const s = socket as Tracked;
    if (s[IDLE_SWEEPS] === undefined) this.track(s);
    s[IDLE_SWEEPS] = 0;
  }

  private track(socket: Tracked): void {
    this.sockets.add(socket);
    socket.on("close", this.untrack);
    if (!this.timer) {
      // Idle workers (no connections) are never woken by it.
      this.timer = setInterval(() => this.sweep(), this.intervalMs);
      this.timer.unref();
    }
  }

  private sweep(): void {
    for (const socket of this.sockets) {
      // A response still being written (or waiting behind a pipelined one) is not idleness.
      if (socket._httpMessage) socket[IDLE_SWEEPS] = 0;
      else if (++socket[IDLE_SWEEPS]! > this.allowedSweeps) socket.destroy();
    }
  }
}
