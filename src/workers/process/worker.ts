// A worker process, in gunicorn's shape: boot (hooks, the app, the metrics file), serve (listen on
// the sockets the master sends, heartbeats) and stop (TERM graceful, INT/QUIT quick, ABRT when
// the master found it hung). The engine is what differs by worker type (engine.ts).
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { socketErrorText } from "../../config/bind.js";
import { finishWithin, runHook, runHookSync, runHookWithin, type Hooks } from "../../config/hook-runner.js";
import type { WorkerInitData } from "../../config/settings.js";
import { EXIT_APP_LOAD_ERROR, EXIT_BOOT_ERROR, EXIT_UNCAUGHT } from "../../contracts/exit-codes.js";
import { slotLabel } from "../../contracts/lifecycle.js";
import { isProtocolMessage, type ToMaster, type ToWorker } from "../../contracts/messages.js";
import { WorkerSnapshot } from "../../metrics/worker-snapshot.js";
import { openAppHost, type AppHost } from "../boot/app-host.js";
import { onUncaughtAppError } from "../boot/uncaught.js";
import { AcceptFront } from "../connections/accept-front.js";
import { ConnectionShare } from "../connections/connection-share.js";
import { ProxyGate } from "../connections/proxy-gate.js";
import type { Engine, EngineContext } from "../engines/engine.js";
import { ProcessEngine } from "../engines/process-engine.js";
import { loadHttp2 } from "../http/app-server.js";
import { answerThreadProbes, startStallThread } from "../stall/stall-line.js";
import { LoadProbe } from "./load-probe.js";
import { warmUp } from "./warm-up.js";

/** What the app's close() and worker_exit get at least, also on a quick exit or after a graceful timeout. */
const QUICK_EXIT_MS = 500;

export class Worker {
  private readonly s: WorkerInitData["settings"];
  private readonly host: AppHost;
  private readonly log: Logger;
  private gate: ProxyGate | null = null;
  private toldNearMax = false;
  private hooks: Hooks = {};
  /** What hooks receive as `worker`, and as `server` (the worker's view of its master). */
  private readonly workerInfo: object;
  private readonly serverInfo: object;
  private engine!: Engine;
  private snapshot!: WorkerSnapshot;
  private front: AcceptFront | null = null;
  /** Async workers that accept for themselves: their part in spreading kept-alive connections. */
  private readonly share: ConnectionShare | null;
  private handled = 0;
  /** --warmup runs: its requests are not the app's traffic. */
  private warming = false;
  private retiring = false;
  private stopping = false;
  private exitTimer: NodeJS.Timeout | null = null;
  /** When a graceful stop must be over: requests, the app's close() and worker_exit share the time. */
  private stopDeadline = 0;
  private exiting = false;
  private appClosing: Promise<void> | null = null;
  /** What the process exits with once it has stopped: 0, or the code of a crash that stopped it. */
  private exitCode = 0;
  private exitAsked = false;
  private exitAgreed = false;
  /** Messages that arrive before the worker can act on them wait here. */
  private early: [ToWorker, unknown][] | null = [];
  private listening = Promise.resolve();
  /** wait_ready: settles when the app sends "ready" (PM2's convention); null without wait_ready. */
  private readonly appReady: Promise<void> | null;

  constructor(private readonly init: WorkerInitData) {
    this.s = init.settings;
    process.title = `gpe-server: worker [${init.procName}]`;
    this.host = openAppHost(init);
    this.log = this.host.log;
    // From the start: Node's own SIGUSR1 action would open the inspector on port 9229.
    process.on("SIGUSR1", () => {
      this.host.reopenLogs();
      this.engine?.reopenLogs?.();
    });
    this.workerInfo = {
      pid: process.pid,
      ppid: init.masterPid,
      slot: init.slot,
      age: init.age,
      workerClass: init.workerClass,
      log: this.log,
    };
    this.serverInfo = { pid: init.masterPid, settings: this.s, log: this.log };
    this.share =
      init.workerClass === "async" && !this.s.sticky
        ? new ConnectionShare(
            () => this.engine?.keptAlive ?? 0,
            (m) => this.send(m),
          )
        : null;
    this.appReady = this.s.wait_ready ? appSendsReady() : null;
    process.on("message", (m: unknown, handle: unknown) => {
      if (!isProtocolMessage(m)) return;
      if (this.early) this.early.push([m as ToWorker, handle]);
      else this.onMessage(m as ToWorker, handle);
    });
  }

