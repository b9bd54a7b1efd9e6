// What the master's supervision shows its metrics exporter: a read-only view of the worker pool
// and of the connections waiting before it. The arbiter implements it; the exporter reads it.
import type { WorkerState } from "./lifecycle.js";
import type { DeployStatus } from "./deploy-status.js";

/** One TCP listening socket's accept queue, as the master reads it from the kernel. */
export interface ListenQueue {
  bind: string;
  length: number;
  max: number;
}

/** One worker process, as the master last heard of it. */
export interface WorkerView {
  pid: number;
  slot: number;
  state: WorkerState;
  /** Booting or running: not on its way out. */
  readonly live: boolean;
  stateSince: number;
  startedAt: number;
  lastHeartbeat: number;
  inFlight: number;
  /** Upgraded connections it holds open, as last reported. */
  upgraded: number;
  /** HTTP connections it keeps alive between requests, as last reported. */
  keptAlive: number;
  capacity: number;
  eventLoopUtilization: number;
  eventLoopLag: number;
  /** Its generation: 0 for the first, one more for each reload that started workers. */
  generation: number;
}

/** What the master knows about connections before they reach a worker. */
export interface QueueView {
  /** Connections the master holds for a worker with room. */
  queued(): number;
  listenQueues(): ListenQueue[];
}

/** How many workers the master keeps, and the bounds of an adaptive pool (null: a fixed pool). */
export interface PoolSizing {
  target: number;
  min: number | null;
  max: number | null;
}

export interface Readiness {
  ready: boolean;
  why: string;
}

/** The pool as the exporter sees it. */
export interface PoolView extends QueueView {
  workers(): readonly WorkerView[];
  /** Asks every responsive worker to write its metrics file now; resolves within `timeoutMs`. */
  flush(timeoutMs: number): Promise<void>;
  sizing(): PoolSizing;
  /** For /readyz: whether a load balancer should send traffic, and if not, why. */
  readiness(): Readiness;
  /** The deploy under way and the last one's end. */
  deploy(): DeployStatus;
}
