// The words the master and the metrics use for a worker's life: its states, why it was replaced,
// and the signals the master counts.
export const WORKER_STATES = ["booting", "running", "quitting", "aborting"] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

export const RESTART_REASONS = [
  "crash",
  "signal",
  "timeout",
  "max_requests",
  "memory",
  "reload",
  "scale_down",
  "boot_error",
] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

export const COUNTED_SIGNALS = ["HUP", "USR1", "USR2", "CHLD", "TTIN", "TTOU", "TERM", "INT", "QUIT"] as const;

/** A worker slot's name: the `worker_id` label, and GPE_WORKER_ID in the worker's environment. */
export const slotLabel = (slot: number): string => `worker_${slot}`;

/**
 * With capture_output a worker's stdout and stderr are pipes to the master; its own error log
 * ('-') goes to this descriptor, the master's stderr, so that it is not captured twice.
 */
export const MASTER_STDERR_FD = 5;
