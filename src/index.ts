// The package's public API: typed config files.
//   import { defineConfig } from "gpe-server";
//   export default defineConfig({ workers: 4, worker_class: "thread", threads: 2 });
import type { Settings } from "./config/settings.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { WorkerClass, WorkerClassAlias } from "./contracts/worker-class.js";
import type { HOOKS, HookArg, HookName } from "./contracts/hook-catalogue.js";
import type { Logger } from "pino";

/** The master, as master-side hooks see it (`server`). */
export interface HookServer {
  pid: number;
  settings: Settings;
  app: string;
  /** The master's logger (pino): lines go to the error log with the master's. */
  log: Logger;
  workers(): { pid: number; slot: number; age: number; state: string; startedAt: number }[];
}
/** The master, as worker-side hooks see it (`master`): its pid, and the settings it gave the worker. */
export interface HookMaster {
  pid: number;
  settings: Omit<Settings, HookName>;
  log: Logger;
}
/** The worker a worker-side hook runs in. */
export interface HookWorker {
  pid: number;
  /** The master's pid. */
  ppid: number;
  slot: number;
  age: number;
  workerClass: WorkerClass;
  log: Logger;
}

/** Each argument name of the hook catalogue, as the hook receives it. */
interface HookArgTypes {
  server: HookServer;
  master: HookMaster;
  worker: HookWorker;
  forking: { slot: number; age: number };
  exited: { pid: number; slot: number; age: number; state: string; startedAt: number };
  req: IncomingMessage;
  res: ServerResponse;
  newValue: number;
  oldValue: number;
}
type ArgsOf<A extends readonly HookArg[]> = { [K in keyof A]: A[K] extends HookArg ? HookArgTypes[A[K]] : never };
type Hooks = { [H in (typeof HOOKS)[number] as H["name"]]?: (...args: ArgsOf<H["args"]>) => unknown };

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

declare module "node:http" {
  interface IncomingMessage {
    /** gpe-server: the client, from X-Forwarded-For of a peer in forwarded_allow_ips; else the peer. */
    readonly clientAddress?: string;
    /** gpe-server: "https" when the connection is TLS or a trusted proxy says the client used it. */
    readonly clientProtocol?: "http" | "https";
  }
}

/** Names a request's route template for the per-route metrics, where gpe-server knows no router. */
export { setRoute } from "./contracts/route-name.js";
