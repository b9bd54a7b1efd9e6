// Admission control: under a load past capacity, refuse the excess at once (503 with Retry-After,
// without running the app) instead of letting every request slow down together until clients
// time out. Three limits, each off unless set: requests in flight, the time a request waited
// before the app could start it (at a trusted proxy, from X-Request-Start, or in the worker), and
// the queue that stands in front of the app: the event loop's lateness (requests behind a busy loop
// on open connections) and the kernel's accept queue (new connections: a busy Node process accepts
// one per turn of its loop, so they wait there, unseen by the loop). The rule is CoDel's: shed only
// while the queue has stood for a whole interval (late at every look, or never empty), and stop at
// the first moment it is gone, so a burst is absorbed and a standing queue is not.
import type { IncomingMessage } from "node:http";
import { performance } from "node:perf_hooks";
import { METRICS, familyHead } from "../../metrics/catalogue.js";
import type { FamilyJSON, SampleJSON } from "../../metrics/family.js";
import { fromTrustedProxy } from "../connections/client-address.js";

export const SHED_REASONS = ["inflight", "queue_time", "overload"] as const;

/**
 * Connections a one-at-a-time pipeline (a sync worker, a thread) takes under admission control:
 * they wait in its own queue, where their wait is seen and what would wait too long is shed on
 * arrival (queueTooLong), instead of in the master's queue, passed on one at a time.
 */
export const QUEUED_UNDER_ADMISSION = 64;

/**
 * A thread that sheds says so at most this often; its process refuses new connections for it
 * (early-refusal.ts) only within SHEDDING_HEARD_MS of the last time it said so.
 */
export const SHEDDING_SAID_MS = 20;
export const SHEDDING_HEARD_MS = 100;

/** Whether the settings ask for a limit on waiting (and so for a queue a pipeline sheds from). */
export const limitsWaiting = (s: { max_queue_time: number; shed_lag: number }): boolean =>
  s.max_queue_time > 0 || s.shed_lag > 0;
export type ShedReason = (typeof SHED_REASONS)[number];

/** How often the loop's lateness is sampled. */
const TICK_MS = 10;
/** How long the loop must stay late before requests are shed (CoDel's interval). */
const INTERVAL_MS = 100;
/** The weight of one tick's rate, and of one request's run time, in their moving averages. */
const RATE_WEIGHT = 0.2;
/** The accept queue is read every this many ticks. */
const BACKLOG_EVERY = 2;
const QUEUE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface AdmissionLimits {
  /** 0: no limit. */
  maxInflight: number;
  maxQueueMs: number;
  lagMs: number;
  exempt: readonly string[];
  /** The accept queue's length, or null where it cannot be seen (an app thread). */
  backlog: (() => number) | null;
  /** Workers that drain the accept queue together. */
  workers: number;
  /**
   * One request at a time (a sync worker, a thread): the loop is late by the request it runs, so
   * its lateness says nothing of a queue. The wait each request saw before its turn does.
   */
  oneAtATime: boolean;
}

/** A proxy's start time (`t=` seconds, milliseconds or microseconds since the epoch), in ms; NaN if unreadable. */
export function proxyStartMs(value: string): number {
  const n = Number(value.startsWith("t=") ? value.slice(2) : value);
  if (!(n > 0)) return Number.NaN;
  if (n > 1e14) return n / 1000; // microseconds (HAProxy, Heroku's router)
  if (n > 1e11) return n; // milliseconds
  return n * 1000; // seconds with a fraction (nginx's ${msec})
}

/** The X-Request-Start or X-Queue-Start header, from the raw list (no headers object is built). */
function proxyStartHeader(req: IncomingMessage): string | null {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Lengths first: most headers are neither, and lower-casing each would allocate.
    if (name.length !== 15 && name.length !== 13) continue;
    const lower = name.toLowerCase();
    if (lower === "x-request-start" || lower === "x-queue-start") return raw[i + 1]!;
  }
  return null;
}

