// Messages between the master and its workers over the fork IPC channel.
import type { Settings } from "../config/settings.js";
import type { WorkerClass } from "./worker-class.js";

/** Passed to a worker in the GPE_WORKER_INIT environment variable. */
export interface WorkerInit {
  app: string;
  slot: number;
  age: number;
  workerClass: WorkerClass;
  /** The resolved settings without hooks (functions do not cross processes). */
  settings: Omit<Settings, HookName>;
  configPath: string | null;
  /** This worker's max_requests with its jitter already added; 0 = never recycle. */
  maxRequests: number;
  masterPid: number;
  procName: string;
  cwd: string;
  /** keepalive was set by the user: the sync worker then keeps connections open. */
  keepAliveExplicit: boolean;
}

export type HookName =
  | "on_starting" | "on_reload" | "when_ready" | "pre_fork" | "post_fork" | "post_worker_init"
  | "worker_int" | "worker_abort" | "pre_exec" | "pre_request" | "post_request" | "child_exit"
  | "worker_exit" | "nworkers_changed" | "on_exit";

export type ToWorker =
  | { cmd: "gpe:listen"; address: string; backlog: number; last: boolean } // + the listening handle
  | { cmd: "gpe:conn"; more: boolean } // + a socket handed off by a busy worker; more = others wait
  | { cmd: "gpe:wanted" } // connections wait in the master: say idle as soon as there is room
  | { cmd: "gpe:flush"; id: number }
  | { cmd: "gpe:exit-ok" }; // no connection follows this message: the worker may exit once idle

export type ToMaster =
  | { cmd: "gpe:booted" }
  | { cmd: "gpe:ready" }
  | { cmd: "gpe:boot-error"; message: string }
  | { cmd: "gpe:hb"; inFlight: number; elu: number; lag: number; storeWriteErrors: number }
  | { cmd: "gpe:handoff" } // + the socket
  | { cmd: "gpe:idle" } // it has room (said when the master asked, or after handing work off)
  | { cmd: "gpe:full" } // it has no room: send it no connection until it says idle
  | { cmd: "gpe:retire"; reason: "max_requests" }
  | { cmd: "gpe:flushed"; id: number; inFlight: number }
  | { cmd: "gpe:exiting" }; // idle while stopping: asks the master to stop sending connections

/** Exit codes with a meaning for the master (gunicorn uses 3 and 4 the same way). */
export const EXIT_BOOT_ERROR = 3;
export const EXIT_APP_LOAD_ERROR = 4;
/** The app threw outside any request's promise chain (uncaught exception, unhandled rejection). */
export const EXIT_UNCAUGHT = 70;

export const isProtocolMessage = (m: unknown): m is { cmd: string } =>
  typeof m === "object" && m !== null && typeof (m as { cmd?: unknown }).cmd === "string" && (m as { cmd: string }).cmd.startsWith("gpe:");
