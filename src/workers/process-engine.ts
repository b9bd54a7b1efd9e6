// The sync and async workers: the app runs on this process's own event loop. They differ only in
// how much they take on: sync one request at a time, async up to worker_connections connections.
import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { LoadedApp } from "../app/loader.js";
import type { Admission } from "./accept-front.js";
import { PendingConnections } from "./accept-front.js";
import { RequestPipeline } from "./request-pipeline.js";
import { countUncaught } from "./uncaught.js";
import { FailureCounters, RequestMetrics } from "../metrics/request-metrics.js";
import type { FamilyJSON } from "../metrics/family.js";
import type { WorkerInitData } from "../config/settings.js";
import type { Hooks } from "../config/hooks.js";
import type { AccessLog } from "../logging/access-log.js";
import { runHookSync } from "../config/hooks.js";

export interface EngineContext {
  init: WorkerInitData;
  log: Logger;
  hooks: Hooks;
  accessLog: AccessLog | null;
  /** The object hooks receive as `worker`. */
  workerInfo: object;
  /** A request finished (counts towards max_requests). */
  onRequestDone(): void;
  /** A connection closed or started its first request: there may be room for another. */
  onRoomChanged(): void;
  /** Part of the engine died (a thread of a thread worker): finish what is in flight, exit with `code`. */
  crashed(code: number): void;
}

export interface Engine extends Admission {
  start(): Promise<void>;
  /** Requests being handled now. */
  readonly active: number;
  /** Connections open now. */
  readonly connections: number;
  /** Counts an error the app threw outside any request's promise chain. */
  uncaught(err: unknown): void;
  /** Stop keeping connections alive; idle ones are closed. */
  beginStop(): void;
  families(): FamilyJSON[];
  extraUserFamilies(): FamilyJSON[];
}

export class ProcessEngine implements Engine {
  private readonly metrics: RequestMetrics;
  private readonly failures: FailureCounters;
  private readonly pipeline: RequestPipeline;
  /** Sync only: connections that have not started a request yet count as work. */
  private readonly pending: PendingConnections | null;
  private open = 0;
  /** One listener for every socket's close (`this` is the socket): nothing allocated per connection. */
  private readonly onSocketClose: (this: Socket) => void;

  constructor(app: LoadedApp, private readonly ctx: EngineContext) {
    const s = ctx.init.settings;
    const sync = ctx.init.workerClass === "sync";
    this.metrics = RequestMetrics.inMemory(s.metrics_buckets);
    this.failures = new FailureCounters(s.metrics_endpoint_limit);
    this.pending = sync ? new PendingConnections() : null;
    const self = this;
    this.onSocketClose = function (this: Socket) {
      self.open--;
      self.pending?.closed(this);
      ctx.onRoomChanged();
    };
    const { hooks, log, workerInfo } = ctx;
    this.pipeline = new RequestPipeline({
      app,
      metrics: this.metrics,
      failures: this.failures,
      log,
      accessLog: ctx.accessLog,
      concurrency: sync ? 1 : Number.POSITIVE_INFINITY,
      closeAfterResponse: sync && !ctx.init.keepAliveExplicit,
      keepAliveSeconds: s.keepalive,
      headerTimeoutSeconds: s.header_timeout,
      limits: limitsOf(s),
      tls: s.certfile && s.keyfile ? { certfile: s.certfile, keyfile: s.keyfile } : null,
      hooks: {
        preRequest: hooks.pre_request ? (req) => runHookSync(hooks, "pre_request", log, workerInfo, req) : undefined,
        postRequest: hooks.post_request ? (req, res) => runHookSync(hooks, "post_request", log, workerInfo, req, res) : undefined,
      },
      onRequestStart: this.pending ? (req) => this.pending!.started(req.socket) : undefined,
      onRequestDone: ctx.onRequestDone,
    });
  }

  async start(): Promise<void> {}

  hasRoom(): boolean {
    if (this.pending) return this.pipeline.active + this.pipeline.queued + this.pending.count < 1;
    return this.open < this.ctx.init.settings.worker_connections;
  }

  take(socket: Socket): void {
    this.open++;
    socket.on("close", this.onSocketClose); // a socket closes once: no once() wrapper to allocate
    this.pending?.add(socket);
    this.pipeline.serve(socket);
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

  beginStop(): void {
    this.pipeline.stopKeepAlive();
  }

  families(): FamilyJSON[] {
    return [...RequestMetrics.families([this.metrics], this.ctx.init.slot), ...this.failures.families(this.ctx.init.slot)];
  }

  extraUserFamilies(): FamilyJSON[] {
    return [];
  }

}

export function limitsOf(s: WorkerInitData["settings"]): { requestLine: number; fields: number; fieldSize: number } {
  return {
    requestLine: s.limit_request_line || 8190,
    fields: s.limit_request_fields || 32768,
    fieldSize: s.limit_request_field_size || 65536,
  };
}
