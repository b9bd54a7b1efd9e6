// The data behind `gpe-server status` and the status page: one row per worker slot, a summary of
// the pool, and a short history of request rate and utilization sampled by the master.
import type { FamilyJSON } from "../metrics/family.js";
import { slotLabel } from "../metrics/family.js";
import { METRICS } from "../metrics/catalogue.js";
import type { MasterMetrics } from "./master-metrics.js";
import type { PoolSizing } from "../contracts/pool-view.js";
import type { DeployStatus } from "../contracts/deploy-status.js";

export interface WorkerStatus {
  slot: number;
  workerId: string;
  pid: number;
  state: string;
  inFlight: number;
  capacity: number;
  /** Connections kept alive between requests: a skew between workers shows here. */
  connections: number;
  requests: number;
  requestsPerSecond: number;
  memoryBytes: number | null;
  cpuPercent: number | null;
  uptimeSeconds: number;
  heartbeatAgeSeconds: number;
  restarts: Record<string, number>;
}

export interface StatusJSON {
  pid: number;
  workerClass: string;
  time: number;
  workers: WorkerStatus[];
  summary: {
    /** How many workers the master keeps (the setting, moved by TTIN/TTOU and `gpe-server scale`). */
    target: number;
    /** The adaptive pool's bounds; null for a fixed pool. */
    min: number | null;
    max: number | null;
    workers: number;
    busy: number;
    inFlight: number;
    capacity: number;
    utilization: number;
    queued: number;
    listenQueue: number;
    requests: number;
    requestsPerSecond: number;
    restarts: Record<string, number>;
  };
  /** Oldest first: one point per sample interval. */
  history: { time: number; requestsPerSecond: number; utilization: number }[];
  /** Where the master's logs are, for `gpe-server logs`: absolute paths, "-" for its stderr, null for none. */
  logs: LogFiles;
  /** The deploy under way, and how the last one ended. */
  deploy: DeployStatus;
}

export interface LogFiles {
  errorlog: string;
  accesslog: string | null;
  /** Whether the error log holds the workers' stdout and stderr too. */
  captureOutput: boolean;
}

export interface StatusSources {
  metrics: MasterMetrics;
  workerClass: string;
  sizing(): PoolSizing;
  /** The merged store (dead workers' counts included), for request totals per slot. */
  store(): FamilyJSON[];
  logs(): LogFiles;
  deploy(): DeployStatus;
}

const HISTORY_POINTS = 300;

export class StatusBoard {
  private last: { time: number; totals: Map<string, number> } | null = null;
  private rates = new Map<string, number>();
  private totalRate = 0;
  private readonly history: StatusJSON["history"] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly sources: StatusSources) {}

  start(intervalMs = 2000): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Request totals per worker_id, from the merged store. */
  private totals(): Map<string, number> {
    const totals = new Map<string, number>();
    const family = this.sources.store().find((f) => f.name === METRICS.requests.name);
    for (const s of family?.values ?? []) {
      const id = String(s.labels.worker_id ?? "");
      totals.set(id, (totals.get(id) ?? 0) + s.value);
    }
    return totals;
  }

  sample(): void {
    const now = Date.now();
    const totals = this.totals();
    if (this.last) {
      const seconds = (now - this.last.time) / 1000;
      const rates = new Map<string, number>();
      let all = 0;
      for (const [id, total] of totals) {
        const rate = Math.max(0, (total - (this.last.totals.get(id) ?? 0)) / seconds);
        rates.set(id, rate);
        all += rate;
      }
      this.rates = rates;
      this.totalRate = all;
      this.history.push({ time: now, requestsPerSecond: all, utilization: this.sources.metrics.pool().utilization });
      if (this.history.length > HISTORY_POINTS) this.history.shift();
    }
    this.last = { time: now, totals };
  }

  snapshot(): StatusJSON {
    const now = Date.now();
    const { metrics } = this.sources;
    const totals = this.totals();
    const workers: WorkerStatus[] = metrics.slots().map((w) => {
      const workerId = slotLabel(w.slot);
      const usage = metrics.usageOf(w.pid);
      return {
        slot: w.slot,
        workerId,
        pid: w.pid,
        state: w.state,
        inFlight: w.inFlight,
        capacity: w.capacity,
        connections: w.keptAlive,
        requests: totals.get(workerId) ?? 0,
        requestsPerSecond: this.rates.get(workerId) ?? 0,
        memoryBytes: usage?.memory ?? null,
        cpuPercent: usage?.cpu ?? null,
        uptimeSeconds: (now - w.startedAt) / 1000,
        heartbeatAgeSeconds: (now - w.lastHeartbeat) / 1000,
        restarts: Object.fromEntries(metrics.restartsOf(w.slot)),
      };
    });
    const pool = metrics.pool();
    return {
      pid: process.pid,
      workerClass: this.sources.workerClass,
      time: now,
      workers,
      summary: {
        ...this.sources.sizing(),
        workers: workers.filter((w) => w.state === "booting" || w.state === "running").length,
        busy: pool.busy,
        inFlight: pool.inFlight,
        capacity: pool.capacity,
        utilization: pool.utilization,
        queued: metrics.queued(),
        listenQueue: metrics.listenQueues().reduce((n, q) => n + q.length, 0),
        requests: [...totals.values()].reduce((a, b) => a + b, 0),
        requestsPerSecond: this.totalRate,
        restarts: Object.fromEntries([...metrics.restarts].filter(([, n]) => n > 0)),
      },
      history: [...this.history],
      logs: this.sources.logs(),
      deploy: this.sources.deploy(),
    };
  }
}
