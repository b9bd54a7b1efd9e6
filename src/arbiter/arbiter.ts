// The master process, after gunicorn's arbiter. Signal handlers only queue the signal; the loop
// handles it. The methods read like the operator's runbook: spawnWorker, reapWorker,
// murderWorkers, manageWorkers, reload, stop, halt.
import type { ChildProcess } from "node:child_process";
import type { Logger } from "pino";
import type { Settings } from "../config/settings.js";
import type { Resolved } from "../config/load.js";
import { pickHooks, runHook, runHookSync, runHookWithin, type Hooks } from "../config/hook-runner.js";
import { MasterLogs } from "../host/master-logs.js";
import { closeBoundSockets, type BoundSocket } from "./bound-sockets.js";
import { dieWithParent } from "./parent-watch.js";
import { startDevReload } from "../host/dev-reload.js";
import { SignalQueue } from "./signal-queue.js";
import { CrashBackoff } from "./crash-backoff.js";
import { upgradeMaster } from "./upgrade.js";
import { WorkerPool } from "./worker-pool.js";
import { Deploys } from "./deploys.js";
import { takeReloadRequest } from "./reload-request.js";
import { idleTimeoutAdvice, prepareMaster, rereadSettings, StartupError } from "./startup.js";
import type { Pidfile } from "./pidfile.js";
import { ConnectionDispatcher } from "./dispatcher.js";
import { type WorkerProcess, exitStatus } from "./worker-process.js";
import type { RestartReason } from "../contracts/lifecycle.js";
import { MetricsExporter } from "../exporter/metrics-exporter.js";
import { listenQueues } from "./listen-queue.js";
import { PoolTarget } from "./pool-target.js";
import { type Release, resolveRelease, startDirectory } from "./releases.js";
import { acceptInMaster } from "./master-accept.js";
import type { Server as NetServer } from "node:net";
import type { Readiness } from "../contracts/pool-view.js";

const TICK_MS = 250;
/** The adaptive pool reads the kernel's accept queues this often (/proc/net/tcp is long on a busy host). */
const LISTEN_SAMPLE_MS = 1000;
/** A worker killed by one of these came to its end from outside: it is replaced with no backoff. */
const KILLED_FROM_OUTSIDE = new Set<string>(["SIGKILL", "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP"]);
/** After graceful_timeout, a worker has this long to write its metrics and exit before SIGKILL. */
const STOP_SLACK_MS = 1_000;

export { StartupError };

export interface ArbiterOptions {
  app: string;
  /** The directory the server was started from, through its symlinks (releases.ts). */
  startDir?: string;
  resolved: Resolved;
  /** The raw CLI values, to re-resolve settings on HUP. */
  cli: Record<string, unknown>;
  /** The original argv after the node binary, for USR2. */
  argv: string[];
  inherited?: { listeners: BoundSocket[]; metricsHandle: object | null } | undefined;
  /** Once, when every worker of the first generation serves. */
  onReady?: (() => void) | undefined;
}

export class Arbiter {
  settings: Settings;
  private sources: Resolved["sources"];
  private hooks: Hooks = {};
  readonly log: Logger;
  private readonly logs: MasterLogs;
  private listeners: BoundSocket[] = [];
  private readonly workers: WorkerPool;
  private readonly backoff = new CrashBackoff(() => ({
    minUptimeMs: this.settings.min_uptime * 1000,
    firstDelayMs: this.settings.restart_delay,
  }));
  /** How many workers to keep, and the adaptive pool that moves it. */
  private readonly target: PoolTarget;
  /** Generations of workers, their releases, and how a reload replaces one with the next. */
  private readonly deploys: Deploys;
  private readonly signals = new SignalQueue((name) => this.handleSignal(name));
  private stopping: "graceful" | "fast" | null = null;
  private ready = false;
  private pidfile: Pidfile | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private halting = false;
  /** Collector, metrics server, status board and Redis forwarding: everything but supervision. */
  readonly exporter: MetricsExporter;
  private readonly dispatcher: ConnectionDispatcher<WorkerProcess>;
  private successor: ChildProcess | null = null;
  private exitCode = 0;
  private readonly procName: string;
  private listenWaiting = { at: 0, length: 0 };
  private readonly startDir: string;
  /** TERM with drain_delay: /readyz says 503 while the app port still serves, until this fires. */
  private drainTimer: NodeJS.Timeout | null = null;
  /** While the server stops, the master accepts what the kernel still queues (master-accept.ts). */
  private lastAccepts: NetServer[] = [];

