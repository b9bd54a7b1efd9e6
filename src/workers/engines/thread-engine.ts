// The thread worker (gunicorn's gthread): the process's main thread owns the sockets and hands
// each connection to the thread with the fewest requests in flight. Every thread runs its own copy
// of the app, so CPU-bound requests run in parallel. At most `threads` requests run at once.
import { Worker } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import tls from "node:tls";
import { tlsOptions } from "../http/tls-options.js";
import { keepProxiedPeer } from "../connections/proxy-gate.js";
import type { Socket } from "node:net";
import { PendingConnections } from "../connections/accept-front.js";
import { bridgeSocket, type BridgeMessage } from "../threads/socket-bridge.js";
import type { ThreadData, ThreadEvent } from "../threads/thread-entry.js";
import type { Engine, EngineContext } from "./engine.js";
import { probe, workerThreadChannel, type StallReport } from "../stall/stall-probe.js";
import { PROBE_MS, THREAD_BEAT_MS } from "../stall/stall-line.js";
import { RequestMetrics, regionLength } from "../../metrics/request-metrics.js";
import type { FamilyJSON } from "../../metrics/family.js";
import { takeArrival } from "../connections/arrivals.js";
import { limitsWaiting, QUEUED_UNDER_ADMISSION, SHEDDING_HEARD_MS } from "../http/admission-control.js";
import { EarlyRefusal } from "../http/early-refusal.js";
import { METRICS, familyHead } from "../../metrics/catalogue.js";
import { slotLabel } from "../../contracts/lifecycle.js";

/** Time for a blocked thread's 504 answers to reach their sockets through this thread. */
const ANSWERS_FLUSH_MS = 100;
/** How often the threads hear the accept queue's length. */
const BACKLOG_MS = 20;
const THREAD_ENTRY = fileURLToPath(new URL("../threads/thread-entry.js", import.meta.url));

interface PoolThread {
  worker: Worker;
  inFlight: number;
  connections: number;
  /** Its event loop's last beat (Date.now()): a thread that stops beating is blocked. */
  lastBeat: number;
  /** It has exited (crashed): nothing more to ask of it. */
  gone: boolean;
  families: FamilyJSON[];
  /** Per-connection handlers for messages coming back from this thread. */
  routes: Map<number, (m: BridgeMessage) => void>;
  /** When it last said it sheds (performance.now()). */
  heardShedding: number;
}

export class ThreadEngine implements Engine {
  private readonly threads: PoolThread[] = [];
  private readonly regions: RequestMetrics[] = [];
  private readonly pending: PendingConnections;
  private readonly sockets = new Map<number, Socket>();
  private nextId = 1;
  /** Connections the threads take at once: one each, or a queue each under admission control. */
  private readonly places: number;
  private open = 0;
  private readonly secureContext: tls.SecureContext | null;
  private readonly tls: tls.TlsOptions | null;
  /** Never listens: the owner Node needs to check client certificates on the sockets made here. */
  private readonly tlsServer: tls.Server | null;
  /** Refuses new connections for a thread that sheds (plain TCP under admission control), or null. */
  private readonly refusal: EarlyRefusal | null;
  /** The requests this thread refused itself, counted apart from the threads' regions. */
  private readonly refusedHere: RequestMetrics;

  constructor(private readonly ctx: EngineContext) {
    this.pending = new PendingConnections();
    const s = ctx.init.settings;
    // With a queue-time limit, connections wait in the threads' own queues, where admission control
    // sees their wait and sheds what would wait too long; without one, in the master's queue, where
    // a free worker of the pool can take them.
    this.places = s.threads * (limitsWaiting(s) ? QUEUED_UNDER_ADMISSION : 1);
    this.tls = tlsOptions(s);
    this.secureContext = this.tls ? tls.createSecureContext(this.tls) : null;
    this.tlsServer = this.tls ? tls.createServer() : null;
    this.refusedHere = RequestMetrics.inMemory(s.metrics_buckets, s.metrics_native_schema);
    this.refusal =
      limitsWaiting(s) && this.tls === null
        ? new EarlyRefusal(new Set(s.admission_exempt), (method, seconds) =>
            this.refusedHere.observe(method, 503, seconds),
          )
        : null;
  }

  async start(): Promise<void> {
    const s = this.ctx.init.settings;
    const length = regionLength(s.metrics_buckets.length, s.metrics_native_schema);
    const metricsBuffer = new SharedArrayBuffer(length * 8 * s.threads);
    const booted: Promise<void>[] = [];
    for (let index = 0; index < s.threads; index++) {
      this.regions.push(
        new RequestMetrics(
          new Float64Array(metricsBuffer, index * length * 8, length),
          s.metrics_buckets,
          s.metrics_native_schema,
        ),
      );
      const data: ThreadData = { init: this.ctx.init, index, metricsBuffer };
      const worker = new Worker(THREAD_ENTRY, { workerData: data });
      const thread: PoolThread = {
        worker,
        inFlight: 0,
        connections: 0,
        lastBeat: Date.now(),
        gone: false,
        families: [],
        routes: new Map(),
        heardShedding: Number.NEGATIVE_INFINITY,
      };
      this.threads.push(thread);
      booted.push(
        new Promise((resolve, reject) => {
          worker.on("message", (e: ThreadEvent) => {
            if (e.t === "ready") {
              thread.lastBeat = Date.now();
              resolve();
            } else if (e.t === "boot-error") reject(Object.assign(new Error(e.message), { name: "AppLoadError" }));
            else this.fromThread(thread, e);
          });
          worker.once("error", reject);
          worker.once("exit", (code) => {
            thread.gone = true;
            reject(new Error(`thread ${index} exited with code ${code}`));
            this.ctx.log.error(
              `thread ${index} exited with code ${code}; this worker finishes its requests and is replaced`,
            );
            // Its connections have nobody to answer them now.
            thread.inFlight = 0;
            for (const id of [...thread.routes.keys()]) this.sockets.get(id)?.destroy();
            // The pool is short of a thread: the other threads finish what they have, then the
            // process exits with the thread's code, so the master counts a crash.
            this.ctx.crashed(code === 0 ? 1 : code);
          });
        }),
      );
    }
    await Promise.all(booted);
    // The accept queue is the main thread's to see (it owns the sockets): the threads' admission
    // control hears its length every BACKLOG_MS.
    if (s.shed_lag > 0) {
      setInterval(() => {
        const n = this.ctx.listenBacklog();
        for (const t of this.threads) if (!t.gone) t.worker.postMessage({ t: "backlog", n });
      }, BACKLOG_MS).unref();
    }
  }