export class AdmissionControl {
  private readonly shed = new Float64Array(SHED_REASONS.length);
  private readonly queueCounts = new Float64Array(QUEUE_BUCKETS.length);
  private queueSum = 0;
  private queueCount = 0;
  private lastTick = performance.now();
  /**
   * When the queue in front of the app began to stand (the loop late by more than lagMs, or, one
   * at a time, each request waiting more than lagMs for its turn); -1 while it does not.
   */
  private lateSince = -1;
  /** Since when the accept queue has held more than lagMs of work at every look; -1 otherwise. */
  private standingSince = -1;
  /** The last look that saw it so: a standing queue is one seen at looks an interval apart. */
  private standingSeen = -1;
  private ticks = 0;
  /** Requests checked since the last tick, and the rate they come at (a moving average, per second). */
  private seen = 0;
  private rate = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly exempt: ReadonlySet<string>;
  /** How long the app takes over a request (a moving average, ms); 0 until one has run. */
  private serviceMs = 0;
  /** Told of each request shed for waiting (overload, queue_time): a thread tells its process. */
  private sheddingListener: (() => void) | null = null;

  constructor(private readonly limits: AdmissionLimits) {
    this.exempt = new Set(limits.exempt);
  }

  /** Whether any limit is set: without one, the pipeline has no admission check at all. */
  static wanted(l: AdmissionLimits): boolean {
    return l.maxInflight > 0 || l.maxQueueMs > 0 || l.lagMs > 0;
  }

