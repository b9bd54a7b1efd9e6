// What a worker asks of its engine, the part that differs by worker type: the process's own event
// loop (sync, async: process-engine.ts) or a pool of threads (thread-engine.ts).
import type { Logger } from "pino";
import type { Hooks } from "../../config/hook-runner.js";
import type { WorkerInitData } from "../../config/settings.js";
import type { AccessLog } from "../../logging/access-log.js";
import type { FamilyJSON } from "../../metrics/family.js";
import type { Admission } from "../connections/accept-front.js";
import type { StallReport } from "../stall/stall-probe.js";
import type { ConnectionShare } from "../connections/connection-share.js";

export interface EngineContext {
  init: WorkerInitData;
  log: Logger;
  hooks: Hooks;
  accessLog: AccessLog | null;
  /** The object hooks receive as `worker`. */
  workerInfo: object;
  /** A request finished (counts towards max_requests). */
  onRequestDone(): void;
  /** A connection closed or started its first request: there may be room for another. */
  onRoomChanged(): void;
  /** Part of the engine died (a thread of a thread worker): finish what is in flight, exit with `code`. */
  crashed(code: number): void;
  /** Async workers (not --sticky): reports kept-alive connections to the master, closes some when asked. */
  share: ConnectionShare | null;
  /** Connections waiting in the kernel to be accepted on the worker's listening sockets. */
  listenBacklog(): number;
}

export interface Engine extends Admission {
  start(): Promise<void>;
  /** Requests being handled now (queued inside the worker included). */
  readonly active: number;
  /** Connections open now. */
  readonly connections: number;
  /** Upgraded connections (WebSocket) open now, where the engine takes upgrades. */
  readonly upgraded?: number;
  /** Connections kept alive between requests now, where the engine keeps them (sync, async). */
  readonly keptAlive?: number;
  /** Calls `run` once, as the first connection arrives, before any of its requests is read. */
  beforeFirstConnection?(run: () => void): void;
  /** Stop keeping connections alive; idle ones are closed. */
  beginStop(): void;
  /** After the last request: the app's close(), where it has one (in every thread of a thread worker). */
  close(): Promise<void>;
  /** The worker's own metric families (requests, durations, failures). */
  families(): FamilyJSON[];
  /** Counts an error the app threw outside any request, where the app runs on this thread. */
  uncaught?(err: unknown): void;
  /** Thread worker: where its app threads are stuck (the main thread of the others is probed from a stall thread). */
  probeThreads?(answer: boolean): Promise<StallReport[]>;
  /** Thread worker: how long its most blocked app thread's event loop has not run, in ms. */
  blockedMs?(): number;
  /** Thread worker: its app threads reopen their access logs (USR1, a rotation). */
  reopenLogs?(): void;
  /** App metric families gathered elsewhere than this thread's registry (the threads'). */
  threadFamilies?(): FamilyJSON[];
}
