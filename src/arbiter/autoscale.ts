// The adaptive pool (workers_min..workers_max): the master samples how saturated its workers are and
// moves the target one worker at a time. Up when the mean pressure over scale_up_after stays at or
// above scale_up_utilization; down when the same load spread over one worker fewer would still sit
// well below that (DOWN_MARGIN of it) for all of scale_down_after. A change clears the window, so
// the next one needs a full window of its own: that is the cooldown, and with the margin, the
// hysteresis that keeps the pool from flapping between two sizes.
import type { WorkerView } from "../contracts/pool-view.js";

/** Scaling down must leave the pool at no more than this share of the scale-up threshold. */
export const DOWN_MARGIN = 0.75;

export interface ScalePolicy {
  min: number;
  max: number;
  /** Mean pressure (0..1) at or above which the pool grows. */
  upAt: number;
  upAfterMs: number;
  downAfterMs: number;
}

/** What saturates a worker pool now, as the master sees it. */
export interface PoolPressure {
  /** 0..1: requests in flight over capacity (sync, thread), or event-loop utilization (async). */
  busy: number;
  /** Connections waiting for a worker: in the master's queue or the kernel's accept queue. */
  waiting: number;
}

export interface ScaleDecision {
  to: number;
  reason: "scale_up" | "scale_down";
  /** The figure that caused it, for the log line. */
  why: string;
}

interface Sample {
  at: number;
  pressure: number;
  waiting: number;
}

export class Autoscaler {
  private samples: Sample[] = [];
  /** The window starts again from here: after a change, or while the pool was not steady. */
  private since: number | null = null;

  constructor(private readonly policy: () => ScalePolicy) {}

  /** The pool changed size or was not steady (booting, reloading): wait a full window again. */
  restart(now: number): void {
    this.samples = [];
    this.since = now;
  }

  /** One sample of the pool at `target` workers; a decision when it should change size. */
  sample(now: number, target: number, p: PoolPressure): ScaleDecision | null {
    const { min, max, upAt, upAfterMs, downAfterMs } = this.policy();
    this.since ??= now;
    if (target < min) return this.change(now, { to: min, reason: "scale_up", why: `below workers_min ${min}` });
    if (target > max) return this.change(now, { to: max, reason: "scale_down", why: `above workers_max ${max}` });
    // A waiting connection means every worker is taken, whatever the busy figure says.
    const pressure = p.waiting > 0 ? 1 : Math.max(0, Math.min(1, p.busy));
    this.samples.push({ at: now, pressure, waiting: p.waiting });
    const keep = Math.max(upAfterMs, downAfterMs);
    while (this.samples.length > 0 && this.samples[0]!.at < now - keep) this.samples.shift();

    const steadyFor = now - this.since;
    if (target < max && steadyFor >= upAfterMs) {
      const { mean, waiting } = this.over(now - upAfterMs);
      if (mean >= upAt)
        return this.change(now, {
          to: target + 1,
          reason: "scale_up",
          why: `utilization ${mean.toFixed(2)} over ${seconds(upAfterMs)}${waiting > 0 ? `, up to ${waiting} connections waiting` : ""} (scale_up_utilization ${upAt})`,
        });
    }
    if (target > min && steadyFor >= downAfterMs) {
      const { mean } = this.over(now - downAfterMs);
      const projected = (mean * target) / (target - 1);
      if (projected < upAt * DOWN_MARGIN)
        return this.change(now, {
          to: target - 1,
          reason: "scale_down",
          why: `utilization ${mean.toFixed(2)} over ${seconds(downAfterMs)}, ${projected.toFixed(2)} on ${target - 1} workers`,
        });
    }
    return null;
  }

  private over(from: number): { mean: number; waiting: number } {
    let sum = 0;
    let n = 0;
    let waiting = 0;
    for (const s of this.samples) {
      if (s.at < from) continue;
      sum += s.pressure;
      n++;
      waiting = Math.max(waiting, s.waiting);
    }
    return { mean: n > 0 ? sum / n : 0, waiting };
  }

  private change(now: number, d: ScaleDecision): ScaleDecision {
    this.restart(now);
    return d;
  }
}

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;

/**
 * The pressure on running workers of one class: event-loop utilization for async workers (their
 * in-flight count says nothing of their capacity), requests in flight over capacity for the others.
 */
export function poolPressure(running: readonly WorkerView[], workerClass: string, waiting: number): PoolPressure {
  if (running.length === 0) return { busy: 0, waiting };
  if (workerClass === "async") {
    const elu = running.reduce((n, w) => n + w.eventLoopUtilization, 0);
    return { busy: elu / running.length, waiting };
  }
  const inFlight = running.reduce((n, w) => n + Math.min(w.inFlight, w.capacity), 0);
  const capacity = running.reduce((n, w) => n + w.capacity, 0);
  return { busy: capacity > 0 ? inFlight / capacity : 0, waiting };
}
