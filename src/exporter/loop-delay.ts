// How late the master's timers run: its heartbeat checks, signal handling and scrapes wait that
// long. Sampled by libuv 10 times a second, off the JavaScript thread's work.
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { FamilyJSON } from "../metrics/family.js";
import { familyHead, METRICS } from "../metrics/catalogue.js";

/** Reported over windows of at least this long, so that back-to-back scrapes see the same figure. */
const WINDOW_MS = 10_000;
const RESOLUTION_MS = 100;
/** The histogram holds each whole interval between samples: the delay is what exceeds the resolution. */
const lateness = (ns: number) => Math.max(0, ns / 1e9 - RESOLUTION_MS / 1000);

export class LoopDelay {
  private readonly histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  private since = Date.now();

  constructor() {
    this.histogram.enable();
  }

  /** p99 and maximum over the current window; a read 10 s or more into it starts the next. */
  family(now: number): FamilyJSON {
    const h = this.histogram;
    const values = [
      { labels: { stat: "p99" }, value: h.count > 0 ? lateness(h.percentile(99)) : 0 },
      { labels: { stat: "max" }, value: h.count > 0 ? lateness(h.max) : 0 },
    ];
    if (now - this.since >= WINDOW_MS) {
      h.reset();
      this.since = now;
    }
    return { ...familyHead(METRICS.masterLoopDelay), values };
  }
}
