// What hosts the user's app, in a process worker and in each app thread of a thread worker alike:
// the peer-address rule, the error and access logs, the hooks, the app itself and the registries
// of its own prom-client metrics. Both start here, so a change to how an app is hosted is made once.
import { resolve } from "node:path";
import type { Logger } from "pino";
import { loadApp, parseAppSpec, type LoadedApp } from "../../app/loader.js";
import { loadHooks, type Hooks } from "../../config/hook-runner.js";
import type { WorkerInitData } from "../../config/settings.js";
import { MASTER_STDERR_FD } from "../../contracts/lifecycle.js";
import { createAccessLog, type AccessLog } from "../../logging/access-log.js";
import { createLogger } from "../../logging/logger.js";
import { AppRegistries } from "../../metrics/worker-snapshot.js";
import { installClientAddress } from "../connections/client-address.js";

export interface AppHost {
  readonly log: Logger;
  readonly accessLog: AccessLog | null;
  /** USR1 or a rotation moved the files away: both logs write to new ones. */
  reopenLogs(): void;
  /** Before an exit: what the logs hold in memory is written. */
  flushLogs(): void;
  /** The hooks of the config file; none when it has none or they fail to load (logged when `warn`). */
  hooks(options: { warn: boolean }): Promise<Hooks>;
  /** The app, loaded where the worker runs: a self-listening app is told the first bound address. */
  app(): Promise<LoadedApp>;
  /** The prom-client registries the app's module graph holds; null when metrics are off. */
  registries(): AppRegistries | null;
}

/** Opens what an app host needs; `thread` is the index of an app thread (bound into its log lines). */
export function openAppHost(init: WorkerInitData, thread?: number): AppHost {
  const s = init.settings;
  installClientAddress(s.forwarded_allow_ips);
  const logger = createLogger({
    errorlog: s.errorlog,
    loglevel: s.loglevel,
    format: s.log_format,
    lazy: true,
    stderrFd: s.capture_output ? MASTER_STDERR_FD : 2,
    bindings: thread === undefined ? { role: "worker", slot: init.slot } : { role: "worker", slot: init.slot, thread },
  });
  const accessLog = s.accesslog ? createAccessLog(s.accesslog, s.access_log_format) : null;
  return {
    log: logger.log,
    accessLog,
    reopenLogs() {
      logger.reopen();
      accessLog?.reopen();
    },
    flushLogs() {
      accessLog?.flush();
      logger.flush();
    },
    async hooks({ warn }) {
      try {
        return await loadHooks(init.configPath);
      } catch (err) {
        if (warn) logger.log.warn({ err }, "could not load hooks from the config file");
        return {};
      }
    },
    app: async () => {
      // app_args (PM2's args): the app finds them after its own path, as if node had started it.
      if (s.app_args.length > 0)
        process.argv = [process.argv[0]!, resolve(init.cwd, parseAppSpec(init.app).file), ...s.app_args];
      // A script that exports nothing may take as long as a request to call listen().
      const app = await loadApp(init.app, init.cwd, {
        bound: init.addresses[0],
        listenWaitMs: (s.timeout || 30) * 1000,
      });
      // Its ready() export: a connection pool opened, a cache loaded, before any request comes.
      if (app.ready) {
        try {
          await app.ready();
        } catch (err) {
          throw new Error(`the app's ready() failed: ${(err as Error)?.message ?? err}`);
        }
      }
      return app;
    },
    registries: () => (s.metrics_enabled ? new AppRegistries(parseAppSpec(init.app).file) : null),
  };
}
