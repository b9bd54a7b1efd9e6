// The words the master and the metrics use for a worker's life: its states, why it was replaced,
// and the signals the master counts.
export const WORKER_STATES = ["booting", "running", "quitting", "aborting"] as const;
export type WorkerState = (typeof WORKER_STATES)[number];

export const RESTART_REASONS = [
  "crash",
  "signal",
  "timeout",
  "max_requests",
  "reload",
  "scale_down",
  "boot_error",
] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

export const COUNTED_SIGNALS = ["HUP", "USR1", "USR2", "CHLD", "TTIN", "TTOU", "TERM", "INT", "QUIT"] as const;