  /** The master may ask where this worker is stuck when it times out. */
  private get diagnosing(): boolean {
    return this.s.timeout > 0 && this.s.timeout_diagnostics;
  }

  private send(message: ToMaster, handle?: Socket): void {
    if (process.connected) process.send!(message, handle as never, { keepOpen: false } as never);
  }

  /** Loads the hooks, the app and the engine; false when it cannot serve (the master is told why). */
  async boot(): Promise<boolean> {
    this.hooks = await this.host.hooks({ warn: true });
    await runHook(this.hooks, "post_fork", this.log, this.serverInfo, this.workerInfo);
    const ctx: EngineContext = {
      init: this.init,
      log: this.log,
      hooks: this.hooks,
      accessLog: this.host.accessLog,
      workerInfo: this.workerInfo,
      onRequestDone: () => this.requestDone(),
      onRoomChanged: () => this.roomChanged(),
      share: this.share,
      listenBacklog: () => this.front?.backlog() ?? 0,
      crashed: (code) => {
        this.exitCode = code;
        this.gracefulStop();
      },
    };
    try {
      if (this.init.workerClass === "thread") {
        const { ThreadEngine } = await import("../engines/thread-engine.js");
        this.engine = new ThreadEngine(ctx);
      } else {
        if (this.s.http_protocols.includes("h2")) await loadHttp2();
        const app = await this.host.app();
        if (app.selfListen) this.tookOver(app.selfListen);
        this.engine = new ProcessEngine(app, ctx);
      }
      await this.engine.start();
      if (this.s.warmup.length > 0) {
        this.warming = true;
        await warmUp(this.engine, {
          paths: this.s.warmup,
          count: this.s.warmup_requests,
          tls: this.s.certfile !== null,
          timeoutMs: (this.s.timeout || 30) * 1000,
        });
        this.warming = false;
      }
      if (this.s.proxy_protocol)
        this.gate = new ProxyGate(this.engine, this.s.proxy_allow_ips, this.s.header_timeout * 1000, this.log);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log.error({ err }, `worker failed to boot: ${message}`);
      const code = err instanceof Error && err.name === "AppLoadError" ? EXIT_APP_LOAD_ERROR : EXIT_BOOT_ERROR;
      this.failBoot(message, () => process.exit(code));
      return false;
    }
    await runHook(this.hooks, "post_worker_init", this.log, this.workerInfo);
    const engine = this.engine;
    this.snapshot = new WorkerSnapshot(
      this.s.multiproc_dir,
      this.init.slot,
      this.s.metrics_flush_interval,
      () => (this.gate ? [...engine.families(), ...this.gate.families(slotLabel(this.init.slot))] : engine.families()),
      this.host.registries(),
      this.log,
      () => engine.threadFamilies?.() ?? [],
    );
    if (this.s.metrics_enabled) await this.snapshot.start();
    return true;
  }

  /** A self-listening app: say once which address serves instead of the one it asked for. */
  private tookOver(asked: string): void {
    if (this.init.slot === 1 && this.init.age <= 1)
      this.log.info(`the app's listen(${asked}) is taken over: it serves on ${this.init.addresses.join(", ")}`);
  }

  /** Tells the master why this worker cannot serve; exits once the message had a moment to leave. */
  private failBoot(message: string, exit: () => void): void {
    this.send({ cmd: "gpe:boot-error", message });
    this.host.flushLogs();
    setTimeout(exit, 50);
  }

