// What the master does before it forks anything, in the order that needs root last: resolve the
// user to become, prepare the store, import the app (--preload), bind, write the pidfile, serve
// metrics, then drop privileges. Every failure is one readable line (StartupError).
import { chownSync } from "node:fs";
import type { Logger } from "pino";
import { loadApp } from "../app/loader.js";
import type { Settings } from "../config/settings.js";
import { resolveSettings, type Resolved } from "../config/load.js";
import { applyEnvironment } from "../config/environment.js";
import { autoWorkers } from "../config/cpu-budget.js";
import { checkNodeInternals, handleProblems } from "../platform/node-internals.js";
import { VERSION } from "../platform/version.js";
import type { MetricsExporter } from "../exporter/metrics-exporter.js";
import { closeBoundSockets, openBoundSockets, type BoundSocket } from "./bound-sockets.js";
import { Pidfile } from "./pidfile.js";
import { dropPrivileges, resolveIdentity, type Identity } from "../host/privileges.js";

export class StartupError extends Error {}

/** Runs `step`; what it throws becomes a StartupError with the same message. */
async function step<T>(run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
}

export async function prepareMaster(o: {
  settings: Settings;
  app: string;
  log: Logger;
  exporter: MetricsExporter;
  /** Sockets passed on by a USR2 predecessor, which also leaves the store to us. */
  inherited?: { listeners: BoundSocket[]; metricsHandle: object | null } | undefined;
}): Promise<{ listeners: BoundSocket[]; pidfile: Pidfile | null }> {
  const s = o.settings;
  const identity: Identity | null = await step(() => resolveIdentity(s.user, s.group));
  await step(() => o.exporter.prepareStore({ clean: !o.inherited, owner: identity ?? undefined }));
  if (s.preload_app) await step(() => loadApp(o.app));
  const listeners = await step(async () => {
    const opened = o.inherited?.listeners ?? (await openBoundSockets(s.bind));
    checkNodeInternals(opened.flatMap((l) => handleProblems(l.handle)));
    return opened;
  });
  let pidfile: Pidfile | null = null;
  try {
    if (s.pidfile) {
      pidfile = new Pidfile(s.pidfile);
      pidfile.create(process.pid);
    }
    await o.exporter.listen(listeners, o.inherited?.metricsHandle ?? null);
    if (identity) {
      // Everything that needs root is done: sockets bound, pidfile written. The error log stays
      // writable (and reopenable on USR1) by the new user.
      if (s.errorlog !== "-") chownSync(s.errorlog, identity.uid, identity.gid);
      dropPrivileges(identity);
      o.log.info(`Dropped privileges to ${identity.label}`);
    }
  } catch (err) {
    closeBoundSockets(listeners);
    pidfile?.unlink(process.pid);
    throw new StartupError((err as Error).message);
  }
  announce(o.log, s, listeners);
  return { listeners, pidfile };
}

/** gunicorn's start-up lines: the version, each address, the worker type. */
function announce(log: Logger, s: Settings, listeners: readonly BoundSocket[]): void {
  log.info(`Starting gpe-server ${VERSION}`);
  for (const l of listeners) {
    const shown = l.bind.kind === "tcp" ? `http${s.certfile ? "s" : ""}://${l.address}` : l.address;
    log.info(`Listening at: ${shown} (${process.pid})`);
  }
  const auto = autoWorkers();
  log.info(`Using worker: ${s.worker_class}${auto ? ` x ${auto.count} (workers = auto: ${auto.why})` : ""}`);
}

/** The idle timeout of the load balancers most deployments sit behind (AWS ALB, nginx upstreams). */
const BALANCER_IDLE_S = 60;
const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/**
 * One warning line, or null: the default keep-alive (a few seconds) behind a balancer on another
 * host. A balancer that keeps its connections idle longer sends a request down one the worker is
 * closing, and answers its client 502; only an idle timeout longer than the balancer's avoids it.
 */
export function idleTimeoutAdvice(s: Settings, keepAliveExplicit: boolean): string | null {
  if (keepAliveExplicit || s.worker_class === "sync" || s.keepalive >= BALANCER_IDLE_S) return null;
  const remote = (list: readonly string[]) => list.some((a) => !LOOPBACK.has(a));
  const behind = remote(s.forwarded_allow_ips) || (s.proxy_protocol && remote(s.proxy_allow_ips));
  if (!behind) return null;
  return `keep-alive is ${s.keepalive} s behind a proxy on another host: a load balancer that keeps idle connections longer (AWS ALB: 60 s) will now and then send a request on a connection the worker is closing and answer its client 502. Set --keep-alive above the balancer's idle timeout (65 for an ALB; docs/deployment.md)`;
}

/** HUP's new settings, or null (logged) when the config no longer loads: the current ones stay. */
export async function rereadSettings(
  cli: Record<string, unknown>,
  listeners: readonly BoundSocket[],
  log: Logger,
): Promise<Resolved | null> {
  try {
    const resolved = await resolveSettings({ cli });
    if (resolved.settings.bind.join() !== listeners.map((l) => l.bind.text).join())
      log.warn("bind addresses changed in the config; they take effect at the next full restart");
    for (const warning of resolved.warnings) log.warn(warning);
    // Env files and an ecosystem's env are read again: the new generation of workers gets them.
    applyEnvironment(resolved.environment);
    return resolved;
  } catch (err) {
    log.error(`reload: config not reloaded, keeping the current settings: ${(err as Error).message}`);
    return null;
  }
}
