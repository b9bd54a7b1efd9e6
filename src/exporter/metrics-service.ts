// The master's metrics service: the store collector, the metrics server and its status page, the
// Redis forwarder and what a scrape does. The arbiter supervises processes; it gives this service
// a read-only view of its workers and a way to ask them to flush, and tells it what happened.
import type { Logger } from "pino";
import type { Settings } from "../config/settings.js";
import { sharesPort, type BindAddress } from "../config/bind.js";
import type { FamilyJSON } from "../metrics/family.js";
import { prepareStoreDir, workerFileName } from "../metrics/store.js";
import type { RedisForwarder } from "../redis/forwarder.js";
import { defaultInstance } from "../redis/instance.js";
import { serverHandle } from "../platform/node-internals.js";
import { StoreCollector } from "./collector.js";
import { MasterMetrics, storeErrorsFamily, type ListenQueue, type WorkerView } from "./master-metrics.js";
import { metricsSecurity } from "./security.js";
import { createMetricsServer, listenMetrics, type MetricsHttpServer } from "./server.js";
import { StatusBoard } from "./status-board.js";

/** How long a scrape waits for workers to write fresh files before reading what is there. */
const FLUSH_WAIT_MS = 2;

/** What the arbiter offers the service. */
export interface WorkerPool {
  workers(): readonly WorkerView[];
  /** Asks every responsive worker to write its metrics file now; resolves within `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
  queued(): number;
  /** How many workers the master keeps. */
  target(): number;
  listenQueues(): ListenQueue[];
}

export class MetricsService {
  readonly metrics: MasterMetrics;
  /** The port the metrics server listens on (the real one when 0 was asked for). */
  port = 0;
  private collector: StoreCollector | null = null;
  private server: MetricsHttpServer | null = null;
  private board: StatusBoard | null = null;
  private forwarder: RedisForwarder | null = null;

  constructor(
    private readonly settings: Settings,
    private readonly log: Logger,
    private readonly pool: WorkerPool,
  ) {
    this.metrics = new MasterMetrics(() => pool.workers(), {
      queued: () => pool.queued(),
      listenQueues: () => pool.listenQueues(),
    });
  }

  /** Makes the store directory ready (emptied unless a USR2 predecessor left it to us). */
  prepareStore(options: { clean: boolean; owner?: { uid: number; gid: number } | undefined }): void {
    if (!this.settings.metrics_enabled) return;
    prepareStoreDir(this.settings.multiproc_dir, options);
    this.collector = new StoreCollector(this.settings.multiproc_dir, process.pid, this.log);
  }

  /** Serves /metrics on an inherited handle (USR2) or on metrics_bind:metrics_port. */
  async listen(appBinds: readonly { bind: BindAddress; address: string }[], inherited: object | null): Promise<void> {
    const s = this.settings;
    if (!s.metrics_enabled) return;
    const board = new StatusBoard({
      metrics: this.metrics,
      workerClass: s.worker_class,
      target: () => this.pool.target(),
      store: () => this.storeFamilies(),
    });
    this.board = board;
    const server = createMetricsServer(
      { gather: () => this.gather(), status: () => board.snapshot() },
      (err) => this.log.error({ err }, "metrics collection failed"),
      metricsSecurity(s),
    );
    this.server = server;
    if (inherited) {
      await new Promise<void>((resolve) => server.listen(inherited, () => resolve()));
      const address = server.address();
      this.port = typeof address === "object" && address ? address.port : s.metrics_port;
    } else {
      // The app's sockets are bound but not listening yet (workers listen): a metrics server on
      // the same port would listen first, and then no worker could.
      const taken = appBinds.find((l) => sharesPort(l.bind, s.metrics_bind, s.metrics_port));
      if (taken)
        throw new Error(
          `the metrics port ${s.metrics_port} is also the app's (${taken.address}): give --metrics-port another port`,
        );
      this.port = await listenMetrics(server, s.metrics_bind, s.metrics_port);
    }
    const auth = s.metrics_auth !== "none" ? ` (${s.metrics_auth} auth)` : "";
    this.log.info(`Metrics at: http${s.metrics_certfile ? "s" : ""}://${s.metrics_bind}:${this.port}/metrics${auth}`);
  }

  /** Starts sampling the workers, the status history and, when enabled, forwarding to Redis. */
  async start(): Promise<void> {
    await this.metrics.startSampling();
    this.board?.start();
    const s = this.settings;
    if (s.redis_enabled) {
      // Loaded only when used: ioredis costs the master several MB it does not need otherwise.
      const { RedisForwarder } = await import("../redis/forwarder.js");
      this.forwarder = new RedisForwarder(s, s.instance ?? defaultInstance(this.port), () => this.gather(), this.log);
      this.forwarder.start();
    }
  }

  /** The listening handle, for a USR2 successor; null when metrics are off. */
  handle(): object | null {
    return this.server ? serverHandle(this.server) : null;
  }

  /** A worker reported more failed writes of its file. */
  countWriteErrors(n: number): void {
    this.collector?.countWriteErrors(n);
  }

  /** A worker exited: its counters go into the archive, so totals never go down. */
  workerExited(slot: number, pid: number): void {
    this.collector?.fold(slot, pid);
  }

  async gather(): Promise<FamilyJSON[]> {
    const flushed = this.pool.flush(FLUSH_WAIT_MS);
    // The master's own figures while the workers write their files.
    const own = await this.metrics.families();
    await flushed;
    const store = this.storeFamilies();
    const errors = storeErrorsFamily(this.collector?.errors ?? new Map());
    return [...own, errors, ...(this.forwarder?.families() ?? []), ...store];
  }

  /** The store merged; its directory is listed again only when a worker of the pool is new to it. */
  private storeFamilies(): FamilyJSON[] {
    if (!this.collector) return [];
    return this.collector.collect(this.pool.workers().map((w) => workerFileName(w.slot, w.pid)));
  }

  /** Stops forwarding; after a graceful stop the final counts are forwarded first. */
  async closeForwarder(finalForward: boolean): Promise<void> {
    await this.forwarder?.close({ finalForward });
  }

  /** Stops serving and sampling; the archive stays for a USR2 successor that shares the store. */
  stop({ keepArchive }: { keepArchive: boolean }): void {
    this.server?.close();
    this.metrics.stopSampling();
    this.board?.stop();
    if (!keepArchive) this.collector?.removeArchive();
  }
}
