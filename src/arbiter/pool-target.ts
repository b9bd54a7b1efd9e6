// How many workers the master keeps, and who moves the number: -w, TTIN/TTOU and `gpe-server
// scale` (the operator), a HUP with new settings, and the adaptive pool (workers_min..workers_max),
// which samples its workers on the master's tick (autoscale.ts decides). Every move is one log line
// for the adaptive pool, one count, and the nworkers_changed hook (through `changed`).
import type { Logger } from "pino";
import type { Settings } from "../config/settings.js";
import type { PoolSizing, WorkerView } from "../contracts/pool-view.js";
import type { MasterMetrics, Resize } from "../exporter/master-metrics.js";
import { Autoscaler, poolPressure } from "./autoscale.js";

export interface TargetOwner {
  settings(): Settings;
  log: Logger;
  metrics: MasterMetrics;
  /** The target moved from `old` to `n`: run the hook and bring the pool to it. */
  changed(n: number, old: number): void;
}

export class PoolTarget {
  value: number;
  private readonly autoscaler: Autoscaler;

  constructor(private readonly o: TargetOwner) {
    this.value = o.settings().workers;
    this.autoscaler = new Autoscaler(() => {
      const s = o.settings();
      return {
        min: s.workers_min ?? 1,
        max: s.workers_max ?? 1,
        upAt: s.scale_up_utilization,
        upAfterMs: s.scale_up_after * 1000,
        downAfterMs: s.scale_down_after * 1000,
      };
    });
  }

  get adaptive(): boolean {
    return this.o.settings().workers_max !== null;
  }

  sizing(): PoolSizing {
    const s = this.o.settings();
    return {
      target: this.value,
      min: this.adaptive ? s.workers_min : null,
      max: this.adaptive ? s.workers_max : null,
    };
  }

  /** TTIN/TTOU: one worker more or fewer; an adaptive pool stays within its bounds. */
  step(by: 1 | -1): void {
    const s = this.o.settings();
    const [low, high] = this.adaptive ? [s.workers_min!, s.workers_max!] : [1, Number.POSITIVE_INFINITY];
    const to = this.value + by;
    if (to < low || to > high) {
      const bound = by > 0 ? "workers_max" : "workers_min";
      this.o.log.warn(`${by > 0 ? "TTIN" : "TTOU"} ignored: the adaptive pool is at its ${bound} ${this.value}`);
      return;
    }
    this.set(to, "operator");
  }

  /** After a HUP: an adaptive pool keeps its size within the new bounds; a fixed one takes the new count. */
  reloaded(): void {
    const s = this.o.settings();
    this.set(this.adaptive ? Math.min(s.workers_max!, Math.max(s.workers_min!, this.value)) : s.workers, "operator");
  }

  /**
   * One sample on the master's tick. `steady`: no worker of the pool boots and no reload or stop
   * runs (only a steady pool is measured); `running`: its running workers; `waiting`: connections
   * waiting for one.
   */
  sample(now: number, steady: boolean, running: readonly WorkerView[], waiting: number): void {
    if (!this.adaptive) return;
    if (!steady) {
      this.autoscaler.restart(now);
      return;
    }
    const pressure = poolPressure(running, this.o.settings().worker_class, waiting);
    const decision = this.autoscaler.sample(now, this.value, pressure);
    if (!decision) return;
    const verb = decision.reason === "scale_up" ? "adding a worker" : "retiring a worker";
    this.o.log.info(`adaptive pool: ${verb}, ${this.value} -> ${decision.to}: ${decision.why}`);
    this.set(decision.to, "auto");
  }

  private set(n: number, by: Resize["by"]): void {
    if (n === this.value) return;
    const old = this.value;
    this.value = n;
    this.o.metrics.resized({ reason: n > old ? "scale_up" : "scale_down", by }, Math.abs(n - old));
    this.autoscaler.restart(Date.now());
    this.o.changed(n, old);
  }
}
