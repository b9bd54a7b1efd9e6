// Keeps kept-alive connections spread over the async workers (workers/connections/connection-share.ts says how
// a worker takes part). Each worker reports how many it holds; one above its share is asked to close
// the excess after their next responses, and their clients reconnect to workers with fewer. The
// share is the mean plus a slack, so that a pool near balance is left alone (excess() has the
// rule); the asks to a worker
// are spaced, so that a pool where one worker cannot take connections (its event loop is blocked)
// costs a few reconnections a second, not a storm.
import type { ToWorker } from "../contracts/messages.js";

/** What the balance needs of a worker (WorkerProcess has it). */
export interface BalancedWorker {
  /** Kept-alive connections, as the worker last said. */
  keptAlive: number;
  acceptsWork(): boolean;
  readonly standby: boolean;
  send(message: ToWorker): void;
}

/** How long a worker has to act on an ask before it gets another. */
export const ASK_INTERVAL_MS = 50;

/** The most a worker may hold above the mean before it is asked to close some: a tenth, at least 1. */
export const slackOver = (mean: number): number => Math.max(1, Math.ceil(mean / 10));

/**
 * How many kept-alive connections each worker should close, for a pool with these counts: a worker
 * more than the slack above the mean comes down to the mean; and when the fewest and the most lie
 * further apart than twice the slack (one worker left with few while the rest sit just within
 * it), every worker above the mean does, so that the reconnections can reach the one below.
 */
export function excess(counts: readonly number[], tight = false): number[] {
  if (counts.length < 2) return counts.map(() => 0);
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  const target = Math.ceil(mean);
  // Tight (a canary must get its share of a balancer's few pooled connections): no slack.
  const slack = tight ? 0 : slackOver(mean);
  const tooWide = Math.max(...counts) - Math.min(...counts) > 2 * slack + 1;
  return counts.map((n) => (n > target + slack || (tooWide && n > target) ? n - target : 0));
}

export class ConnectionBalance<W extends BalancedWorker> {
  /** What each worker was last asked to close, and when. */
  private readonly asked = new Map<W, { count: number; at: number }>();

  /** Set while a canary runs: connections are spread to within one of the mean. */
  tight = false;

  constructor(private readonly pool: () => Iterable<W>) {}

  /** A worker said how many kept-alive connections it holds. */
  reported(w: W, open: number): void {
    w.keptAlive = open;
    this.rebalance();
  }

  forget(w: W): void {
    this.asked.delete(w);
  }

  /** Spreads what the workers last reported now (a worker joined: a canary serves). */
  rebalance(): void {
    const workers = [...this.pool()].filter((w) => w.acceptsWork() && !w.standby);
    const want = excess(
      workers.map((w) => w.keptAlive),
      this.tight,
    );
    const now = performance.now();
    workers.forEach((w, i) => {
      const count = want[i]!;
      const last = this.asked.get(w);
      if (count === 0) {
        // Back within its share: a budget it still has is withdrawn at once.
        if (last && last.count > 0) this.ask(w, 0, now);
        return;
      }
      // Asked again (its budget replaced, not added to) once it has had time to act on the last ask.
      if (!last || now - last.at >= ASK_INTERVAL_MS) this.ask(w, count, now);
    });
  }

  private ask(w: W, count: number, now: number): void {
    this.asked.set(w, { count, at: now });
    w.send({ cmd: "gpe:shed", count });
  }
}
