// How loaded this worker's event loop is, measured between two heartbeats: the share of time it
// was busy (event-loop utilization) and how late timers ran (mean event-loop delay). A blocked
// loop sends no heartbeat at all; the master's heartbeat age shows that case.
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from "node:perf_hooks";

export interface LoadSample {
  /** 0..1: share of the last interval the event loop spent running code. */
  elu: number;
  /** Seconds: mean delay of the event loop over the last interval. */
  lag: number;
}

export class LoadProbe {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private last: EventLoopUtilization = performance.eventLoopUtilization();

  constructor() {
    this.delay.enable();
  }

  sample(): LoadSample {
    const now = performance.eventLoopUtilization();
    const elu = performance.eventLoopUtilization(now, this.last).utilization;
    this.last = now;
    // The histogram counts the sampling timer's own resolution as delay; subtract it.
    const lag = this.delay.count > 0 ? Math.max(0, this.delay.mean / 1e9 - 0.01) : 0;
    this.delay.reset();
    return { elu, lag };
  }
}
