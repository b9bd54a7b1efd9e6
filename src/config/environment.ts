// The environment the master and its workers run with: the real one (as the master found it at
// start), env files below it, and a PM2 ecosystem app's env blocks over it. Workers inherit the
// master's process.env at fork, so what is applied here reaches every new worker; HUP applies it
// again from the same real environment, so a variable removed from a file is gone from the next
// generation of workers.
import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { SettingError } from "./validators.js";

/** The environment as the process found it, before anything here was applied. */
let real: NodeJS.ProcessEnv | null = null;

/** The real environment: what settings are read from, and what applied layers start from. */
export function realEnvironment(): NodeJS.ProcessEnv {
  return real ?? process.env;
}

/** The variables of dotenv files, a later file over an earlier one; a missing or unreadable file is a bad setting. */
export function readEnvFiles(files: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new SettingError(`env_file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
    Object.assign(out, parseEnv(text));
  }
  return out;
}

/** The environment to run with: files below the real environment, the app's own blocks over it. */
export function layeredEnvironment(
  env: NodeJS.ProcessEnv,
  below: Record<string, string>,
  over: Record<string, string>,
): NodeJS.ProcessEnv {
  return { ...below, ...env, ...over };
}

/** Variables set here by the last call, to take back when a file or block no longer holds them. */
let applied = new Set<string>();

/**
 * Sets in process.env what `env` adds to or changes from the real environment, and takes back what
 * an earlier call set that `env` no longer holds. Variables anything else set are left alone.
 */
export function applyEnvironment(env: NodeJS.ProcessEnv): void {
  real ??= { ...process.env };
  const now = new Set<string>();
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || value === real[key]) continue;
    process.env[key] = value;
    now.add(key);
  }
  for (const key of applied) {
    if (now.has(key)) continue;
    if (real[key] === undefined) delete process.env[key];
    else process.env[key] = real[key];
  }
  applied = now;
}