  constructor(private readonly o: ArbiterOptions) {
    this.settings = o.resolved.settings;
    this.sources = o.resolved.sources;
    this.procName = this.settings.proc_name ?? o.app;
    this.startDir = o.startDir ?? startDirectory();
    this.logs = new MasterLogs(
      () => this.settings,
      () => this.workers.all(),
    );
    this.log = this.logs.log;
    this.dispatcher = new ConnectionDispatcher(() => this.workers.live(), this.settings.backlog);
    this.workers = new WorkerPool({
      log: this.log,
      settings: () => this.settings,
      listeners: () => this.listeners,
      dispatcher: this.dispatcher,
      captured: (child, slot) => this.logs.capture(child, slot),
      forking: (slot, age) => runHookSync(this.hooks, "pre_fork", this.log, this.server, { slot, age }),
      ready: (w) => this.workerReady(w),
      retiring: (w) => this.retire(w, "max_requests"),
      retiringSoon: (w) => this.prestart(w),
      tooBig: (w) => this.replace(w),
      exited: (w, code, signal) => this.reapWorker(w, code, signal),
      heartbeat: (storeWriteErrors) => storeWriteErrors > 0 && this.exporter.countWriteErrors(storeWriteErrors),
    });
    this.exporter = new MetricsExporter(this.settings, this.log, {
      workers: () => this.workers.all(),
      flush: (timeoutMs) => this.workers.flush(timeoutMs),
      queued: () => this.dispatcher.queued,
      sizing: () => this.target.sizing(),
      listenQueues: () => listenQueues(this.listeners, this.settings.backlog),
      readiness: () => this.readiness(),
      deploy: () => this.deploys.status(),
    });
    this.dispatcher.onDispatch = (seconds) => this.exporter.metrics.observeDispatchWait(seconds);
    this.deploys = new Deploys({
      settings: () => this.settings,
      log: this.log,
      workers: () => this.workers.all(),
      target: () => this.target.value,
      spawn: (slot, generation) => this.spawnWorker(slot, false, generation),
      retire: (w, reason) => this.retire(w, reason),
      manage: () => this.manageWorkers(),
      flush: (ms) => this.workers.flush(ms),
      figures: (workers) => this.exporter.requestFigures(workers),
      ended: (strategy, outcome) => this.exporter.metrics.reloaded(strategy, outcome),
      again: () => void this.reload(),
      handOver: (on) => this.workers.handOver(on),
    });
    this.target = new PoolTarget({
      settings: () => this.settings,
      log: this.log,
      metrics: this.exporter.metrics,
      changed: (n, old) => {
        runHookSync(this.hooks, "nworkers_changed", this.log, this.server, n, old);
        this.manageWorkers();
      },
    });
  }

  /** For /readyz: ready while a worker serves and no stop has begun (drain_delay included). */
  private readiness(): Readiness {
    if (this.stopping || this.drainTimer) return { ready: false, why: "stopping" };
    if (!this.workers.all().some((w) => w.state === "running")) return { ready: false, why: "no worker is ready" };
    return { ready: true, why: "ready" };
  }

  /** What hooks receive as `server`. */
  private get server(): object {
    return {
      pid: process.pid,
      settings: this.settings,
      log: this.log,
      app: this.o.app,
      workers: () => this.workers.all().map((w) => w.info()),
    };
  }

  async start(): Promise<void> {
    process.title = `gpe-server: master [${this.procName}]`;
    this.hooks = pickHooks(this.settings);
    await runHook(this.hooks, "on_starting", this.log, this.server);
    const s = this.settings;
    ({ listeners: this.listeners, pidfile: this.pidfile } = await prepareMaster({
      settings: s,
      app: this.o.app,
      log: this.log,
      exporter: this.exporter,
      inherited: this.o.inherited,
    }));
    const advice = idleTimeoutAdvice(s, this.sources.keepalive !== "default");
    if (advice) this.log.warn(advice);
    this.signals.install();
    dieWithParent(s.die_with_parent && !this.o.inherited, this.log, () => this.stop(true));
    if (s.reload) startDevReload(this.o, s.reload_extra_files, this.log, () => void this.reload());
    await this.exporter.start();
    this.deploys.first(this.resolveRelease());
    if (s.sticky) await this.workers.acceptForWorkers(this.listeners, () => this.target.value);
    this.manageWorkers();
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    this.logs.start();
  }

