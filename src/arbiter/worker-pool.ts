// The master's side of the worker protocol: the live worker processes by pid, forking them, and
// the messages they send. What to do about a worker (replace it, back off, finish a reload) is
// the arbiter's: the pool tells it through Supervisor.
import type { ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { MemoryWatch } from "./memory-watch.js";
import { PriorityGap } from "../host/priority-gap.js";
import type { Settings } from "../config/settings.js";
import { isProtocolMessage, type ToMaster } from "../contracts/messages.js";
import { workerCapacity } from "../contracts/worker-class.js";
import type { ConnectionDispatcher } from "./dispatcher.js";
import { type Birth, forkWorker, workerInit } from "./fork-worker.js";
import type { BoundSocket } from "./bound-sockets.js";
import { WorkerProcess } from "./worker-process.js";
import { StickyFront } from "./sticky.js";
import { ConnectionBalance } from "./connection-balance.js";

/** How long a hung worker has, after SIGABRT, to run worker_abort and exit before SIGKILL. */
const ABORT_GRACE_MS = 2_000;

/** What the pool reports to, and asks of, the arbiter. */
export interface Supervisor {
  log: Logger;
  settings(): Settings;
  listeners(): readonly BoundSocket[];
  dispatcher: ConnectionDispatcher<WorkerProcess>;
  /** A worker is near max_requests: time to prestart its successor. */
  retiringSoon(w: WorkerProcess): void;
  /** A worker whose stdout and stderr are pipes (capture_output): its lines go to the error log. */
  captured(child: ChildProcess, slot: number): void;
  /** Just before the fork (the pre_fork hook). */
  forking(slot: number, age: number): void;
  ready(w: WorkerProcess): void;
  /** The worker asked to be retired (max_requests). */
  retiring(w: WorkerProcess): void;
  /** Its memory stayed above max_memory. */
  tooBig(w: WorkerProcess): void;
  exited(w: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void;
  heartbeat(newStoreWriteErrors: number): void;
}

export class WorkerPool {
  private readonly byPid = new Map<number, WorkerProcess>();
  /** --sticky: the master accepts and routes each client to its slot's worker. */
  private sticky: StickyFront<WorkerProcess> | null = null;
  /** Workers forked so far: each one's `age`, as gunicorn numbers them. */
  private age = 0;
  private readonly priority: PriorityGap;
  /** max_memory: workers that stay above it are replaced. */
  private readonly memory: MemoryWatch<WorkerProcess>;
  /** Async workers that accept for themselves: their kept-alive connections kept evenly spread. */
  private readonly balance = new ConnectionBalance(() => this.byPid.values());

  constructor(private readonly master: Supervisor) {
    this.priority = new PriorityGap(master.log);
    this.memory = new MemoryWatch(
      master.log,
      () => master.settings().max_memory,
      this,
      (w) => master.tooBig(w),
    );
    this.memory.start();
  }

  get size(): number {
    return this.byPid.size;
  }

  all(): WorkerProcess[] {
    return [...this.byPid.values()];
  }

  /** Booting or running: not on its way out. */
  live(): WorkerProcess[] {
    return this.all().filter((w) => w.live);
  }

  spawn(slot: number, generation: number, birth: Omit<Birth, "slot" | "age">, standby = false): WorkerProcess {
    const settings = this.master.settings();
    const init = workerInit(settings, { ...birth, slot, age: ++this.age });
    this.master.forking(slot, init.age);
    this.priority.settle(settings.worker_nice);
    const child = forkWorker(init);
    this.priority.place(child.pid);
    if (init.settings.capture_output) this.master.captured(child, slot);
    const worker = new WorkerProcess(child, slot, init.age, generation);
    worker.standby = standby;
    worker.capacity = workerCapacity(settings);
    this.byPid.set(worker.pid, worker);
    child.on("message", (m: unknown, handle: unknown) => {
      if (isProtocolMessage(m)) this.onMessage(worker, m as ToMaster, handle);
    });
    child.once("exit", (code, signal) => {
      this.byPid.delete(worker.pid);
      this.master.dispatcher.forget(worker);
      this.balance.forget(worker);
      worker.exited();
      this.master.exited(worker, code, signal);
    });
    return worker;
  }

  /** Hung workers get SIGABRT, then SIGKILL; workers past their stop deadline get SIGKILL. */
  murder(timeoutMs: number, diagnostics: boolean): void {
    const now = Date.now();
    for (const w of this.all()) {
      if (w.overdue(now)) {
        w.signal("SIGKILL");
      } else if (w.hung(now, timeoutMs)) {
        void w
          .abort(ABORT_GRACE_MS, diagnostics ? 2 * ABORT_GRACE_MS : 0)
          .then((message) => this.master.log.error(message));
        this.master.dispatcher.forget(w);
      }
    }
  }

  /** A standby takes its slot: it listens now, or as soon as it has booted. */
  promote(standby: WorkerProcess): void {
    standby.standby = false;
    const listen = standby.parked;
    standby.parked = null;
    listen?.();
  }

  /** --sticky: accept on the listeners here instead of in the workers. */
  async acceptForWorkers(listeners: readonly BoundSocket[], slots: () => number): Promise<void> {
    const backlog = this.master.settings().backlog;
    // The newest generation first: during a reload, its worker in a slot takes over from the old one.
    const takers = () => this.live().sort((a, b) => b.generation - a.generation);
    this.sticky = new StickyFront(slots, takers, backlog);
    await this.sticky.listen(listeners, backlog);
  }

  /**
   * The server stops: the master's own accepting ends (--sticky; the workers stop theirs on TERM),
   * and no worker is replaced for its memory any more.
   */
  stopAccepting(): void {
    this.memory.stop();
    this.sticky?.close();
  }

  /** Asks every responsive worker to write its metrics file; waits `timeoutMs` at most for the replies. */
  async flush(timeoutMs: number): Promise<void> {
    const now = Date.now();
    const asked = this.all().filter((w) => w.state !== "booting" && now - w.lastHeartbeat < 2000);
    await Promise.all(asked.map((w) => w.request({ cmd: "gpe:flush" }, timeoutMs)));
  }

  /**
   * While a canary runs, the old workers hand it its share of the kept-alive connections (a load
   * balancer's pool was all accepted before the canary existed): the balance spreads them tightly.
   */
  handOver(on: boolean): void {
    this.balance.tight = on;
    if (on && this.balanced()) this.balance.rebalance();
  }

  /** Kept-alive connections are spread by the balance: async workers accepting for themselves. */
  private balanced(): boolean {
    const s = this.master.settings();
    return s.worker_class === "async" && !s.sticky;
  }

  private onMessage(w: WorkerProcess, m: ToMaster, handle: unknown): void {
    const dispatcher = this.master.dispatcher;
    switch (m.cmd) {
      case "gpe:hb":
        this.master.heartbeat(w.heartbeat(m));
        if (this.balanced()) this.balance.reported(w, m.keptAlive);
        break;
      case "gpe:conns":
        if (this.balanced()) this.balance.reported(w, m.open);
        else w.keptAlive = m.open;
        break;
      case "gpe:booted": {
        const listen = () => w.booted(this.sticky ? [] : this.master.listeners(), this.master.settings().backlog);
        if (w.standby) w.parked = listen;
        else listen();
        break;
      }
      case "gpe:retire-soon":
        this.master.retiringSoon(w);
        break;
      case "gpe:ready":
        if (w.state === "booting") w.setState("running");
        w.wasReady = true;
        this.master.ready(w);
        this.sticky?.pump();
        break;
      case "gpe:boot-error":
        w.bootError = m.message;
        break;
      case "gpe:handoff":
        dispatcher.handOff(w, handle as Socket);
        break;
      case "gpe:idle":
        dispatcher.idle(w);
        break;
      case "gpe:full":
        dispatcher.full(w);
        break;
      case "gpe:retire":
        this.master.log.info(
          `Worker (pid:${w.pid}, slot ${w.slot}) served ${m.served} requests (max_requests); retiring`,
        );
        w.exitReason = m.reason;
        this.master.retiring(w);
        break;
      case "gpe:reply":
        w.inFlight = m.inFlight;
        w.answer(m.seq, m);
        break;
      case "gpe:exiting":
        w.agreeToExit();
        break;
    }
  }
}
