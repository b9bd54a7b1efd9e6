// Metrics only the master knows: restarts, signals, the worker pool, each live worker's resource
// use (sampled from the master for every worker, idle or not), and the master's own process.
import { LoopDelay } from "./loop-delay.js";
import { ProcessUsage, type Usage } from "./proc-usage.js";
import { Registry, collectDefaultMetrics } from "prom-client";
import { slotLabel, type FamilyJSON, type SampleJSON } from "../metrics/family.js";
import { COUNTED_SIGNALS, RESTART_REASONS, WORKER_STATES, type RestartReason } from "../contracts/lifecycle.js";
import { RELOAD_OUTCOMES, type DeployStatus, type ReloadOutcome } from "../contracts/deploy-status.js";

import type { ListenQueue, PoolSizing, QueueView, WorkerView } from "../contracts/pool-view.js";

/** Which way the worker target moved, and who moved it. */
export type Resize = { reason: "scale_up" | "scale_down"; by: "auto" | "operator" };
import { SimpleHistogram } from "../metrics/simple-histogram.js";
import { MASTER_DEFAULT_METRICS_PREFIX, METRICS, familyHead } from "../metrics/catalogue.js";

/** How often the master samples its workers' CPU and memory, and the accept queues. */
const SAMPLE_INTERVAL_MS = 5000;

const DISPATCH_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

export class MasterMetrics {
  readonly restarts = new Map<string, number>(RESTART_REASONS.map((r) => [r, 0]));
  readonly signals = new Map<string, number>(COUNTED_SIGNALS.map((s) => [s, 0]));
  private usage = new Map<number, Usage>();
  private readonly processUsage = new ProcessUsage();
  /** Per slot: restarts by reason, and the exit status of its last worker. */
  private readonly slotRestarts = new Map<number, Map<string, number>>();
  /** Target changes, keyed "reason by". */
  private readonly resizes = new Map<string, number>();
  /** Ended reloads, keyed "strategy outcome". */
  private readonly reloads = new Map<string, number>();
  private readonly lastExit = new Map<number, number>();
  private readonly loopDelay = new LoopDelay();
  private readonly dispatchWait = new SimpleHistogram(
    METRICS.dispatchWait.name,
    METRICS.dispatchWait.help,
    DISPATCH_BUCKETS,
  );
  private readonly registry = new Registry();
  private processCache: { at: number; families: FamilyJSON[] } | null = null;
  private sampler: NodeJS.Timeout | null = null;
  private sampling = false;
  private sampleAgain = false;
  /**
   * The kernel's accept queues, read with the other samples: /proc/net/tcp lists every socket of
   * the machine (tens of thousands on a busy one), too much to read on each scrape.
   */
  private listenSample: ListenQueue[] = [];

  constructor(
    private readonly workers: () => readonly WorkerView[],
    private readonly queues: QueueView = { queued: () => 0, listenQueues: () => [] },
    private readonly sizing: () => PoolSizing = () => ({ target: 0, min: null, max: null }),
    private readonly deploy: () => DeployStatus = () => ({ current: 0, inProgress: null, last: null }),
  ) {
    // Its lag monitor ticks 10 times a second, not 100: an idle master should stay asleep.
    collectDefaultMetrics({
      register: this.registry,
      prefix: MASTER_DEFAULT_METRICS_PREFIX,
      eventLoopMonitoringPrecision: 100,
    });
    // Its event-loop lag family costs each scrape more CPU than the rest of the master's metrics
    // (a percentile and a deviation over the whole histogram, eight times); the master's delay is
    // gunicorn_master_event_loop_delay_seconds instead.
    for (const metric of this.registry.getMetricsAsArray())
      if (metric.name.startsWith(`${MASTER_DEFAULT_METRICS_PREFIX}nodejs_eventloop_lag`))
        this.registry.removeSingleMetric(metric.name);
  }

  restart(reason: RestartReason, slot: number, exitStatus: number): void {
    this.restarts.set(reason, (this.restarts.get(reason) ?? 0) + 1);
    let perSlot = this.slotRestarts.get(slot);
    if (!perSlot) {
      perSlot = new Map();
      this.slotRestarts.set(slot, perSlot);
    }
    perSlot.set(reason, (perSlot.get(reason) ?? 0) + 1);
    this.lastExit.set(slot, exitStatus);
  }

  reloaded(strategy: string, outcome: ReloadOutcome): void {
    const key = `${strategy} ${outcome}`;
    this.reloads.set(key, (this.reloads.get(key) ?? 0) + 1);
  }

  resized({ reason, by }: Resize, steps = 1): void {
    const key = `${reason} ${by}`;
    this.resizes.set(key, (this.resizes.get(key) ?? 0) + steps);
  }

  /**
   * The master's own process metrics (prom-client's defaults), read at most once a second: they
   * cost a scrape more CPU than everything else it does (/proc reads, heap statistics), and they
   * move slowly.
   */
  private async processFamilies(now: number): Promise<FamilyJSON[]> {
    if (this.processCache && now - this.processCache.at < PROCESS_METRICS_TTL_MS) return this.processCache.families;
    // prom-client's gauges named *_total (nodejs_active_handles_total) only sum the per-type gauge
    // of the same base name, and promtool rejects the suffix on a gauge: leave them out.
    const families = ((await this.registry.getMetricsAsJSON()) as unknown as FamilyJSON[]).filter(
      (f) => f.type === "counter" || !f.name.endsWith("_total"),
    );
    this.processCache = { at: now, families };
    return families;
  }

