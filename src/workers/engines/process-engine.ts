// The sync and async workers: the app runs on this process's own event loop. They differ only in
// how much they take on: sync one request at a time, async up to worker_connections connections.
import type { Socket } from "node:net";
import type { LoadedApp } from "../../app/loader.js";
import { PendingConnections } from "../connections/accept-front.js";
import type { RequestPipeline } from "../http/request-pipeline.js";
import { buildPipeline } from "../http/build-pipeline.js";
import { limitsWaiting, QUEUED_UNDER_ADMISSION } from "../http/admission-control.js";
import type { Engine, EngineContext } from "./engine.js";
import { countUncaught } from "../boot/uncaught.js";
import { exposeRunning } from "../stall/stall-probe.js";
import { FailureCounters, RequestMetrics } from "../../metrics/request-metrics.js";
import { RouteMetrics, routeMetricsFor } from "../../metrics/route-metrics.js";
import { slotLabel, type FamilyJSON } from "../../metrics/family.js";
import { familyHead, METRICS } from "../../metrics/catalogue.js";

export class ProcessEngine implements Engine {
  private readonly metrics: RequestMetrics;
  private readonly failures: FailureCounters;
  private readonly routes: RouteMetrics | null;
  private readonly pipeline: RequestPipeline;
  /** Sync only: connections that have not started a request yet count as work. */
  private readonly pending: PendingConnections | null;
  /** A sync worker's places: one request, or a queue it sheds from under admission control. */
  private readonly places: number;
  private open = 0;
  /** One listener for every socket's close (`this` is the socket): nothing allocated per connection. */
  private readonly onSocketClose: (this: Socket) => void;

  constructor(
    private readonly app: LoadedApp,
    private readonly ctx: EngineContext,
  ) {
    const s = ctx.init.settings;
    const sync = ctx.init.workerClass === "sync";
    this.metrics = RequestMetrics.inMemory(s.metrics_buckets, s.metrics_native_schema);
    this.failures = new FailureCounters(s.metrics_endpoint_limit);
    this.routes = routeMetricsFor(s);
    this.pending = sync ? new PendingConnections() : null;
    this.places = limitsWaiting(s) ? QUEUED_UNDER_ADMISSION : 1;
    const self = this;
    this.onSocketClose = function (this: Socket) {
      self.open--;
      self.pending?.closed(this);
      ctx.onRoomChanged();
    };
    this.pipeline = buildPipeline({
      app,
      settings: s,
      metrics: this.metrics,
      failures: this.failures,
      routes: this.routes,
      log: ctx.log,
      hooks: ctx.hooks,
      workerInfo: ctx.workerInfo,
      accessLog: ctx.accessLog,
      concurrency: sync ? 1 : Number.POSITIVE_INFINITY,
      closeAfterResponse: sync && !ctx.init.keepAliveExplicit,
      terminatesTls: !app.tlsFront,
      onRequestStart: this.pending ? (req) => this.pending!.started(req.socket) : undefined,
      onRequestDone: ctx.onRequestDone,
      share: ctx.share,
      backlog: () => ctx.listenBacklog(),
    });
  }

  /**
   * A self-listening https app: its server does the handshake with its own certificate, and each
   * decrypted connection comes to the pipeline instead of to its own HTTP parser.
   */
  private frontedByTls(front: NonNullable<LoadedApp["tlsFront"]>): void {
    if (this.ctx.init.settings.certfile)
      throw new Error("the app listens with its own https server: leave --certfile and --keyfile out");
    front.removeAllListeners("secureConnection");
    front.on("secureConnection", (socket: Socket) => this.pipeline.serve(socket));
  }

  hasRoom(): boolean {
    if (this.pending) return this.pipeline.active + this.pipeline.queued + this.pending.count < this.places;
    return this.open < this.ctx.init.settings.worker_connections;
  }

  take(socket: Socket): void {
    this.open++;
    socket.on("close", this.onSocketClose); // a socket closes once: no once() wrapper to allocate
    this.pending?.add(socket);
    if (this.app.tlsFront) this.app.tlsFront.emit("connection", socket);
    else this.pipeline.serve(socket);
  }

  get active(): number {
    return this.pipeline.active + this.pipeline.queued;
  }

  uncaught(err: unknown): void {
    countUncaught(this.failures, err);
  }

  get connections(): number {
    return this.open;
  }

  async start(): Promise<void> {
    if (this.app.tlsFront) this.frontedByTls(this.app.tlsFront);
    exposeRunning((answer) => this.pipeline.runningNow(answer));
  }

  beforeFirstConnection(run: () => void): void {
    this.pipeline.beforeFirstConnection(run);
  }

  async close(): Promise<void> {
    await this.app.close?.();
  }

  beginStop(): void {
    this.pipeline.stopKeepAlive();
  }

  get upgraded(): number {
    return this.pipeline.upgraded?.open ?? 0;
  }

  get keptAlive(): number {
    return this.pipeline.keptAlive;
  }

  families(): FamilyJSON[] {
    const worker_id = slotLabel(this.ctx.init.slot);
    return [
      ...RequestMetrics.families([this.metrics], this.ctx.init.slot),
      ...this.failures.families(this.ctx.init.slot),
      ...(this.routes ? RouteMetrics.families([this.routes]) : []),
      {
        ...familyHead(METRICS.upgrades),
        values: [{ labels: { worker_id }, value: this.pipeline.upgraded?.total ?? 0 }],
      },
      ...(this.ctx.share
        ? [{ ...familyHead(METRICS.rebalanced), values: [{ labels: { worker_id }, value: this.ctx.share.rebalanced }] }]
        : []),
      ...(this.pipeline.admission?.families(worker_id) ?? []),
    ];
  }
}