  // ---- signals ------------------------------------------------------------------------------

  /** What each signal does (gunicorn's handle_<signal>); WINCH does nothing: we never daemonize. */
  private readonly onSignal: Record<string, () => void> = {
    HUP: () => void this.reload(),
    TERM: () => this.stop(true),
    INT: () => this.stop(false),
    QUIT: () => this.stop(false),
    TTIN: () => !this.stopping && this.target.step(+1),
    TTOU: () => !this.stopping && this.target.step(-1),
    USR1: () => this.reopenLogs(),
    USR2: () => void this.reexec(),
  };

  /** Runs on the loop for each queued signal, in order: the operator's runbook. */
  private handleSignal(name: string): void {
    this.exporter.metrics.signal(name);
    this.log.info(`Handling signal: ${name.toLowerCase()}`);
    this.onSignal[name]?.();
  }

  /** The adaptive pool's sample: its running workers, and the connections waiting for one. */
  private autoscale(now: number): void {
    if (!this.target.adaptive) return;
    const current = this.workers.live().filter((w) => w.generation === this.deploys.current && !w.standby);
    const steady =
      !this.stopping && !this.drainTimer && !this.deploys.active && current.every((w) => w.state === "running");
    if (steady && now - this.listenWaiting.at >= LISTEN_SAMPLE_MS) {
      const length = listenQueues(this.listeners, this.settings.backlog).reduce((n, q) => n + q.length, 0);
      this.listenWaiting = { at: now, length };
    }
    this.target.sample(now, steady, current, this.dispatcher.queued + this.listenWaiting.length);
  }

  private reopenLogs(): void {
    this.logs.reopen();
    this.log.info("reopened log files");
  }

  // ---- workers ------------------------------------------------------------------------------

  /** APP and the working directory, through their symlinks as they are now. */
  private resolveRelease(): Release {
    return resolveRelease(this.o.app, this.settings.chdir, this.startDir);
  }

  private spawnWorker(slot: number, standby = false, generation = this.deploys.current): void {
    const release = this.deploys.releaseOf(generation) ?? this.resolveRelease();
    const worker = this.workers.spawn(
      slot,
      generation,
      {
        app: release.app,
        cwd: release.cwd,
        configPath: this.o.resolved.configPath,
        procName: this.procName,
        keepAliveExplicit: this.sources.keepalive !== "default",
        addresses: this.listeners.map((l) => l.address),
      },
      standby,
    );
    this.log.debug(`Booting worker with pid: ${worker.pid} (slot ${slot}${standby ? ", standby" : ""})`);
  }

  private workerReady(w: WorkerProcess): void {
    this.log.info(`Booted worker with pid: ${w.pid} (slot ${w.slot})`);
    this.logs.ready(w);
    for (const old of this.workers.live())
      if (old.slot === w.slot && old.replaceWanted && old !== w) this.retire(old, old.replaceWanted);
    this.deploys.workerReady(w);
    void this.exporter.metrics.sample();
    this.dispatcher.pump();
    this.onWorkerReady();
  }

  /** The first generation serves: when_ready, once. */
  private onWorkerReady(): void {
    const current = this.workers.all().filter((w) => w.generation === this.deploys.current);
    if (current.filter((w) => w.state === "running").length < this.target.value) return;
    if (!this.ready) {
      this.ready = true;
      runHookSync(this.hooks, "when_ready", this.log, this.server);
      this.o.onReady?.();
    }
  }

  /** Graceful stop of one worker: TERM now, KILL after graceful_timeout. */
  private retire(w: WorkerProcess, reason: RestartReason): void {
    if (!w.retire(reason, this.settings.graceful_timeout * 1000 + STOP_SLACK_MS)) return;
    this.dispatcher.forget(w);
    this.manageWorkers();
  }

