// What happens to every request in every worker type: limits, the concurrency gate, the app call,
// and the instrumentation. The per-request path keeps its state on the response object and uses
// shared listener functions, so it allocates no closures of its own.
import type { IncomingMessage, Server as HttpServer, ServerOptions, ServerResponse } from "node:http";
import type { http } from "../../platform/http-modules.js";
import type tls from "node:tls";
import { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { LoadedApp } from "../../app/loader.js";
import type { RequestMetrics, FailureCounters } from "../../metrics/request-metrics.js";
import { pathOf, type AccessLog } from "../../logging/access-log.js";
import { createAppServer } from "./app-server.js";
import { DONE, RUNNING, TrackedResponse } from "./tracked-response.js";
import {
  answerAppFailed,
  answerOnSocket,
  answerRefused,
  answerShed,
  answerTimedOut,
  clientErrorStatus,
  errorType,
} from "./error-answers.js";
import type { AdmissionControl } from "./admission-control.js";
import { OTHER_ROUTE, type RouteMetrics, type RoutePatterns } from "../../metrics/route-metrics.js";
import { RunningRequests, type RunningRequest } from "./running-requests.js";
import { IdleConnections } from "../connections/idle-connections.js";
import { UpgradedConnections } from "../connections/upgraded-connections.js";
import { readAhead } from "../connections/read-ahead.js";
import { takeArrival } from "../connections/arrivals.js";
import {
  answerAfterHalfClose,
  currentResponse,
  headLength,
  isLastResponse,
  setKeepAliveHeader,
} from "../../platform/node-internals.js";

export interface PipelineOptions {
  app: LoadedApp;
  metrics: RequestMetrics;
  failures: FailureCounters;
  /** Per-route metrics (null: off), and the operator's route templates for apps no router names. */
  routes: RouteMetrics | null;
  routePatterns: RoutePatterns | null;
  log: Logger;
  accessLog: AccessLog | null;
  /** Most requests this pipeline runs at once; more wait in a FIFO (keep-alive connections). */
  concurrency: number;
  /** Close the connection after each response (gunicorn's sync worker). */
  closeAfterResponse: boolean;
  /**
   * Answer the requests a client sent before half-closing. A thread may queue a complete request
   * behind another one where bare Node would already have answered it; Node's own way drops it.
   */
  answerAfterHalfClose: boolean;
  /** How long an idle connection stays open; 0 closes every connection after its response. */
  keepAliveSeconds: number;
  /** A client must send a complete request head within this long (slowloris); 408 otherwise. */
  headerTimeoutSeconds: number;
  limits: { requestLine: number; fields: number; fieldSize: number };
  tls: tls.TlsOptions | null;
  /** HTTP/2 over TLS beside HTTP/1.1 (http_protocols h2). */
  h2: boolean;
  /** Connections arrive decrypted by someone else's TLS (a self-listening https app's server). */
  encrypted?: boolean;
  hooks: {
    preRequest?: ((req: IncomingMessage) => void) | undefined;
    postRequest?: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  };
  /** Called when a request finishes: admission bookkeeping and max-requests counting. */
  onRequestDone(): void;
  /** Called when a request's head has arrived (sync and thread workers count waiting connections). */
  onRequestStart?: ((req: IncomingMessage) => void) | undefined;
  /** An async worker's part in spreading kept-alive connections over the workers (connection-share.ts). */
  share?: KeepAliveShare | null;
  /** Admission control; null when no limit is set (the check is then not made at all). */
  admission: AdmissionControl | null;
}

/** What the pipeline asks of the keep-alive balance. */
export interface KeepAliveShare {
  /** The number of kept-alive connections changed. */
  changed(): void;
  /** True when this connection should close after this response (its worker holds more than its share). */
  closeThis(socket: Socket): boolean;
}

/**
 * The connection's last response has been handed to the kernel, and Node has begun closing the
 * socket its usual way: a half-close (shutdown) on the next turn of the event loop, then the close
 * once that completes. Closing now sends the same FIN after the same bytes, and skips a system
 * call, an event-loop wake-up and the stream machinery around them (measured in
 * docs/performance-notes.md). Node's way leaves no time for the client's
 * late bytes either (it closes one turn after the half-close), so this adds no risk of a reset
 * there; it is taken only when nothing is left unread or unsent on our side. Sockets that are not
 * Node's own TCP sockets (a thread worker's bridged ones, whose bytes may still be in transit to
 * the main thread) keep the slow path.
 */
function closeNow(req: IncomingMessage): void {
  const socket = req.socket;
  if (
    req.complete &&
    socket instanceof Socket &&
    !socket.destroyed &&
    socket.readableLength === 0 &&
    socket.writableLength === 0
  ) {
    socket.destroy();
  }
}

export class RequestPipeline {
  readonly server: HttpServer;
  private inFlight = 0;
  /** Connections handed to the app's upgrade listeners; null when the app takes none. */
  readonly upgraded: UpgradedConnections | null;
  private readonly running = new RunningRequests<TrackedResponse>();
  private closing = false;
  /** Responses whose requests wait for the concurrency gate (the request is `res.req`). */
  private readonly waiting: ServerResponse[] = [];
  private readonly onClose: (this: ServerResponse) => void;
  /** Keeps the keep-alive timeout; null when every connection closes after one response. */
  private readonly idle: IdleConnections | null;
  private readonly keepAliveMs: number;
  /**
   * Connections are plain TCP: closed at once after their last response (closeNow) and read as
   * they are taken (serve). Under TLS neither: the client is owed a close_notify, which only
   * Node's slow close sends, and the TLS socket reads the connection itself.
   */
  private readonly plainTcp: boolean;
  private readonly stopSessions: () => void;

  constructor(private readonly o: PipelineOptions) {
    this.keepAliveMs = o.keepAliveSeconds * 1000;
    this.plainTcp = o.tls === null && !o.encrypted;
    // gunicorn's keepalive = 0 means no keep-alive at all.
    const share = o.share ?? null;
    this.idle =
      o.closeAfterResponse || this.keepAliveMs === 0
        ? null
        : new IdleConnections(this.keepAliveMs, share ? () => share.changed() : null);
    const limits = o.limits;
    // Node enforces the total header size; the per-line and count limits are checked below.
    const maxHeaderSize = Math.min(1 << 20, limits.requestLine + limits.fields * (limits.fieldSize + 2) + 64);
    const headersTimeout = o.headerTimeoutSeconds * 1000;
    const serverOptions: ServerOptions = {
      ServerResponse: TrackedResponse as typeof http.ServerResponse,
      maxHeaderSize,
      requestTimeout: 0,
      headersTimeout,
      // Checked in checkLimits instead, so that the 400 is counted like every other.
      requireHostHeader: false,
      // How often Node looks for clients past headersTimeout: often enough to make it exact-ish.
      connectionsCheckingInterval: Math.min(1000, headersTimeout / 2),
    };
    const app = createAppServer(serverOptions, o.tls, o.h2);
    this.server = app.server;
    this.stopSessions = app.stopSessions;
    // Count limits are checked in checkLimits (431); the total size is already bounded above.
    this.server.maxHeadersCount = 0;
    // 0 turns Node's keep-alive timer (armed and cleared on every request) off: IdleConnections
    // keeps the timeout instead.
    this.server.keepAliveTimeout = 0;
    if (o.answerAfterHalfClose) answerAfterHalfClose(this.server);
    this.server.on("request", (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    this.server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => this.onClientError(err, socket));
    // Only once the app takes upgrades: until then Node serves an Upgrade request as a plain one.
    const upgraded = o.app.upgrade ? new UpgradedConnections(o.app.upgrade, o.log) : null;
    this.upgraded = upgraded;
    o.app.upgrade?.whenActive(() =>
      this.server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) =>
        upgraded!.take(req, socket, head, () => {
          this.idle?.forget(socket);
          this.o.onRequestStart?.(req); // a sync worker's slot is free again
        }),
      ),
    );
    // This server never listens (connections are handed to it), and Node only starts tracking
    // connections for headersTimeout when a server emits "listening": without this, a slowloris
    // client could hold a worker forever.
    this.server.emit("listening");

    o.app.onError((req, res, err) => {
      // Unrouted: the path as received (a router may have rewritten req.url by now).
      const route = o.app.routeOf(req) ?? pathOf(res ? (res as TrackedResponse).url || req.url : req.url);
      o.failures.appFailed(req.method ?? "GET", route, errorType(err));
    });
    const self = this;
    // A response emits "close" exactly once, after "finish" when it completed: one listener,
    // never removed, is the cheapest way to see both endings.
    this.onClose = function (this: ServerResponse) {
      self.finished(this as TrackedResponse, !this.writableFinished);
    };
  }

  get active(): number {
    return this.inFlight;
  }

  /** Admission control, when a limit is set: its counters go into the worker's metrics. */
  get admission(): AdmissionControl | null {
    return this.o.admission;
  }

  /**
   * Calls `run` once, as the first connection comes to the HTTP server, before its first request
   * is read: a listener that removes itself, so later connections pay nothing for it.
   */
  beforeFirstConnection(run: () => void): void {
    this.server.prependOnceListener("connection", run);
  }

  /** Connections kept alive between requests now. */
  get keptAlive(): number {
    return this.idle?.size ?? 0;
  }

  /**
   * The requests running now, oldest first; with `answer`, each one whose head is not sent yet is
   * answered 504 and the others' connections reset (the worker timed out and is about to die).
   */
  runningNow(answer = false): RunningRequest[] {
    const now = performance.now();
    return this.running.list().map((res) => {
      if (answer) answerTimedOut(res);
      return { method: res.req.method ?? "", url: res.url, ms: Math.round(now - res.startedAt) };
    });
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Hands an accepted connection to the HTTP server. One that arrives paused (a sync worker's, or
   * one passed round the master) is read at once rather than on the loop's next turn
   * (read-ahead.ts); not a thread's bridged socket, which has no descriptor.
   */
  serve(socket: Socket): void {
    const paused = socket.isPaused();
    if (paused && this.plainTcp) readAhead(socket);
    this.server.emit("connection", socket);
    // A TLS socket made here reads the descriptor itself, and first what is already buffered (the
    // bytes behind a PROXY header): resuming the raw socket as well would let it consume those.
    if (paused && this.o.tls === null) socket.resume();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const t = res as TrackedResponse;
    t.startedAt = performance.now();
    t.url = req.url ?? "";
    if (this.o.accessLog) t.bytesBefore = req.socket?.bytesWritten ?? 0; // only the access log needs it
    this.o.onRequestStart?.(req);
    res.on("close", this.onClose);
    if (res.socket === null) this.guardQueued(t, req.socket);
    if (this.idle === null || this.closing) {
      res.shouldKeepAlive = false;
    } else if (res.shouldKeepAlive) {
      // Node has already decided from the request (Connection: close, HTTP/1.0): a connection
      // that closes after this response needs no keep-alive bookkeeping.
      if (this.o.share?.closeThis(req.socket)) {
        res.shouldKeepAlive = false; // this worker holds more than its share: the client reconnects
      } else {
        this.idle.requestStarted(req.socket);
        setKeepAliveHeader(res, this.keepAliveMs);
      }
    }
    if (this.inFlight >= this.o.concurrency) {
      if (this.o.admission?.queueTooLong(t.url, this.waiting.length, this.o.concurrency, t.startedAt)) this.shed(t);
      else this.waiting.push(res);
      return;
    }
    this.run(req, res);
  }

  /** Answered 503 at once, as a request that ran: it never waits for a place. */
  private shed(res: TrackedResponse): void {
    this.inFlight++;
    res.phase = RUNNING;
    this.running.add(res);
    answerShed(res);
  }

  /**
   * Node writes a pipelined request's response only after the one before it; if the connection
   * closes first (the earlier response ended it, or the client left), this one would never end.
   */
  private guardQueued(res: TrackedResponse, socket: Socket): void {
    const guard = (): void => this.finished(res, true);
    res.orphanGuard = guard;
    socket.once("close", guard);
  }

  private run(req: IncomingMessage, res: ServerResponse): void {
    const t = res as TrackedResponse;
    if (res.destroyed || req.socket === null || req.socket.destroyed) {
      // The connection ended while the request waited for the gate: it will never be answered.
      this.finished(t, true);
      return;
    }
    this.inFlight++;
    t.phase = RUNNING;
    this.running.add(t);
    const rejection = this.checkLimits(req);
    if (rejection !== null) {
      // Not the path as a label: a rejected request's path is the client's to make up.
      this.o.failures.serverError(req.method ?? "GET", "other", rejection.type);
      answerRefused(res, rejection.status);
      return;
    }
    const admission = this.o.admission;
    if (admission !== null) {
      const now = performance.now();
      // A connection that waited before this worker could start it: its first request waited since.
      const arrived = takeArrival(req.socket);
      const since = arrived === undefined ? t.startedAt : Math.min(arrived, t.startedAt);
      if (admission.check(req, t.url, now - since, this.inFlight, now) !== null) {
        answerShed(res);
        return;
      }
      t.ranAt = now;
    }
    try {
      this.o.hooks.preRequest?.(req);
      const result = this.o.app.handler(req, res);
      if (result !== null && typeof result === "object" && typeof (result as Promise<unknown>).then === "function") {
        (result as Promise<unknown>).then(undefined, (err: unknown) => this.appFailed(req, res, err));
      }
    } catch (err) {
      this.appFailed(req, res, err);
    }
  }

  private checkLimits(req: IncomingMessage): { status: number; type: string } | null {
    if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
      return { status: 400, type: "MissingHost" };
    }
    const { requestLine, fields, fieldSize } = this.o.limits;
    const url = req.url ?? "";
    if ((req.method?.length ?? 0) + url.length + 10 > requestLine) return { status: 414, type: "LimitRequestLine" };
    const raw = req.rawHeaders;
    if (raw.length / 2 > fields) return { status: 431, type: "LimitRequestFields" };
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.length + raw[i + 1]!.length + 2 > fieldSize) return { status: 431, type: "LimitRequestFieldSize" };
    }
    return null;
  }

  /** The route template of a finished request: the app's (its own name, or its router's), a pattern's, or other. */
  private routeOf(req: IncomingMessage, res: TrackedResponse): string {
    return this.o.app.routeOf(req) ?? this.o.routePatterns?.match(res.url) ?? OTHER_ROUTE;
  }

  private appFailed(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    const type = errorType(err);
    const route = this.o.app.routeOf(req) ?? pathOf((res as TrackedResponse).url);
    this.o.failures.appFailed(req.method ?? "GET", route, type);
    this.o.log.error({ err, method: req.method, url: req.url }, "error handling request");
    if (answerAppFailed(res)) this.o.failures.serverError(req.method ?? "GET", route, type);
  }

  /**
   * The one place a request's life ends, however it ends: answered, abandoned by its client, or
   * dropped with its connection before its turn. Runs once per request; frees its place in the
   * worker's accounting and lets the next one in.
   */
  private finished(res: TrackedResponse, aborted: boolean): void {
    if (res.phase === DONE) return;
    const ran = res.phase === RUNNING;
    res.phase = DONE;
    const req = res.req;
    if (res.orphanGuard !== null) {
      req.socket?.removeListener("close", res.orphanGuard);
      res.orphanGuard = null;
    }
    if (ran) {
      this.running.remove(res);
      this.ended(req, res, aborted);
    } else this.dropped(req, res);
    if (this.inFlight < this.o.concurrency) {
      const next = this.waiting.shift();
      if (next) this.run(next.req, next);
    }
    this.o.onRequestDone();
  }

  /**
   * A request whose connection ended before it could run. Counted as the client's abort (499),
   * except where the worker itself closes after one response (sync): gunicorn never reads those.
   */
  private dropped(req: IncomingMessage, res: TrackedResponse): void {
    const at = this.waiting.indexOf(res);
    if (at >= 0) this.waiting.splice(at, 1);
    if (!this.o.closeAfterResponse) this.o.metrics.observe(req.method, 499, (performance.now() - res.startedAt) / 1000);
  }

  private ended(req: IncomingMessage, res: TrackedResponse, aborted: boolean): void {
    const now = performance.now();
    if (res.ranAt > 0) this.o.admission?.served(now - res.ranAt);
    const status = aborted ? 499 : res.statusCode;
    const seconds = (now - res.startedAt) / 1000;
    this.o.metrics.observe(req.method, status, seconds, req.headers.traceparent as string | undefined);
    if (this.o.routes !== null) this.o.routes.observe(req.method, this.routeOf(req, res), status, seconds);
    if (this.o.accessLog) {
      // Body bytes: what the socket took during this response, less the header block.
      const header = headLength(res);
      const declared = Number(res.getHeader("content-length"));
      const bytes = Number.isFinite(declared)
        ? declared
        : Math.max(0, (req.socket?.bytesWritten ?? 0) - res.bytesBefore - header);
      this.o.accessLog.write({ req, res, url: res.url, startedAt: res.startedAt, finishedAt: now, bytesSent: bytes });
    }
    if (this.o.hooks.postRequest) {
      try {
        this.o.hooks.postRequest(req, res);
      } catch (err) {
        this.o.log.error({ err, hook: "post_request" }, "hook post_request failed");
      }
    }
    if (!aborted && isLastResponse(res) && this.plainTcp) closeNow(req);
    this.inFlight--;
  }

  /**
   * A client sent what Node's parser rejects, or too slowly. Answered as bare Node answers it: the
   * status is written unless a response on the connection has already begun, then the connection
   * closes, and every request on it ends through its response's close.
   */
  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, type] = clientErrorStatus(err.code);
    const current = currentResponse(socket);
    if (current?.headersSent) {
      socket.destroy();
      return;
    }
    this.o.failures.serverError("other", "other", type);
    answerOnSocket(socket, status);
  }

  /**
   * From now on every response closes its connection. Idle keep-alive connections are left to
   * the keep-alive timeout rather than closed now: a client may be sending its next request on one
   * at this very moment, and would see a reset instead of an answer with `Connection: close`.
   */
  stopKeepAlive(): void {
    this.closing = true;
    this.stopSessions();
  }
}