  observeDispatchWait(seconds: number): void {
    this.dispatchWait.observe(seconds);
  }

  /** The newest worker of each slot (during a reload two share a slot), by slot. */
  slots(): WorkerView[] {
    const bySlot = new Map<number, WorkerView>();
    for (const w of this.workers()) {
      const seen = bySlot.get(w.slot);
      if (!seen || w.startedAt > seen.startedAt) bySlot.set(w.slot, w);
    }
    return [...bySlot.values()].sort((a, b) => a.slot - b.slot);
  }

  /** Requests in flight and what the pool can take, over running workers. */
  pool(): { busy: number; inFlight: number; capacity: number; utilization: number } {
    const running = this.workers().filter((w) => w.state === "running");
    const inFlight = running.reduce((n, w) => n + w.inFlight, 0);
    const capacity = running.reduce((n, w) => n + w.capacity, 0);
    return {
      busy: running.filter((w) => w.inFlight > 0).length,
      inFlight,
      capacity,
      utilization: capacity > 0 ? Math.min(1, inFlight / capacity) : 0,
    };
  }

  restartsOf(slot: number): ReadonlyMap<string, number> {
    return this.slotRestarts.get(slot) ?? new Map();
  }

  usageOf(pid: number): Usage | undefined {
    return this.usage.get(pid);
  }

  signal(name: string): void {
    if (this.signals.has(name)) this.signals.set(name, this.signals.get(name)! + 1);
  }

  /** The last reading of the kernel's accept queues (see listenSample). */
  listenQueues(): readonly ListenQueue[] {
    return this.listenSample;
  }

  /** Connections waiting in the master for a worker with room. */
  queued(): number {
    return this.queues.queued();
  }

  /** Samples CPU and RSS of every live worker, and the accept queues; one sampling at a time. */
  async sample(): Promise<void> {
    if (this.sampling) {
      this.sampleAgain = true;
      return;
    }
    this.sampling = true;
    try {
      do {
        this.sampleAgain = false;
        await this.sampleOnce();
      } while (this.sampleAgain);
    } finally {
      this.sampling = false;
    }
  }

  private async sampleOnce(): Promise<void> {
    this.listenSample = this.queues.listenQueues();
    const workers = this.workers();
    // A worker on its way out keeps its last reading.
    const next = await this.processUsage.read(workers.filter((w) => w.live).map((w) => w.pid));
    for (const w of workers) {
      const last = this.usage.get(w.pid);
      if (last && !next.has(w.pid)) next.set(w.pid, last);
    }
    this.usage = next;
  }

  startSampling(): void {
    this.sampler = setInterval(() => void this.sample(), SAMPLE_INTERVAL_MS);
    this.sampler.unref();
  }

  stopSampling(): void {
    if (this.sampler) clearInterval(this.sampler);
  }

  /** The master's own families (the store's error counts come from the collector: storeErrorsFamily). */
  async families(): Promise<FamilyJSON[]> {
    const now = Date.now();
    // One series per slot: during a reload, the newest worker of a slot speaks for it.
    const slots = this.slots();
    const perSlot = (value: (w: WorkerView) => number | undefined): SampleJSON[] =>
      slots.flatMap((w) => {
        const v = value(w);
        return v === undefined ? [] : [{ labels: { worker_id: slotLabel(w.slot) }, value: v }];
      });
    const live = this.workers().filter((w) => w.live).length;
    const own = await this.processFamilies(now);
    return [
      {
        ...familyHead(METRICS.memory),
        values: perSlot((w) => this.usage.get(w.pid)?.memory),
      },
      {
        ...familyHead(METRICS.cpu),
        values: perSlot((w) => this.usage.get(w.pid)?.cpu),
      },
      {
        ...familyHead(METRICS.uptime),
        values: perSlot((w) => (now - w.startedAt) / 1000),
      },
      {
        ...familyHead(METRICS.state),
        values: slots.flatMap((w) =>
          WORKER_STATES.map((state) => ({
            labels: { worker_id: slotLabel(w.slot), state },
            value: w.state === state ? 1 : 0,
          })),
        ),
      },
      {
        ...familyHead(METRICS.stateTimestamp),
        values: perSlot((w) => w.stateSince / 1000),
      },
      {
        ...familyHead(METRICS.generation),
        values: perSlot((w) => w.generation),
      },
      {
        ...familyHead(METRICS.workers),
        values: [{ labels: {}, value: live }],
      },
      {
        ...familyHead(METRICS.restarts),
        values: [...this.restarts].map(([reason, value]) => ({ labels: { reason }, value })),
      },
      ...this.sizingFamilies(),
      ...this.deployFamilies(),
      {
        ...familyHead(METRICS.signals),
        values: [...this.signals].map(([signal, value]) => ({ labels: { signal }, value })),
      },
      ...this.saturationFamilies(slots, now),
      ...own,
    ];
  }
  /** Reloads by strategy and outcome, and a running canary's comparison. */
  private deployFamilies(): FamilyJSON[] {
    const reloads: SampleJSON[] = [];
    for (const strategy of ["all", "rolling", "canary"])
      for (const outcome of RELOAD_OUTCOMES)
        reloads.push({ labels: { strategy, outcome }, value: this.reloads.get(`${strategy} ${outcome}`) ?? 0 });
    const canary: SampleJSON[] = [];
    const running = this.deploy().inProgress;
    for (const [side, f] of [
      ["canary", running?.canary],
      ["baseline", running?.baseline],
    ] as const) {
      if (!f) continue;
      canary.push(
        { labels: { side, figure: "requests" }, value: f.requests },
        { labels: { side, figure: "error_share" }, value: f.errorShare },
      );
      if (f.latency !== null) canary.push({ labels: { side, figure: "latency_seconds" }, value: f.latency });
    }
    return [
      { ...familyHead(METRICS.reloads), values: reloads },
      { ...familyHead(METRICS.canary), values: canary },
    ];
  }