  private reapWorker(w: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.exporter.metrics.signal("CHLD");
    this.exporter.workerExited(w.slot, w.pid);
    const { reason, expected, bootFailed, unexpectedly } = w.ending(code, signal);
    if (!this.stopping) {
      this.exporter.metrics.restart(reason, w.slot, exitStatus(code, signal));
      if (unexpectedly) this.log.warn(unexpectedly);
    }
    runHookSync(this.hooks, "child_exit", this.log, this.server, w.info());
    if (this.stopping) {
      if (this.workers.size === 0) this.halt();
      return;
    }
    if (bootFailed) {
      this.onBootFailure(w);
      return;
    }
    this.deploys.exited(w, reason, expected);
    // A worker that died on its own (exit code, fault signal) in a loop gets a backoff; one killed
    // from outside (an operator, the OOM killer) is replaced at once: booting bounds the rate.
    if (!expected && !(signal && KILLED_FROM_OUTSIDE.has(signal))) this.noteCrash(w);
    this.manageWorkers();
  }

  /** A worker could not load the app: stop (nothing can serve) or cancel the reload. */
  private onBootFailure(w: WorkerProcess): void {
    const message = w.bootError ?? `worker (pid:${w.pid}, slot ${w.slot}) exited before it was ready`;
    if (this.deploys.bootFailed(w, message)) return;
    const serving = this.workers.all().some((x) => x.state === "running");
    if (!serving) {
      this.giveUp(`Worker failed to boot: ${message}`, message);
      return;
    }
    this.noteCrash(w);
    this.manageWorkers();
  }

  private noteCrash(w: WorkerProcess): void {
    const { inARow, delayMs, giveUp } = this.backoff.crashed(w.slot, w.startedAt, this.settings.max_restarts);
    if (giveUp) this.giveUp(giveUp, giveUp);
    else if (inARow > 1) this.log.warn(`slot ${w.slot} crashed ${inARow} times in a row; next start in ${delayMs} ms`);
  }

  /** Nothing can serve: one line on stderr, and a fast stop with status 1. */
  private giveUp(logged: string, shown: string): void {
    this.log.fatal(logged);
    process.stderr.write(`gpe-server: ${shown}\n`);
    this.stop(false, 1);
  }

  /** Near max_requests: the successor boots now and waits, so that no request waits for a boot. */
  private prestart(w: WorkerProcess): void {
    const { current } = this.deploys;
    if (this.stopping || w.generation !== current || this.workers.live().some((x) => x.standby && x.slot === w.slot))
      return;
    this.spawnWorker(w.slot, true);
  }

  /** max_memory: a replacement starts in the slot; the worker retires once it is ready. */
  private replace(w: WorkerProcess): void {
    if (this.stopping || w.replaceWanted || w.state !== "running") return;
    w.replaceWanted = "memory";
    this.manageWorkers();
  }

  /** Brings the current generation to `target` workers in slots 1..target. */
  private manageWorkers(): void {
    if (this.stopping) return;
    const now = Date.now();
    const bySlot = new Map<number, WorkerProcess>();
    const standbys = new Map<number, WorkerProcess>();
    for (const w of this.workers.live()) {
      if (w.generation !== this.deploys.current) continue;
      if (w.slot > this.target.value) this.retire(w, "scale_down");
      else if (w.standby) standbys.set(w.slot, w);
      else if (!w.replaceWanted) bySlot.set(w.slot, w);
    }
    // A rolling reload starts reload_batch new workers at a time; each next one once one serves.
    let room = this.deploys.rolling
      ? this.settings.reload_batch - [...bySlot.values()].filter((w) => w.state === "booting").length
      : Number.POSITIVE_INFINITY;
    for (let slot = 1; slot <= this.target.value && room > 0; slot++) {
      if (bySlot.has(slot)) continue;
      const standby = standbys.get(slot);
      if (standby) this.workers.promote(standby);
      else if (!this.backoff.waiting(slot, now)) {
        this.spawnWorker(slot);
        room--;
      } // backing off: the tick retries
    }
    this.deploys.manageCanary();
  }

  private tick(): void {
    const now = Date.now();
    this.autoscale(now);
    this.deploys.tick(now);
    // Hung workers get SIGABRT (after a stall probe), then SIGKILL; the slots are refilled below.
    this.workers.murder(this.settings.timeout * 1000, this.settings.timeout_diagnostics);
    this.manageWorkers();
    this.dispatcher.pump();
  }

  // ---- reload, upgrade, stop ----------------------------------------------------------------

