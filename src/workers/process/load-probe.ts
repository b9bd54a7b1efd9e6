// How loaded this worker's event loop is, measured between two heartbeats: the share of time it
// was busy (event-loop utilization) and how late the heartbeat timer itself ran (event-loop
// delay, one sample per heartbeat). No timer of its own: a sampling timer (monitorEventLoopDelay
// fires 100 times a second) would wake every idle worker for nothing. A blocked loop sends no
// heartbeat at all; the master's heartbeat age shows that case.
import { performance, type EventLoopUtilization } from "node:perf_hooks";

export interface LoadSample {
  /** 0..1: share of the last interval the event loop spent running code. */
  elu: number;
  /** Seconds: how late the heartbeat ran (the delay of a timer due at that moment). */
  lag: number;
}

export class LoadProbe {
  private last: EventLoopUtilization = performance.eventLoopUtilization();
  private due: number;

  /** `intervalMs`: how often the caller's timer calls sample(). */
  constructor(private readonly intervalMs: number) {
    this.due = performance.now() + intervalMs;
  }

  sample(): LoadSample {
    const now = performance.now();
    // Node reschedules a repeating timer from when its callback runs, so the next one is due then.
    const lag = Math.max(0, now - this.due) / 1000;
    this.due = now + this.intervalMs;
    const elu = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(elu, this.last).utilization;
    this.last = elu;
    return { elu: utilization, lag };
  }
}
