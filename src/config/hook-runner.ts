// Hooks come from the config file. A hook that throws is logged with its name and never takes the
// process down.
import type { Logger } from "pino";
import { normalizeKey } from "./keys.js";
import { HOOK_NAMES, type HookName } from "../contracts/hook-catalogue.js";

export type Hooks = Partial<Record<HookName, (...args: unknown[]) => unknown>>;

export function pickHooks(values: object): Hooks {
  const hooks: Hooks = {};
  for (const [key, value] of Object.entries(values)) {
    const name = normalizeKey(key);
    if ((HOOK_NAMES as readonly string[]).includes(name) && typeof value === "function") {
      hooks[name as HookName] = value as (...args: unknown[]) => unknown;
    }
  }
  return hooks;
}

/** The settings a worker needs: everything but the hooks (functions do not cross processes). */
export function withoutHooks<S extends object>(settings: S): Omit<S, HookName> {
  return Object.fromEntries(
    Object.entries(settings).filter(([k]) => !(HOOK_NAMES as readonly string[]).includes(k)),
  ) as Omit<S, HookName>;
}

export async function loadHooks(configPath: string | null): Promise<Hooks> {
  if (!configPath) return {};
  // Loaded here only: a worker started without a config file never needs the settings table.
  const { loadConfigFile } = await import("./load.js");
  return pickHooks((await loadConfigFile(configPath)).values);
}

/** Runs a hook; errors (thrown or rejected) are logged. Resolves when an async hook is done. */
export async function runHook(hooks: Hooks, name: HookName, log: Logger, ...args: unknown[]): Promise<void> {
  const hook = hooks[name];
  if (!hook) return;
  try {
    await hook(...args);
  } catch (err) {
    log.error({ err, hook: name }, `hook ${name} failed: ${(err as Error)?.message ?? String(err)}`);
  }
}

/** For hooks that must run synchronously (on the request path, in signal handling). */
export function runHookSync(hooks: Hooks, name: HookName, log: Logger, ...args: unknown[]): void {
  const hook = hooks[name];
  if (!hook) return;
  try {
    const result = hook(...args);
    if (result && typeof (result as Promise<unknown>).then === "function") {
      (result as Promise<unknown>).then(undefined, (err: unknown) =>
        log.error({ err, hook: name }, `hook ${name} failed`),
      );
    }
  } catch (err) {
    log.error({ err, hook: name }, `hook ${name} failed: ${(err as Error)?.message ?? String(err)}`);
  }
}

/**
 * Runs an awaited hook, but waits `ms` at most: a hook that overruns is logged and left behind
 * (the process exits without it). Resolves true when the hook finished in time.
 */
export async function runHookWithin(
  hooks: Hooks,
  name: HookName,
  log: Logger,
  ms: number,
  ...args: unknown[]
): Promise<boolean> {
  if (!hooks[name]) return true;
  return finishWithin(runHook(hooks, name, log, ...args), ms, () =>
    log.warn(`hook ${name} did not finish within ${ms} ms (graceful_timeout); cut`),
  );
}

/** Waits for `work` at most `ms`; `late` runs when time is up first. */
export async function finishWithin(work: Promise<unknown>, ms: number, late: () => void): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  const done = await Promise.race([work.then(() => true as const), timedOut]);
  clearTimeout(timer);
  if (!done) late();
  return done;
}