  /** HUP: re-read the config, start a new generation of workers, retire the old one once it serves. */
  async reload(): Promise<void> {
    if (this.stopping || this.drainTimer || !this.deploys.generations.requestReload()) return;
    // `gpe-server reload --canary` asks for a strategy for this reload only.
    const asked = takeReloadRequest(process.pid, this.log);
    const resolved = await rereadSettings(this.o.cli, this.listeners, this.log);
    if (resolved) ({ settings: this.settings, sources: this.sources } = resolved);
    this.hooks = pickHooks(this.settings);
    await runHook(this.hooks, "on_reload", this.log, this.server);
    this.deploys.begin(this.resolveRelease(), asked ?? this.settings.reload_strategy);
    // The new size (the new generation starts at it; during a canary, the old one moves to it).
    this.target.reloaded();
    this.manageWorkers();
  }

  /** USR2: start a new master on the same sockets; this one keeps running until told to stop. */
  async reexec(): Promise<void> {
    if (this.successor || this.stopping) {
      this.log.warn("USR2 ignored: an upgrade is already in progress or the server is stopping");
      return;
    }
    runHookSync(this.hooks, "pre_exec", this.log, this.server);
    this.successor = upgradeMaster({
      argv: this.o.argv,
      listeners: this.listeners,
      metricsHandle: this.exporter.handle(),
      pidfile: this.pidfile,
      log: this.log,
      ended: () => {
        this.successor = null;
        return { stopping: this.stopping !== null };
      },
    });
  }

  /** Graceful (TERM) or fast (INT/QUIT) stop of the whole server. */
  stop(graceful: boolean, exitCode = 0): void {
    const delay = this.settings.drain_delay;
    if (graceful && !this.stopping && !this.drainTimer && delay > 0) {
      // Readiness fails now; the app port serves on while load balancers notice.
      this.log.info(`draining: /readyz answers 503; still serving for ${delay} s (drain_delay), then stopping`);
      this.drainTimer = setTimeout(() => this.stop(true, exitCode), delay * 1000);
      return;
    }
    if (this.drainTimer) {
      // The delay is over, or a second TERM (or an INT) cut it short.
      clearTimeout(this.drainTimer);
      this.drainTimer = null;
    }
    if (this.stopping) {
      // A second INT/QUIT during a graceful stop shortens the wait.
      if (!graceful) for (const w of this.workers.all()) w.signal("SIGKILL");
      return;
    }
    this.stopping = graceful ? "graceful" : "fast";
    this.exitCode = exitCode;
    this.workers.stopAccepting();
    this.dispatcher.stop(() => this.workers.all().filter((w) => w.child.connected && !w.exitAgreed));
    if (graceful) void this.acceptUntilDrained();
    const deadline = Date.now() + (graceful ? this.settings.graceful_timeout * 1000 + STOP_SLACK_MS : 1000);
    for (const w of this.workers.all()) w.stop(graceful, deadline);
    if (this.workers.size === 0) this.halt(exitCode);
  }

  /**
   * While workers drain, connections still reach the listening sockets (queued by the kernel before
   * the load balancer noticed): the master accepts them and passes them to draining workers, rather
   * than leave them to be reset when the sockets close. Not with --sticky (it accepts already), nor
   * after USR2 (the new master's workers take them).
   */
  private async acceptUntilDrained(): Promise<void> {
    if (this.settings.sticky || (this.successor !== null && this.successor.exitCode === null)) return;
    try {
      this.lastAccepts = await acceptInMaster(this.listeners, this.settings.backlog, (socket) =>
        this.dispatcher.adopt(socket),
      );
    } catch (err) {
      this.log.warn({ err }, "could not accept on the listening sockets while stopping");
    }
  }

  /** Everything is stopped: after a graceful stop, forward the final counts to Redis; then exit. */
  halt(code = this.exitCode): void {
    if (this.halting) return;
    this.halting = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    // A USR2 successor shares the sockets, the store and the archive: leave them to it.
    const handedOver = this.successor !== null && this.successor.exitCode === null;
    void this.exporter
      .closeForwarder(this.stopping === "graceful" && !handedOver)
      .finally(() => void this.exit(code, handedOver));
  }

  private async exit(code: number, handedOver: boolean): Promise<void> {
    for (const server of this.lastAccepts) server.close();
    closeBoundSockets(this.listeners, { unlink: !handedOver });
    this.exporter.stop({ keepArchive: handedOver });
    this.pidfile?.unlink(process.pid);
    await runHookWithin(this.hooks, "on_exit", this.log, this.settings.graceful_timeout * 1000, this.server);
    this.log.info("Shutting down: Master");
    this.logs.flush();
    process.exit(code);
  }
}
