// The master's metrics exporter: its store service, the metrics server and its status page, and
// what a scrape does. The arbiter supervises processes; it gives the exporter a read-only view of
// its pool (contracts/pool-view.ts) and a way to ask the workers to flush, and tells it what happened.
import { resolve } from "node:path";
import type { Logger } from "pino";
import type { Settings } from "../config/settings.js";
import { sharesPort, type BindAddress } from "../config/bind.js";
import type { FamilyJSON } from "../metrics/family.js";
import { prepareStoreDir } from "../metrics/store.js";
import { serverHandle } from "../platform/node-internals.js";
import type { PoolView } from "../contracts/pool-view.js";
import { MasterMetrics } from "./master-metrics.js";
import { StoreService } from "./store-service.js";
import { metricsSecurity } from "./security.js";
import { createMetricsServer, listenMetrics, type MetricsHttpServer } from "./server.js";
import { StatusBoard } from "./status-board.js";
import { readRequestFigures } from "./request-figures.js";
import type { RequestFigures } from "../contracts/request-figures.js";

/** How long a scrape waits for workers to write fresh files before reading what is there. */
const FLUSH_WAIT_MS = 2;

export class MetricsExporter {
  readonly metrics: MasterMetrics;
  /** The port the metrics server listens on (the real one when 0 was asked for). */
  port = 0;
  private store: StoreService | null = null;
  private server: MetricsHttpServer | null = null;
  private board: StatusBoard | null = null;

  constructor(
    private readonly settings: Settings,
    private readonly log: Logger,
    private readonly pool: PoolView,
  ) {
    this.metrics = new MasterMetrics(
      () => pool.workers(),
      pool,
      () => pool.sizing(),
      () => pool.deploy(),
    );
  }

  /** Each worker's requests, 5xx answers and latency buckets, from its store file (by pid). */
  requestFigures(workers: readonly { slot: number; pid: number }[]): Map<number, RequestFigures> {
    return this.settings.metrics_enabled ? readRequestFigures(this.settings.multiproc_dir, workers) : new Map();
  }

  /** Makes the store directory ready (emptied unless a USR2 predecessor left it to us). */
  prepareStore(options: { clean: boolean; owner?: { uid: number; gid: number } | undefined }): void {
    if (!this.settings.metrics_enabled) return;
    prepareStoreDir(this.settings.multiproc_dir, options);
    this.store = new StoreService(this.settings, this.log, true);
  }

  /** Serves /metrics on an inherited handle (USR2) or on metrics_bind:metrics_port. */
  async listen(appBinds: readonly { bind: BindAddress; address: string }[], inherited: object | null): Promise<void> {
    const s = this.settings;
    if (!s.metrics_enabled) return;
    const board = new StatusBoard({
      metrics: this.metrics,
      workerClass: s.worker_class,
      sizing: () => this.pool.sizing(),
      store: () => this.store?.families(this.pool.workers()) ?? [],
      // Resolved against the master's directory: the command that reads them may run elsewhere.
      deploy: () => this.pool.deploy(),
      logs: () => ({
        errorlog: s.errorlog === "-" ? "-" : resolve(s.errorlog),
        accesslog: s.accesslog === null || s.accesslog === "-" ? s.accesslog : resolve(s.accesslog),
        captureOutput: s.capture_output,
      }),
    });
    this.board = board;
    const server = createMetricsServer(
      { gather: () => this.gather(), status: () => board.snapshot(), readiness: () => this.pool.readiness() },
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
    this.metrics.startSampling();
    this.board?.start();
    await this.store?.startForwarding(this.port, () => this.gather());
  }

  /** The listening handle, for a USR2 successor; null when metrics are off. */
  handle(): object | null {
    return this.server ? serverHandle(this.server) : null;
  }

  /** A worker reported more failed writes of its file. */
  countWriteErrors(n: number): void {
    this.store?.countWriteErrors(n);
  }

  /** A worker exited: its counters go into the archive, so totals never go down. */
  workerExited(slot: number, pid: number): void {
    this.store?.workerExited(slot, pid);
  }

  async gather(): Promise<FamilyJSON[]> {
    const flushed = this.pool.flush(FLUSH_WAIT_MS);
    // The master's own figures while the workers write their files.
    const own = await this.metrics.families();
    await flushed;
    return [...own, ...(this.store?.families(this.pool.workers()) ?? [])];
  }

  /** Stops forwarding; after a graceful stop the final counts are forwarded first. */
  async closeForwarder(finalForward: boolean): Promise<void> {
    await this.store?.stopForwarding(finalForward);
  }

  /** Stops serving and sampling; the archive stays for a USR2 successor that shares the store. */
  stop({ keepArchive }: { keepArchive: boolean }): void {
    this.server?.close();
    this.metrics.stopSampling();
    this.board?.stop();
    if (!keepArchive) this.store?.removeArchive();
  }
}
