// A worker's part in spreading keep-alive connections evenly. Every worker accepts from the shared
// sockets, and libuv accepts all that is queued in one go, so a burst of connections (a load
// balancer's pool, a benchmark's -c 50) can land on one worker and stay there as long as they
// live. The worker tells the master how many kept-alive connections it holds; the master
// (arbiter/connection-balance.ts) asks a worker above its share to close some, and this worker then
// answers that many requests with `Connection: close`. Their clients reconnect, and the kernel
// hands the new connections to a worker waiting in accept: one with fewer. No socket moves between
// processes and nothing is dropped: a response that says close is HTTP's own way to end a
// connection, which every client and proxy handles.
import type { Socket } from "node:net";
import type { ToMaster } from "../../contracts/messages.js";
import { pipelined } from "../../platform/node-internals.js";

/** Changes to the count are reported at most this often (a burst is one report, not fifty). */
export const REPORT_MS = 10;

export class ConnectionShare {
  /** The count the master last heard. */
  private reported = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Keep-alive connections the master asked this worker to close, not closed yet. */
  private budget = 0;
  /** Connections closed for the balance, for gunicorn_worker_connections_rebalanced_total. */
  rebalanced = 0;
  private readonly report: () => void;

  constructor(
    private readonly count: () => number,
    private readonly send: (m: ToMaster) => void,
  ) {
    this.report = () => {
      this.timer = null;
      const open = this.count();
      if (open === this.reported) return;
      this.reported = open;
      this.send({ cmd: "gpe:conns", open });
    };
  }

  /** A kept-alive connection opened or closed: the master hears of it shortly. */
  changed(): void {
    if (this.timer === null) this.timer = setTimeout(this.report, REPORT_MS).unref();
  }

  /** The master's answer to what it heard: close this many (0: none, a budget it set is withdrawn). */
  shed(count: number): void {
    this.budget = count;
  }

  /**
   * At a request whose connection would stay open: true when it should close after this response.
   * Never a connection whose client pipelines: the requests it sent behind this one would go
   * unanswered (HTTP lets a server close, but the client would have to send them again).
   */
  closeThis(socket: Socket): boolean {
    if (this.budget === 0 || pipelined(socket)) return false;
    this.budget--;
    this.rebalanced++;
    return true;
  }
}
