// The stall line between the master and a worker: a socket pair set up at fork, on the worker's
// descriptor STALL_FD. The master writes "probe" (or "probe+504": also answer the stuck requests
// 504) and reads back one line, a JSON array of StallReport.

export const STALL_FD = 4;

/** One request as the WORKER TIMEOUT line shows it. */
export interface RunningRequest {
  method: string;
  url: string;
  /** How long it has run. */
  ms: number;
}

export interface StallReport {
  /** "main", or "thread N" of a thread worker. */
  thread: string;
  /** Innermost first, as V8 prints a stack. */
  frames: string[];
  inFlight: RunningRequest[];
  /** Why there is no stack: the thread never paused (blocked outside JavaScript), or the probe failed. */
  error?: string;
}
