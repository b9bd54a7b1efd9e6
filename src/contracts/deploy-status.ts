// What the master tells of deploys (reloads): the one under way, and how the last one ended. The
// status page, `gpe-server status` and `reload --wait` read it; the metrics show its figures.

export const RELOAD_OUTCOMES = ["promoted", "rolled_back", "boot_failed"] as const;
export type ReloadOutcome = (typeof RELOAD_OUTCOMES)[number];

/** One side of a canary's comparison, over the window so far. */
export interface SideFigures {
  requests: number;
  /** 0..1 */
  errorShare: number;
  /** The compared latency quantile, in seconds; null without requests. */
  latency: number | null;
}

export interface DeployInProgress {
  generation: number;
  strategy: string;
  phase: "canary" | "rolling" | "starting";
  /** The canary's figures against the old generation's (canary phase only). */
  canary: SideFigures | null;
  baseline: SideFigures | null;
  /** Which quantile `latency` is: 0.95 for p95. */
  quantile: number;
  /** Seconds until the canary is judged at the latest. */
  secondsLeft: number | null;
}

export interface DeployRecord {
  /** Counts every ended reload: `reload --wait` watches it move. */
  seq: number;
  generation: number;
  strategy: string;
  outcome: ReloadOutcome;
  why: string;
  at: number;
}

export interface DeployStatus {
  current: number;
  inProgress: DeployInProgress | null;
  last: DeployRecord | null;
}
