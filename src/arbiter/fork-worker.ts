// Forking one worker process: what it is told at birth (WorkerInit, in its environment) and how it
// is started. The worker's entry point is a path, not an import: the master loads nothing of it.
import { type ChildProcess, fork } from "node:child_process";
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withoutHooks } from "../config/hook-runner.js";
import type { Settings, WorkerInitData } from "../config/settings.js";
import { slotLabel } from "../contracts/lifecycle.js";

const COMPILED_MAIN = fileURLToPath(new URL("../workers/process/main.js", import.meta.url));
const BUNDLED_MAIN = fileURLToPath(new URL("../workers/process/main.bundle.js", import.meta.url));

/** The bundle of the worker (the build makes it after tsc), unless it is older than the compiled modules. */
function workerMain(): string {
  try {
    return statSync(BUNDLED_MAIN).mtimeMs >= statSync(COMPILED_MAIN).mtimeMs ? BUNDLED_MAIN : COMPILED_MAIN;
  } catch {
    return COMPILED_MAIN;
  }
}

const WORKER_MAIN = workerMain();

export interface Birth {
  app: string;
  /** The working directory: its generation's release. */
  cwd: string;
  slot: number;
  age: number;
  configPath: string | null;
  procName: string;
  keepAliveExplicit: boolean;
  addresses: string[];
}

export function workerInit(s: Settings, b: Birth): WorkerInitData {
  const jitter =
    s.max_requests > 0 && s.max_requests_jitter > 0 ? Math.floor(Math.random() * (s.max_requests_jitter + 1)) : 0;
  return {
    app: b.app,
    slot: b.slot,
    age: b.age,
    workerClass: s.worker_class,
    settings: withoutHooks(s),
    configPath: b.configPath,
    maxRequests: s.max_requests > 0 ? s.max_requests + jitter : 0,
    masterPid: process.pid,
    procName: b.procName,
    cwd: b.cwd,
    keepAliveExplicit: b.keepAliveExplicit,
    addresses: b.addresses,
  };
}

/** The worker's environment: the master's, and its slot as the app sees it. */
function workerEnv(init: WorkerInitData): NodeJS.ProcessEnv {
  const s = init.settings;
  const instance = init.slot - 1;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GPE_WORKER_INIT: JSON.stringify(init),
    // Its release's real directory, as its working directory: not the `current` the shell named.
    PWD: init.cwd,
    // The app's view of its slot, kept by every replacement: PM2's 0-based name and the metrics label.
    NODE_APP_INSTANCE: String(instance),
    GPE_WORKER_ID: slotLabel(init.slot),
  };
  if (s.instance_var !== null) env[s.instance_var] = String(instance);
  if (s.increment_var !== null) {
    const base = Number(process.env[s.increment_var] ?? 0);
    env[s.increment_var] = String((Number.isFinite(base) ? base : 0) + instance);
  }
  return env;
}

export function forkWorker(init: WorkerInitData): ChildProcess {
  const captured = init.settings.capture_output;
  return fork(WORKER_MAIN, [], {
    env: workerEnv(init),
    cwd: init.cwd,
    // node_args: the workers' own Node flags (a preload, a heap size), after the master's.
    execArgv: [...process.execArgv, ...init.settings.node_args],
    // Descriptor 4 (STALL_FD) is the stall line: where a hung worker is asked why. Captured
    // output comes through pipes, and the worker's own log goes to MASTER_STDERR_FD.
    stdio: captured ? ["ignore", "pipe", "pipe", "ipc", "pipe", 2] : ["ignore", "inherit", "inherit", "ipc", "pipe"],
    serialization: "json",
  });
}
