// `gpe-server reload --canary`: a signal carries no argument, so the command leaves the strategy it
// wants for the next reload in a file named after the master's pid, then sends HUP. The master
// takes the file at that reload (and removes it): only if its own user wrote it, recently, and it
// names a strategy it knows. Anything else is ignored with a warning.
import { readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { RELOAD_STRATEGIES } from "../config/settings-worker.js";

/** A request older than this is a leftover, not this reload's. */
const FRESH_MS = 60_000;

export const reloadRequestPath = (masterPid: number) => join(tmpdir(), `gpe-server-reload-${masterPid}.json`);

/** The command's side: asks master `pid` for `strategy` at its next reload. */
export function requestReload(pid: number, strategy: string): void {
  writeFileSync(reloadRequestPath(pid), JSON.stringify({ strategy }), { mode: 0o600 });
}

/** The master's side: the strategy asked for this reload, or null. */
export function takeReloadRequest(pid: number, log: Logger): string | null {
  const path = reloadRequestPath(pid);
  let text: string;
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
    text = readFileSync(path, "utf8");
    unlinkSync(path);
  } catch {
    return null; // none asked
  }
  const strategy = (() => {
    try {
      return (JSON.parse(text) as { strategy?: unknown }).strategy;
    } catch {
      return undefined;
    }
  })();
  const mine = typeof process.getuid !== "function" || stat.uid === process.getuid();
  if (!mine || Date.now() - stat.mtimeMs > FRESH_MS || !RELOAD_STRATEGIES.includes(strategy as never)) {
    log.warn(`ignored a reload request in ${path}: not this user's, too old, or no known strategy`);
    return null;
  }
  return strategy as string;
}
