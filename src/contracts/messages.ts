// Messages between the master and its workers over the fork IPC channel.
import type { WorkerClass } from "./worker-class.js";

/**
 * Passed to a worker in the GPE_WORKER_INIT environment variable. `S` is the resolved settings
 * without hooks (functions do not cross processes); config/ names it, this leaf does not.
 */
export interface WorkerInit<S = Record<string, unknown>> {
  app: string;
  slot: number;
  age: number;
  workerClass: WorkerClass;
  settings: S;
  configPath: string | null;
  /** This worker's max_requests with its jitter already added; 0 = never recycle. */
  maxRequests: number;
  masterPid: number;
  procName: string;
  cwd: string;
  /** keepalive was set by the user: the sync worker then keeps connections open. */
  keepAliveExplicit: boolean;
  /** The addresses the master bound, as shown in its log: a self-listening app is told the first. */
  addresses: string[];
}

/** A request that expects one reply: `seq` is echoed by the reply, so each reply finds its request. */
export type ToWorkerRequest = { cmd: "gpe:flush"; seq: number };

export type ToWorker =
  | { cmd: "gpe:listen"; address: string; backlog: number; last: boolean } // + the listening handle
  | { cmd: "gpe:conn"; more: boolean; waited: number } // + a socket handed off by a busy worker; more = others wait; waited = ms in the master
  | { cmd: "gpe:wanted" } // connections wait in the master: say idle as soon as there is room
  | { cmd: "gpe:shed"; count: number } // close this many kept-alive connections after their next response
  | ToWorkerRequest
  | { cmd: "gpe:exit-ok" }; // no connection follows this message: the worker may exit once idle

/** The reply to a ToWorkerRequest, with its `seq`. */
export type ToMasterReply = { cmd: "gpe:reply"; seq: number; inFlight: number };

export type ToMaster =
  | { cmd: "gpe:booted" }
  | { cmd: "gpe:ready" }
  | { cmd: "gpe:boot-error"; message: string }
  | {
      cmd: "gpe:hb";
      inFlight: number;
      /** Upgraded connections (WebSocket) it holds open. */
      upgraded: number;
      /** Connections kept alive between requests (HTTP/1.1 keep-alive) it holds open. */
      keptAlive: number;
      elu: number;
      lag: number;
      storeWriteErrors: number;
      /** Thread worker: how long its most blocked app thread has not run (its main thread still beats). */
      blockedMs: number;
    }
  | { cmd: "gpe:handoff" } // + the socket
  | { cmd: "gpe:conns"; open: number } // its kept-alive connections changed: how many it holds now
  | { cmd: "gpe:idle" } // it has room (said when the master asked, or after handing work off)
  | { cmd: "gpe:full" } // it has no room: send it no connection until it says idle
  | { cmd: "gpe:retire"; reason: "max_requests"; served: number }
  | { cmd: "gpe:retire-soon" } // near max_requests: the master boots its replacement now
  | ToMasterReply
  | { cmd: "gpe:exiting" }; // idle while stopping: asks the master to stop sending connections

export const isProtocolMessage = (m: unknown): m is { cmd: string } =>
  typeof m === "object" &&
  m !== null &&
  typeof (m as { cmd?: unknown }).cmd === "string" &&
  (m as { cmd: string }).cmd.startsWith("gpe:");