  start(): void {
    if (this.limits.lagMs <= 0 || this.timer) return;
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  private tick(): void {
    const now = performance.now();
    const late = now - this.lastTick - TICK_MS;
    this.lastTick = now;
    if (!this.limits.oneAtATime) {
      if (late <= this.limits.lagMs) this.lateSince = -1;
      else if (this.lateSince < 0) this.lateSince = now - late;
    }
    // A time constant of a few ticks: the rate follows a load that starts or stops within 50 ms.
    const rate = (this.seen * 1000) / Math.max(TICK_MS, late + TICK_MS);
    this.rate = this.rate === 0 ? rate : this.rate * (1 - RATE_WEIGHT) + rate * RATE_WEIGHT;
    this.seen = 0;
    // The accept queue, every other tick (a read of the kernel's listening sockets), as the time
    // the pool needs to take it at the rate this worker has been taking requests.
    if (this.limits.backlog === null || ++this.ticks % BACKLOG_EVERY !== 0) return;
    // One at a time, a request's run time paces the pool better than the rate, which is low when
    // the load is. And a worker's next connection, there as its last request ends (a lone client
    // that reconnects), is no queue: one a worker is left out, as a request's own wait leaves out
    // the one request ahead of it (check).
    const perRequestMs = this.limits.oneAtATime && this.serviceMs > 0 ? this.serviceMs : 1000 / Math.max(1, this.rate);
    const queued = Math.max(0, this.limits.backlog() - this.limits.workers);
    const waitMs = (queued * perRequestMs) / this.limits.workers;
    if (waitMs <= this.limits.lagMs) this.standingSince = -1;
    else {
      if (this.standingSince < 0) this.standingSince = now;
      this.standingSeen = now;
    }
  }

  /** The loop has been late by more than lagMs for an interval, counting the turn it is in now. */
  private overloaded(now: number): boolean {
    if (this.limits.lagMs <= 0) return false;
    const due = this.lastTick + TICK_MS;
    const loop = !this.limits.oneAtATime;
    if (loop && this.lateSince < 0 && now - due > this.limits.lagMs) this.lateSince = due;
    // A late loop is a queue only if requests waited on it: this one is not the first of its turn.
    // A lone client's slow requests make the loop as late, one request a turn, and are not shed.
    const waitedOnLoop = !loop || this.seen > 1;
    return (
      (this.lateSince >= 0 && waitedOnLoop && now - this.lateSince >= INTERVAL_MS) ||
      (this.standingSince >= 0 && this.standingSeen - this.standingSince >= INTERVAL_MS)
    );
  }

  /**
   * Why to refuse this request, or null to run it. `waitedMs`: how long it waited in the worker;
   * `inFlight`: requests running, this one included; `url`: as the client sent it.
   */
  check(req: IncomingMessage, url: string, waitedMs: number, inFlight: number, now: number): ShedReason | null {
    const l = this.limits;
    this.seen++;
    let waited = waitedMs;
    // The header first: the peer check costs more, and most requests carry none.
    const header = proxyStartHeader(req);
    if (header !== null && fromTrustedProxy(req)) {
      const start = proxyStartMs(header);
      if (start > 0) waited += Math.max(0, Date.now() - start);
    }
    this.observeQueue(waited / 1000);
    // CoDel's own measure, one at a time: a request that waited less than the target ends the
    // standing queue; the first that waited more starts one. The wait behind the one request that
    // runs is no queue: it is part of the target.
    if (l.oneAtATime && l.lagMs > 0) {
      if (waited <= l.lagMs + this.serviceMs) this.lateSince = -1;
      else if (this.lateSince < 0) this.lateSince = now;
    }
    let reason: ShedReason | null = null;
    if (l.maxInflight > 0 && inFlight > l.maxInflight) reason = "inflight";
    else if (l.maxQueueMs > 0 && waited > l.maxQueueMs) reason = "queue_time";
    else if (this.overloaded(now)) reason = "overload";
    if (reason === null || this.exempted(url)) return null;
    this.shed[SHED_REASONS.indexOf(reason)]!++;
    if (reason !== "inflight") this.sheddingListener?.();
    return reason;
  }

  /** `listener` hears of every request shed for waiting too long (not for max_inflight). */
  onShedding(listener: () => void): void {
    this.sheddingListener = listener;
  }

  /** A request ran `ms` in the app. */
  served(ms: number): void {
    this.serviceMs = this.serviceMs === 0 ? ms : this.serviceMs * (1 - RATE_WEIGHT) + ms * RATE_WEIGHT;
  }

  /**
   * A request that must queue behind `ahead` others for `places` (a sync worker's one, a thread's
   * one): shed now, with reason overload, while the queue stands, or if it would wait past
   * max_queue_time (shed_lag if only that is set) at the pace requests have been running. Else it
   * queues, and its wait is checked again when its turn comes. Passenger's full request queue,
   * answered before the wait, not after.
   */
  queueTooLong(url: string, ahead: number, places: number, now: number): boolean {
    const limit = this.limits.maxQueueMs > 0 ? this.limits.maxQueueMs : this.limits.lagMs;
    if (limit <= 0) return false;
    const tooLong = this.serviceMs > 0 && ((ahead + 1) / places) * this.serviceMs > limit;
    if (!(tooLong || (ahead > 0 && this.overloaded(now))) || this.exempted(url)) return false;
    this.seen++;
    this.shed[SHED_REASONS.indexOf("overload")]!++;
    this.sheddingListener?.();
    return true;
  }

  private exempted(url: string): boolean {
    if (this.exempt.size === 0) return false;
    const q = url.indexOf("?");
    return this.exempt.has(q < 0 ? url : url.slice(0, q));
  }

  /** One count in the first bucket that holds it (most: the first); made cumulative when exported. */
  private observeQueue(seconds: number): void {
    let i = 0;
    while (i < QUEUE_BUCKETS.length && seconds > QUEUE_BUCKETS[i]!) i++;
    if (i < QUEUE_BUCKETS.length) this.queueCounts[i]!++;
    this.queueSum += seconds;
    this.queueCount++;
  }

  families(workerId: string): FamilyJSON[] {
    const bucket = `${METRICS.queueTime.name}_bucket`;
    let below = 0;
    const queue: SampleJSON[] = QUEUE_BUCKETS.map((le, i) => {
      below += this.queueCounts[i]!;
      return { metricName: bucket, labels: { worker_id: workerId, le: String(le) }, value: below };
    });
    queue.push(
      { metricName: bucket, labels: { worker_id: workerId, le: "+Inf" }, value: this.queueCount },
      { metricName: `${METRICS.queueTime.name}_sum`, labels: { worker_id: workerId }, value: this.queueSum },
      { metricName: `${METRICS.queueTime.name}_count`, labels: { worker_id: workerId }, value: this.queueCount },
    );
    return [
      {
        ...familyHead(METRICS.shed),
        values: SHED_REASONS.map((reason, i) => ({ labels: { worker_id: workerId, reason }, value: this.shed[i]! })),
      },
      { ...familyHead(METRICS.queueTime), values: queue },
    ];
  }
}