  private fromThread(thread: PoolThread, e: ThreadEvent): void {
    switch (e.t) {
      case "start":
        thread.inFlight++;
        this.pending.started(this.sockets.get(e.id) ?? null);
        break;
      case "done":
        thread.inFlight--;
        this.ctx.onRequestDone();
        break;
      case "beat":
        thread.lastBeat = Date.now();
        break;
      case "metrics":
        thread.families = e.families;
        break;
      case "shedding":
        thread.heardShedding = performance.now();
        break;
      case "d":
      case "e":
      case "c":
      case "p":
      case "r":
        thread.routes.get(e.id)?.(e);
        break;
    }
  }

  hasRoom(): boolean {
    let busy = this.pending.count;
    for (const t of this.threads) busy += t.inFlight;
    return busy < this.places;
  }

  take(raw: Socket): void {
    const thread = this.threads.reduce((best, t) =>
      t.inFlight + t.connections < best.inFlight + best.connections ? t : best,
    );
    // Even the least busy thread sheds and has work queued: refuse here, before its queue.
    if (
      this.refusal !== null &&
      thread.inFlight > 0 &&
      performance.now() - thread.heardShedding < SHEDDING_HEARD_MS &&
      this.refusal.refuse(raw)
    )
      return;
    const id = this.nextId++;
    const socket = this.secureContext
      ? new tls.TLSSocket(raw, {
          isServer: true,
          secureContext: this.secureContext,
          requestCert: this.tls!.requestCert ?? false,
          rejectUnauthorized: this.tls!.rejectUnauthorized ?? false,
          // Node checks a client's certificate (and refuses a bad one) for sockets of a server.
          server: this.tlsServer!,
        })
      : raw;
    if (socket !== raw) keepProxiedPeer(socket, raw);
    this.open++;
    thread.connections++;
    this.sockets.set(id, socket);
    this.pending.add(socket);
    const since = performance.timeOrigin + (takeArrival(raw) ?? performance.now());
    thread.routes.set(id, bridgeSocket(socket, id, thread.worker, this.secureContext !== null, since));
    socket.once("close", () => {
      this.pending.closed(socket);
      this.open--;
      thread.connections--;
      thread.routes.delete(id);
      this.sockets.delete(id);
      this.ctx.onRoomChanged();
    });
  }

  get active(): number {
    return this.threads.reduce((n, t) => n + t.inFlight, 0);
  }

  get connections(): number {
    return this.open;
  }

  /** How long the most blocked thread's event loop has not beaten, in ms. */
  blockedMs(): number {
    const now = Date.now();
    return this.threads.reduce((ms, t) => (t.gone ? ms : Math.max(ms, now - t.lastBeat)), 0);
  }

  /** Probes the threads whose event loop stopped beating, the longest-blocked first. */
  async probeThreads(answer: boolean): Promise<StallReport[]> {
    const now = Date.now();
    const blocked = this.threads
      .filter((t) => !t.gone && now - t.lastBeat > 2 * THREAD_BEAT_MS)
      .sort((a, b) => a.lastBeat - b.lastBeat);
    const reports = await Promise.all(
      blocked.map((t) =>
        probe(workerThreadChannel(t.worker.threadId), `thread ${this.threads.indexOf(t)}`, answer, PROBE_MS),
      ),
    );
    // The 504s a thread wrote come here as messages: let them reach their sockets before the
    // master, told we are done, aborts this process.
    if (answer && reports.length > 0) await new Promise((resolve) => setTimeout(resolve, ANSWERS_FLUSH_MS));
    return reports;
  }

  /** Each thread awaits its copy of the app's close(); a thread that is gone has nothing to close. */
  async close(): Promise<void> {
    await Promise.all(
      this.threads
        .filter((t) => !t.gone)
        .map(
          (t) =>
            new Promise<void>((resolve) => {
              const closed = (e: ThreadEvent) => {
                if (e.t !== "closed") return;
                t.worker.off("message", closed);
                resolve();
              };
              t.worker.on("message", closed);
              t.worker.once("exit", () => resolve());
              t.worker.postMessage({ t: "close" });
            }),
        ),
    );
  }

  beginStop(): void {
    for (const t of this.threads) t.worker.postMessage({ t: "stop" });
  }

  reopenLogs(): void {
    for (const t of this.threads) t.worker.postMessage({ t: "reopen" });
  }

  families(): FamilyJSON[] {
    const families = RequestMetrics.families([...this.regions, this.refusedHere], this.ctx.init.slot);
    if (this.refusal === null) return families;
    // Added to the threads' own counts of the same series by the merge.
    const labels = { worker_id: slotLabel(this.ctx.init.slot), reason: "overload" };
    return [...families, { ...familyHead(METRICS.shed), values: [{ labels, value: this.refusedHere.count }] }];
  }

  threadFamilies(): FamilyJSON[] {
    return this.threads.flatMap((t) => t.families);
  }
}
