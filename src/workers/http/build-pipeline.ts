// One assembly of the request pipeline for both sides of a worker: the process's own event loop
// (process-engine.ts) and each thread of a thread worker (thread-entry.ts).
import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import type { LoadedApp } from "../../app/loader.js";
import { runHookSync, type Hooks } from "../../config/hook-runner.js";
import type { WorkerSettings } from "../../config/settings.js";
import type { AccessLog } from "../../logging/access-log.js";
import type { FailureCounters, RequestMetrics } from "../../metrics/request-metrics.js";
import { type KeepAliveShare, RequestPipeline } from "./request-pipeline.js";
import { tlsOptions } from "./tls-options.js";
import { AdmissionControl } from "./admission-control.js";
import { RoutePatterns, type RouteMetrics } from "../../metrics/route-metrics.js";

export interface PipelineParts {
  app: LoadedApp;
  settings: WorkerSettings;
  metrics: RequestMetrics;
  failures: FailureCounters;
  /** Per-route metrics; null when metrics_per_route is off. */
  routes: RouteMetrics | null;
  log: Logger;
  hooks: Hooks;
  /** What hooks receive as `worker`. */
  workerInfo: object;
  accessLog: AccessLog | null;
  /** Most requests at once: 1 for sync workers and each thread, unbounded for async. */
  concurrency: number;
  closeAfterResponse: boolean;
  /** Answer what a client sent before it half-closed (a thread's queued requests). */
  answerAfterHalfClose?: boolean;
  /** TLS is terminated here (not in a thread, where the main thread has done it). */
  terminatesTls: boolean;
  onRequestStart?: ((req: IncomingMessage) => void) | undefined;
  onRequestDone(): void;
  share?: KeepAliveShare | null;
  /** Connections waiting in the kernel's accept queue (a process's own sockets; not in a thread). */
  backlog?: () => number;
}

export function buildPipeline(p: PipelineParts): RequestPipeline {
  const s = p.settings;
  const { hooks, log, workerInfo } = p;
  return new RequestPipeline({
    app: p.app,
    metrics: p.metrics,
    failures: p.failures,
    routes: p.routes,
    routePatterns: s.metrics_routes.length > 0 ? new RoutePatterns(s.metrics_routes) : null,
    log,
    accessLog: p.accessLog,
    concurrency: p.concurrency,
    closeAfterResponse: p.closeAfterResponse,
    answerAfterHalfClose: p.answerAfterHalfClose ?? false,
    keepAliveSeconds: s.keepalive,
    headerTimeoutSeconds: s.header_timeout,
    limits: {
      requestLine: s.limit_request_line || 8190,
      fields: s.limit_request_fields || 32768,
      fieldSize: s.limit_request_field_size || 65536,
    },
    tls: p.terminatesTls ? tlsOptions(s) : null,
    // The app's own https server decrypts: the pipeline's sockets are TLS all the same.
    encrypted: p.app.tlsFront !== undefined,
    h2: p.terminatesTls && s.http_protocols.includes("h2"),
    hooks: {
      preRequest: hooks.pre_request ? (req) => runHookSync(hooks, "pre_request", log, workerInfo, req) : undefined,
      postRequest: hooks.post_request
        ? (req, res) => runHookSync(hooks, "post_request", log, workerInfo, req, res)
        : undefined,
    },
    onRequestStart: p.onRequestStart,
    onRequestDone: p.onRequestDone,
    share: p.share ?? null,
    admission: admissionOf(s, p.concurrency, p.backlog ?? null),
  });
}

/** Admission control as the settings ask for it, started; null when no limit is set. */
function admissionOf(s: WorkerSettings, concurrency: number, backlog: (() => number) | null): AdmissionControl | null {
  const limits = {
    // One at a time (sync, a thread) is a limit already.
    maxInflight: concurrency === 1 ? 0 : s.max_inflight,
    maxQueueMs: s.max_queue_time,
    lagMs: s.shed_lag,
    exempt: s.admission_exempt,
    backlog,
    workers: s.workers,
    oneAtATime: concurrency === 1,
  };
  if (!AdmissionControl.wanted(limits)) return null;
  const admission = new AdmissionControl(limits);
  admission.start();
  return admission;
}