  /** Installs the signal handlers and the heartbeat, and asks the master for its sockets. */
  serve(): void {
    const admission = this.gate ?? this.engine;
    this.front = new AcceptFront(admission, (m, handle) => this.send(m, handle), this.init.workerClass === "async");
    // An error the app throws outside any request: write the metrics and exit; the master replaces
    // the worker (with a backoff if it keeps happening).
    onUncaughtAppError(
      this.log,
      (err) => this.engine.uncaught?.(err),
      () => this.finalExit(EXIT_UNCAUGHT),
    );
    process.on("SIGTERM", () => this.gracefulStop());
    process.on("SIGHUP", () => this.gracefulStop());
    process.on("SIGINT", () => this.quickStop());
    process.on("SIGQUIT", () => this.quickStop());
    process.on("SIGABRT", () => {
      runHookSync(this.hooks, "worker_abort", this.log, this.workerInfo);
      this.finalExit(1);
    });
    // The master is gone (its IPC channel closed): no orphan keeps serving stale code.
    process.on("disconnect", () => {
      this.log.warn("master went away; stopping");
      this.gracefulStop();
      setTimeout(() => this.finalExit(0), Math.min(this.s.graceful_timeout, 5) * 1000).unref();
    });
    const heartbeatMs = this.s.timeout > 0 ? Math.max(100, Math.min(1000, (this.s.timeout * 1000) / 4)) : 1000;
    const probe = new LoadProbe(heartbeatMs);
    const beat = (): void =>
      this.send({
        cmd: "gpe:hb",
        inFlight: this.engine.active,
        upgraded: this.engine.upgraded ?? 0,
        keptAlive: this.engine.keptAlive ?? 0,
        ...probe.sample(),
        storeWriteErrors: this.snapshot.writeErrors,
        blockedMs: this.engine.blockedMs?.() ?? 0,
      });
    setInterval(beat, heartbeatMs).unref();
    if (this.diagnosing && this.engine.probeThreads) answerThreadProbes(this.engine.probeThreads.bind(this.engine));
    else if (this.diagnosing) this.engine.beforeFirstConnection?.(startStallThread);
    const early = this.early ?? [];
    this.early = null;
    for (const [m, handle] of early) this.onMessage(m, handle);
    this.send({ cmd: "gpe:booted" });
  }

  private onMessage(m: ToWorker, handle: unknown): void {
    switch (m.cmd) {
      case "gpe:listen":
        this.listen(m.address, handle as object, m.backlog, m.last);
        break;
      case "gpe:conn":
        this.front!.received(handle as Socket, m.more, m.waited);
        break;
      case "gpe:wanted":
        this.front?.wanted();
        break;
      case "gpe:shed":
        this.share?.shed(m.count);
        break;
      case "gpe:exit-ok":
        this.exitAgreed = true;
        this.maybeExit();
        break;
      case "gpe:flush":
        // Before a scrape: the hot-path counters, written now; the app's registry is re-read on
        // the flush interval, so the master never waits on its (possibly async) collectors.
        if (!this.s.metrics_enabled) break;
        this.snapshot.write();
        this.send({ cmd: "gpe:reply", seq: m.seq, inFlight: this.engine.active });
        break;
    }
  }

