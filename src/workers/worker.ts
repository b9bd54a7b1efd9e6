// A worker process: boots the app, takes its listening sockets from the master, serves, proves it
// is alive with heartbeats, records metrics, and stops the way gunicorn's workers do
// (TERM graceful, INT/QUIT quick, ABRT when the master found it hung).
import { LoadProbe } from "./load-probe.js";
import { onUncaughtAppError } from "./uncaught.js";
import type { Socket } from "node:net";
import { createLogger } from "../logging/logger.js";
import { createAccessLog } from "../logging/access-log.js";
import { loadHooks, runHook, runHookSync, type Hooks } from "../config/hooks.js";
import { socketErrorText } from "../config/bind.js";
import { loadApp } from "../app/loader.js";
import { AcceptFront } from "./accept-front.js";
import { ProcessEngine, type Engine, type EngineContext } from "./process-engine.js";
import { WorkerSnapshot, findAppRegistries } from "../metrics/worker-snapshot.js";
import { isProtocolMessage, type ToMaster, type ToWorker } from "../contracts/messages.js";
import { EXIT_APP_LOAD_ERROR, EXIT_BOOT_ERROR, EXIT_UNCAUGHT } from "../contracts/exit-codes.js";
import type { WorkerInitData } from "../config/settings.js";
import { parseAppSpec } from "../app/loader.js";