  /** The target, the adaptive pool's bounds, and the moves of the target so far. */
  private sizingFamilies(): FamilyJSON[] {
    const { target, min, max } = this.sizing();
    const resizes: SampleJSON[] = [];
    for (const reason of ["scale_up", "scale_down"])
      for (const by of ["auto", "operator"])
        resizes.push({ labels: { reason, by }, value: this.resizes.get(`${reason} ${by}`) ?? 0 });
    return [
      { ...familyHead(METRICS.poolTarget), values: [{ labels: {}, value: target }] },
      {
        ...familyHead(METRICS.poolLimit),
        values:
          min === null || max === null
            ? []
            : [
                { labels: { bound: "min" }, value: min },
                { labels: { bound: "max" }, value: max },
              ],
      },
      { ...familyHead(METRICS.resizes), values: resizes },
    ];
  }

  /** How busy the pool is, how long work waits, and how each slot has fared. */
  private saturationFamilies(slots: readonly WorkerView[], now: number): FamilyJSON[] {
    const perSlot = (value: (w: WorkerView) => number): SampleJSON[] =>
      slots.map((w) => ({ labels: { worker_id: slotLabel(w.slot) }, value: value(w) }));
    const pool = this.pool();
    const everySlot = [...this.slotRestarts.keys()].sort((a, b) => a - b);
    const listen = this.listenSample;
    return [
      {
        ...familyHead(METRICS.inFlight),
        values: perSlot((w) => w.inFlight),
      },
      {
        ...familyHead(METRICS.upgraded),
        values: perSlot((w) => w.upgraded),
      },
      {
        ...familyHead(METRICS.keptAlive),
        values: perSlot((w) => w.keptAlive),
      },
      {
        ...familyHead(METRICS.capacity),
        values: perSlot((w) => w.capacity),
      },
      {
        ...familyHead(METRICS.busy),
        values: [{ labels: {}, value: pool.busy }],
      },
      {
        ...familyHead(METRICS.utilization),
        values: [{ labels: {}, value: pool.utilization }],
      },
      {
        ...familyHead(METRICS.eventLoopUtilization),
        values: perSlot((w) => w.eventLoopUtilization),
      },
      {
        ...familyHead(METRICS.eventLoopLag),
        values: perSlot((w) => w.eventLoopLag),
      },
      {
        ...familyHead(METRICS.heartbeatAge),
        values: perSlot((w) => (now - w.lastHeartbeat) / 1000),
      },
      {
        ...familyHead(METRICS.slotRestarts),
        values: everySlot.flatMap((slot) =>
          [...this.slotRestarts.get(slot)!].map(([reason, value]) => ({
            labels: { worker_id: slotLabel(slot), reason },
            value,
          })),
        ),
      },
      {
        ...familyHead(METRICS.lastExitCode),
        values: everySlot.map((slot) => ({
          labels: { worker_id: slotLabel(slot) },
          value: this.lastExit.get(slot) ?? 0,
        })),
      },
      {
        ...familyHead(METRICS.queued),
        values: [{ labels: {}, value: this.queued() }],
      },
      this.dispatchWait.family(),
      this.loopDelay.family(now),
      {
        ...familyHead(METRICS.listenQueueLength),
        values: listen.map((q) => ({ labels: { bind: q.bind }, value: q.length })),
      },
      {
        ...familyHead(METRICS.listenQueueMax),
        values: listen.map((q) => ({ labels: { bind: q.bind }, value: q.max })),
      },
    ];
  }
}

/** Store files skipped, by kind; shared by the master and the standalone exporter. */
export function storeErrorsFamily(storeErrors: ReadonlyMap<string, number>): FamilyJSON {
  return {
    ...familyHead(METRICS.storeErrors),
    values: ["corrupt", "foreign", "unreadable", "write"].map((kind) => ({
      labels: { kind },
      value: storeErrors.get(kind) ?? 0,
    })),
  };
}

const PROCESS_METRICS_TTL_MS = 1000;