  /** Listens on a socket the master bound; once the last one is open, the worker is ready. */
  private listen(address: string, handle: object, backlog: number, last: boolean): void {
    // No socket (--sticky): the master accepts and passes each connection.
    this.listening = this.listening.then(() =>
      (handle ? this.front!.listen(handle, backlog) : Promise.resolve()).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`cannot listen on ${address}: ${socketErrorText(err)}`);
      }),
    );
    // A failure is reported once, when the last listener's message has come: until then nothing
    // awaits this promise, and an unhandled rejection would read as the app's crash.
    this.listening.catch(() => {});
    if (!last) return;
    if (this.appReady) this.listening = this.listening.then(() => this.waitForApp(this.appReady!));
    this.listening.then(
      () => {
        this.send({ cmd: "gpe:ready" });
        this.nearMaxRequests();
      },
      (err: Error) => {
        this.log.error(err.message);
        this.failBoot(err.message, () => this.finalExit(EXIT_BOOT_ERROR));
      },
    );
  }

  /** wait_ready: the app has listen_timeout to say it is ready, or the worker failed to boot. */
  private waitForApp(ready: Promise<void>): Promise<void> {
    const ms = this.s.listen_timeout * 1000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the app did not send "ready" within listen_timeout (${this.s.listen_timeout} s)`)),
        ms,
      );
    });
    return Promise.race([ready, late]).finally(() => clearTimeout(timer));
  }

  private requestDone(): void {
    if (this.warming) return; // warm-up requests do not count towards max_requests
    this.handled++;
    this.nearMaxRequests();
    if (this.init.maxRequests > 0 && this.handled >= this.init.maxRequests && !this.retiring) {
      this.retiring = true;
      this.send({ cmd: "gpe:retire", reason: "max_requests", served: this.handled }); // the master logs it
      this.gracefulStop();
    }
    this.roomChanged();
  }

  /** Within the last 5% of max_requests (at least its last request): the master prestarts the successor. */
  private nearMaxRequests(): void {
    const max = this.init.maxRequests;
    if (max <= 0 || this.toldNearMax || max - this.handled > Math.max(1, Math.ceil(max / 20))) return;
    this.toldNearMax = true;
    this.send({ cmd: "gpe:retire-soon" });
  }

  private roomChanged(): void {
    if (this.stopping) this.maybeExit();
    else this.front?.roomChanged();
  }

  /** TERM: stop accepting, finish what is in flight (within graceful_timeout), exit. */
  private gracefulStop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.front?.close();
    this.engine.beginStop();
    // Close keep-alive connections as they go idle; exit once nothing is left.
    const sweep = setInterval(() => {
      this.engine.beginStop();
      this.maybeExit();
    }, 100);
    sweep.unref();
    this.stopDeadline = Date.now() + this.s.graceful_timeout * 1000;
    this.exitTimer = setTimeout(() => {
      this.log.warn(`graceful timeout: ${this.engine.active} requests still in flight`);
      this.finalExit(this.exitCode, true);
    }, this.s.graceful_timeout * 1000);
    this.maybeExit();
  }

  /** INT, QUIT: exit now. */
  private quickStop(): void {
    runHookSync(this.hooks, "worker_int", this.log, this.workerInfo);
    this.finalExit(0);
  }

  /**
   * A connection the master handed over may still be in the IPC pipe when this worker becomes
   * idle; exiting then would reset it. So an idle stopping worker asks first, and the master's
   * answer comes after every connection it sent (IPC messages arrive in order).
   */
  private maybeExit(): void {
    // Only upgraded connections (WebSocket) left: the app's close() is where it ends them.
    if (this.engine.active === 0 && this.engine.connections <= (this.engine.upgraded ?? 0)) void this.closeApp();
    if (this.engine.active !== 0 || this.engine.connections !== 0) return;
    if (this.exitAgreed || !process.connected) {
      this.finalExit(this.exitCode, true);
      return;
    }
    if (this.exitAsked) return;
    this.exitAsked = true;
    this.send({ cmd: "gpe:exiting" });
  }

  /**
   * The last steps, once: the metrics file, then (after a graceful stop) the app's close(), then
   * worker_exit, both awaited until the graceful deadline (QUICK_EXIT_MS on a quick exit), then exit.
   */
  private finalExit(code: number, graceful = false): void {
    if (this.exiting) return;
    this.exiting = true;
    if (this.exitTimer) clearTimeout(this.exitTimer);
    if (this.s.metrics_enabled) {
      this.snapshot.stop();
      this.snapshot.write();
    }
    const deadline = graceful ? Math.max(this.stopDeadline, Date.now() + QUICK_EXIT_MS) : Date.now() + QUICK_EXIT_MS;
    void this.closeThenExit(code, graceful, deadline);
  }

  /** The app's close(), once: after the last request of a graceful stop. */
  private closeApp(): Promise<void> {
    this.appClosing ??= this.engine.close().catch((err: unknown) => {
      this.log.error({ err }, `the app's close() failed: ${(err as Error)?.message ?? String(err)}`);
    });
    return this.appClosing;
  }

  private async closeThenExit(code: number, graceful: boolean, deadline: number): Promise<void> {
    if (graceful && this.engine) {
      await finishWithin(this.closeApp(), deadline - Date.now(), () =>
        this.log.warn("the app's close() did not finish within graceful_timeout; cut"),
      );
    }
    const left = deadline - Date.now();
    await runHookWithin(this.hooks, "worker_exit", this.log, left, this.serverInfo, this.workerInfo);
    this.host.flushLogs();
    process.exit(code);
  }
}

/**
 * Settles when the app calls process.send("ready"), as PM2's wait_ready expects: the call still
 * reaches the master (which ignores it), so an app written for PM2 runs unchanged.
 */
function appSendsReady(): Promise<void> {
  return new Promise((resolve) => {
    const send = process.send!.bind(process);
    process.send = ((message: unknown, ...rest: unknown[]) => {
      if (message === "ready") resolve();
      return (send as (...args: unknown[]) => boolean)(message, ...rest);
    }) as typeof process.send;
  });
}

export async function runWorker(init: WorkerInitData): Promise<void> {
  const worker = new Worker(init);
  if (await worker.boot()) worker.serve();
}