export async function runWorker(init: WorkerInitData): Promise<void> {
  const s = init.settings;
  process.title = `gpe-server: worker [${init.procName}]`;
  const { log, reopen, flush: flushLog } = createLogger({ errorlog: s.errorlog, loglevel: s.loglevel, bindings: { role: "worker", slot: init.slot } });

  const send = (message: ToMaster, handle?: Socket): void => {
    if (process.connected) process.send!(message, handle as never, { keepOpen: false } as never);
  };

  /** Tells the master why this worker cannot serve; exits once the message had a moment to leave. */
  const failBoot = (message: string, exit: () => void): void => {
    send({ cmd: "gpe:boot-error", message });
    flushLog();
    setTimeout(exit, 50);
  };

  // Messages can arrive before the app is loaded; hold them until there is something to give them to.
  const early: [ToWorker, unknown][] = [];
  let onMessage: (m: ToWorker, handle: unknown) => void = (m, handle) => early.push([m, handle]);
  process.on("message", (m: unknown, handle: unknown) => {
    if (isProtocolMessage(m)) onMessage(m as ToWorker, handle);
  });

  let hooks: Hooks = {};
  try {
    hooks = await loadHooks(init.configPath);
  } catch (err) {
    log.warn({ err }, "could not load hooks from the config file");
  }
  const workerInfo = { pid: process.pid, ppid: init.masterPid, slot: init.slot, age: init.age, workerClass: init.workerClass, log };
  const serverInfo = { pid: init.masterPid, settings: s, log };
  await runHook(hooks, "post_fork", log, serverInfo, workerInfo);

  let engine: Engine;
  let handled = 0;
  let retiring = false;
  let front: AcceptFront | null = null;
  /** What the process exits with once it has stopped: 0, or the code of a crash that stopped it. */
  let exitCode = 0;
  const accessLog = s.accesslog ? createAccessLog(s.accesslog, s.access_log_format) : null;
  const ctx: EngineContext = {
    init, log, hooks, accessLog, workerInfo,
    onRequestDone: () => requestDone(),
    onRoomChanged: () => roomChanged(),
    crashed: (code) => {
      exitCode = code;
      gracefulStop();
    },
  };
  try {
    if (init.workerClass === "thread") {
      const { ThreadEngine } = await import("./thread-engine.js");
      engine = new ThreadEngine(ctx);
    } else {
      engine = new ProcessEngine(await loadApp(init.app, init.cwd), ctx);
    }
    await engine.start();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.error({ err }, `worker failed to boot: ${message}`);
    failBoot(message, () => process.exit(err instanceof Error && err.name === "AppLoadError" ? EXIT_APP_LOAD_ERROR : EXIT_BOOT_ERROR));
    return;
  }
  await runHook(hooks, "post_worker_init", log, workerInfo);

  const snapshot = new WorkerSnapshot(
    s.multiproc_dir, init.slot, s.metrics_flush_interval,
    () => engine.families(),
    s.metrics_enabled ? await findAppRegistries(parseAppSpec(init.app).file) : [],
    log,
    () => engine.extraUserFamilies(),
  );
  if (s.metrics_enabled) await snapshot.start();

  front = new AcceptFront(engine, send, init.workerClass === "async");
  let stopping = false;
  let exitTimer: NodeJS.Timeout | null = null;

  function requestDone(): void {
    handled++;
    if (init.maxRequests > 0 && handled >= init.maxRequests && !retiring) {
      retiring = true;
      log.info(`served ${handled} requests (max_requests), retiring`);
      send({ cmd: "gpe:retire", reason: "max_requests" });
      gracefulStop();
    }
    roomChanged();
  }

  function roomChanged(): void {
    if (stopping) maybeExit();
    else front?.roomChanged();
  }

  function finalExit(code: number): void {
    if (exitTimer) clearTimeout(exitTimer);
    if (s.metrics_enabled) {
      snapshot.stop();
      snapshot.write();
    }
    runHookSync(hooks, "worker_exit", log, serverInfo, workerInfo);
    accessLog?.flush();
    flushLog();
    process.exit(code);
  }

  // A connection the master handed over may still be in the IPC pipe when this worker becomes
  // idle; exiting then would reset it. So an idle stopping worker asks first, and the master's
  // answer comes after every connection it sent (IPC messages arrive in order).
  let exitAsked = false;
  let exitAgreed = false;
  function maybeExit(): void {
    if (engine.active !== 0 || engine.connections !== 0) return;
    if (exitAgreed || !process.connected) return finalExit(exitCode);
    if (exitAsked) return;
    exitAsked = true;
    send({ cmd: "gpe:exiting" });
  }

  function gracefulStop(): void {
    if (stopping) return;
    stopping = true;
    front?.close();
    engine.beginStop();
    // Close keep-alive connections as they go idle; exit once nothing is left.
    const sweep = setInterval(() => {
      engine.beginStop();
      maybeExit();
    }, 100);
    sweep.unref();
    exitTimer = setTimeout(() => {
      log.warn(`graceful timeout: ${engine.active} requests still in flight`);
      finalExit(exitCode);
    }, s.graceful_timeout * 1000);
    maybeExit();
  }

  // An error the app throws outside any request: write the metrics and exit; the master replaces
  // the worker (with a backoff if it keeps happening).
  onUncaughtAppError(log, (err) => engine.uncaught(err), () => finalExit(EXIT_UNCAUGHT));

  process.on("SIGTERM", gracefulStop);
  process.on("SIGHUP", gracefulStop);
  const quickStop = () => {
    runHookSync(hooks, "worker_int", log, workerInfo);
    finalExit(0);
  };
  process.on("SIGINT", quickStop);
  process.on("SIGQUIT", quickStop);
  process.on("SIGUSR1", () => {
    reopen();
    accessLog?.reopen();
  });
  process.on("SIGABRT", () => {
    runHookSync(hooks, "worker_abort", log, workerInfo);
    finalExit(1);
  });
  // The master is gone (its IPC channel closed): no orphan keeps serving stale code.
  process.on("disconnect", () => {
    log.warn("master went away; stopping");
    gracefulStop();
    setTimeout(() => finalExit(0), Math.min(s.graceful_timeout, 5) * 1000).unref();
  });

  const heartbeatMs = s.timeout > 0 ? Math.max(100, Math.min(1000, (s.timeout * 1000) / 4)) : 1000;
  const probe = new LoadProbe(heartbeatMs);
  setInterval(() => send({ cmd: "gpe:hb", inFlight: engine.active, ...probe.sample(), storeWriteErrors: snapshot.writeErrors }), heartbeatMs).unref();

  let listening = Promise.resolve();
  onMessage = (m, handle) => {
    switch (m.cmd) {
      case "gpe:listen": {
        const address = m.address;
        listening = listening.then(() =>
          front!.listen(handle as object, m.backlog).catch((err: NodeJS.ErrnoException) => {
            throw new Error(`cannot listen on ${address}: ${socketErrorText(err)}`);
          }),
        );
        // A failure is reported once, when the last listener's message has come: until then
        // nothing awaits this promise, and an unhandled rejection would read as the app's crash.
        listening.catch(() => {});
        if (m.last) {
          listening.then(
            () => send({ cmd: "gpe:ready" }),
            (err: Error) => {
              log.error(err.message);
              failBoot(err.message, () => finalExit(EXIT_BOOT_ERROR));
            },
          );
        }
        break;
      }
      case "gpe:conn":
        front!.received(handle as Socket, m.more);
        break;
      case "gpe:wanted":
        front?.wanted();
        break;
      case "gpe:exit-ok":
        exitAgreed = true;
        maybeExit();
        break;
      case "gpe:flush":
        // Before a scrape: the hot-path counters, written now; the app's registry is re-read on
        // the flush interval, so the master never waits on its (possibly async) collectors.
        if (!s.metrics_enabled) break;
        snapshot.write();
        send({ cmd: "gpe:reply", seq: m.seq, inFlight: engine.active });
        break;
    }
  };
  for (const [m, handle] of early.splice(0)) onMessage(m, handle);
  send({ cmd: "gpe:booted" });
}
