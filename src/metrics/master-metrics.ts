// Metrics only the master knows: restarts, signals, the worker pool, each live worker's resource
// use (sampled from the master for every worker, idle or not), and the master's own process.
import pidusage from "pidusage";
import { Registry, collectDefaultMetrics } from "prom-client";
import { slotLabel, type FamilyJSON, type SampleJSON } from "./family.js";

export const RESTART_REASONS = ["crash", "signal", "timeout", "max_requests", "reload", "scale_down", "boot_error"] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];
export const COUNTED_SIGNALS = ["HUP", "USR1", "USR2", "CHLD", "TTIN", "TTOU", "TERM", "INT", "QUIT"] as const;
export const WORKER_STATES = ["booting", "running", "quitting", "aborting"] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

export interface WorkerView {
  pid: number;
  slot: number;
  state: WorkerState;
  stateSince: number;
  startedAt: number;
}

interface Usage {
  memory: number;
  cpu: number;
}

export class MasterMetrics {
  readonly restarts = new Map<string, number>(RESTART_REASONS.map((r) => [r, 0]));
  readonly signals = new Map<string, number>(COUNTED_SIGNALS.map((s) => [s, 0]));
  private usage = new Map<number, Usage>();
  private readonly registry = new Registry();
  private sampler: NodeJS.Timeout | null = null;

  constructor(private readonly workers: () => readonly WorkerView[]) {
    collectDefaultMetrics({ register: this.registry, prefix: "gunicorn_master_" });
  }

  restart(reason: RestartReason): void {
    this.restarts.set(reason, (this.restarts.get(reason) ?? 0) + 1);
  }

  signal(name: string): void {
    if (this.signals.has(name)) this.signals.set(name, this.signals.get(name)! + 1);
  }

  /** Samples CPU and RSS of every live worker in one pidusage call. */
  async sample(): Promise<void> {
    const pids = this.workers().map((w) => w.pid);
    if (pids.length === 0) return;
    try {
      const stats = await pidusage(pids);
      const next = new Map<number, Usage>();
      for (const pid of pids) {
        const s = stats[pid];
        if (s) next.set(pid, { memory: s.memory, cpu: s.cpu });
      }
      this.usage = next;
    } catch {
      // a worker exited between listing and sampling; the next round catches up
    }
  }

  startSampling(intervalMs = 5000): void {
    this.sampler = setInterval(() => void this.sample(), intervalMs);
    this.sampler.unref();
  }

  stopSampling(): void {
    if (this.sampler) clearInterval(this.sampler);
    pidusage.clear();
  }

  async families(storeErrors: ReadonlyMap<string, number>): Promise<FamilyJSON[]> {
    const now = Date.now();
    // One series per slot: during a reload, the newest worker of a slot speaks for it.
    const bySlot = new Map<number, WorkerView>();
    for (const w of this.workers()) {
      const seen = bySlot.get(w.slot);
      if (!seen || w.startedAt > seen.startedAt) bySlot.set(w.slot, w);
    }
    const slots = [...bySlot.values()].sort((a, b) => a.slot - b.slot);
    const perSlot = (value: (w: WorkerView) => number | undefined): SampleJSON[] =>
      slots.flatMap((w) => {
        const v = value(w);
        return v === undefined ? [] : [{ labels: { worker_id: slotLabel(w.slot) }, value: v }];
      });
    const live = this.workers().filter((w) => w.state === "booting" || w.state === "running").length;
    // prom-client's gauges named *_total (nodejs_active_handles_total) only sum the per-type gauge
    // of the same base name, and promtool rejects the suffix on a gauge: leave them out.
    const own = ((await this.registry.getMetricsAsJSON()) as unknown as FamilyJSON[]).filter(
      (f) => f.type === "counter" || !f.name.endsWith("_total"),
    );
    return [
      { name: "gunicorn_worker_memory_bytes", help: "Resident memory of the worker process.", type: "gauge", values: perSlot((w) => this.usage.get(w.pid)?.memory) },
      { name: "gunicorn_worker_cpu_percent", help: "CPU use of the worker process since the last sample, in percent of one core.", type: "gauge", values: perSlot((w) => this.usage.get(w.pid)?.cpu) },
      { name: "gunicorn_worker_uptime_seconds", help: "Seconds since the worker process started.", type: "gauge", values: perSlot((w) => (now - w.startedAt) / 1000) },
      {
        name: "gunicorn_worker_state", help: "1 for the worker's current state.", type: "gauge",
        values: slots.flatMap((w) => WORKER_STATES.map((state) => ({ labels: { worker_id: slotLabel(w.slot), state }, value: w.state === state ? 1 : 0 }))),
      },
      { name: "gunicorn_worker_state_timestamp_seconds", help: "When the worker entered its current state (Unix time).", type: "gauge", values: perSlot((w) => w.stateSince / 1000) },
      { name: "gunicorn_workers", help: "Worker processes alive and serving (booting or running).", type: "gauge", values: [{ labels: {}, value: live }] },
      {
        name: "gunicorn_master_worker_restarts_total", help: "Workers that exited and were replaced or removed, by reason.", type: "counter",
        values: [...this.restarts].map(([reason, value]) => ({ labels: { reason }, value })),
      },
      {
        name: "gunicorn_master_signals_total", help: "Signals the master handled, by signal.", type: "counter",
        values: [...this.signals].map(([signal, value]) => ({ labels: { signal }, value })),
      },
      storeErrorsFamily(storeErrors),
      ...own,
    ];
  }
}

/** Store files skipped, by kind; shared by the master and the standalone exporter. */
export function storeErrorsFamily(storeErrors: ReadonlyMap<string, number>): FamilyJSON {
  return {
    name: "gunicorn_metrics_store_errors_total", help: "Metrics store files skipped because they could not be read or parsed.", type: "counter",
    values: ["corrupt", "foreign", "unreadable"].map((kind) => ({ labels: { kind }, value: storeErrors.get(kind) ?? 0 })),
  };
}
