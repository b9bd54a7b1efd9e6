// The package's public API: typed config files.
//   import { defineConfig } from "gpe-server";
//   export default defineConfig({ workers: 4, worker_class: "thread", threads: 2 });
import type { Settings } from "./config/settings.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { WorkerClass, WorkerClassAlias } from "./contracts/worker-class.js";
import type { Logger } from "pino";

export interface HookServer {
  pid: number;
  settings: Settings;
  app: string;
  /** The master's logger (pino): lines go to the error log with the master's. */
  log: Logger;
  workers(): { pid: number; slot: number; age: number; state: string; startedAt: number }[];
}
export interface HookWorker {
  pid: number;
  slot: number;
  age: number;
}

type Hooks = {
  on_starting?: (server: HookServer) => unknown;
  on_reload?: (server: HookServer) => unknown;
  when_ready?: (server: HookServer) => unknown;
  pre_fork?: (server: HookServer, worker: { slot: number; age: number }) => unknown;
  post_fork?: (server: HookServer, worker: HookWorker) => unknown;
  post_worker_init?: (worker: HookWorker) => unknown;
  worker_int?: (worker: HookWorker) => unknown;
  worker_abort?: (worker: HookWorker) => unknown;
  pre_exec?: (server: HookServer) => unknown;
  pre_request?: (worker: HookWorker, req: IncomingMessage) => unknown;
  post_request?: (worker: HookWorker, req: IncomingMessage, res: ServerResponse) => unknown;
  child_exit?: (server: HookServer, worker: HookWorker) => unknown;
  worker_exit?: (server: HookServer, worker: HookWorker) => unknown;
  nworkers_changed?: (server: HookServer, newValue: number, oldValue: number) => unknown;
  on_exit?: (server: HookServer) => unknown;
};

type SnakeToCamel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<SnakeToCamel<T>>}` : S;
type Plain = Omit<Settings, keyof Hooks | "config" | "worker_class"> & { worker_class: WorkerClass | WorkerClassAlias };

/** What a config file may export: gunicorn's setting names (or their camelCase spelling) and hooks. */
export type Config = Partial<Plain> &
  Partial<{ [K in keyof Plain as SnakeToCamel<K & string>]: Plain[K] }> &
  Hooks &
  Partial<{ [K in keyof Hooks as SnakeToCamel<K & string>]: Hooks[K] }>;

export function defineConfig(config: Config): Config {
  return config;
}
