// A canary reload: canary_workers of the new generation serve beside the old generation, on live
// traffic, for canary_period (or until canary_min_requests have been served); then the two are
// compared on the same window, from figures the workers record anyway: the share of 5xx answers,
// and a latency quantile. The canary is promoted (the other slots roll) or rolled back (its
// workers drain, the old generation serves on). This file holds the window and the judgement;
// the arbiter starts and ends the workers.
import { combine, errorShare, latencyQuantile, noFigures, type RequestFigures } from "../contracts/request-figures.js";

export interface CanaryPolicy {
  periodMs: number;
  /** The canary may be judged before the period ends once it served this many requests (0: never). */
  minRequests: number;
  /** The canary's 5xx share may exceed the old generation's by this many percentage points. */
  maxErrorPoints: number;
  /** The canary's latency quantile may be this many times the old generation's. */
  maxLatencyRatio: number;
  /** Which latency quantile: 0.95 for p95. */
  quantile: number;
}

/** Where a canary stands: the figures of both sides over the window so far. */
export interface CanaryFigures {
  canary: RequestFigures;
  baseline: RequestFigures;
}

export interface Verdict {
  promote: boolean;
  /** The figures, as the log line and `reload --wait` print them. */
  why: string;
}

/** A worker's figures as they stood when the window opened for it; later readings count from there. */
export class CanaryWindow {
  readonly startedAt: number;
  private readonly from = new Map<number, RequestFigures>();

  constructor(
    readonly generation: number,
    /** The generation it is compared with. */
    readonly baseline: number,
    now: number,
  ) {
    this.startedAt = now;
  }

  /** Counts from here for `pid` (an old worker when the canary starts, a canary worker once it serves). */
  open(pid: number, figures: RequestFigures): void {
    if (!this.from.has(pid)) this.from.set(pid, figures);
  }

  /**
   * Both sides' figures since the window opened, from the current readings of their workers. A
   * worker the window never opened for (one that started since) counts from zero.
   */
  figures(readings: ReadonlyMap<number, RequestFigures>, generationOf: (pid: number) => number): CanaryFigures {
    let canary = noFigures();
    let baseline = noFigures();
    for (const [pid, now] of readings) {
      const since = combine(now, this.from.get(pid) ?? noFigures(now.bounds), -1);
      const generation = generationOf(pid);
      if (generation === this.generation) canary = combine(canary, since);
      else if (generation === this.baseline) baseline = combine(baseline, since);
    }
    return { canary, baseline };
  }

  /** Time to judge: the period is over, or the canary has served enough. */
  due(now: number, f: CanaryFigures, p: CanaryPolicy): boolean {
    return now - this.startedAt >= p.periodMs || (p.minRequests > 0 && f.canary.requests >= p.minRequests);
  }
}

/** Latency differences smaller than this never roll a canary back: noise on fast handlers. */
const LATENCY_FLOOR_S = 0.01;

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;
const ms = (seconds: number | null) => (seconds === null ? "n/a" : `${Math.round(seconds * 1000)} ms`);

/** Promote or roll back, with the figure that decided it first. */
export function judge({ canary, baseline }: CanaryFigures, p: CanaryPolicy): Verdict {
  const q = `p${Math.round(p.quantile * 100)}`;
  const cShare = errorShare(canary);
  const bShare = errorShare(baseline);
  const errors = `5xx ${percent(cShare)} of ${canary.requests} requests against ${percent(bShare)}`;
  if (cShare - bShare > p.maxErrorPoints / 100)
    return {
      promote: false,
      why: `${errors} (at most ${p.maxErrorPoints} ${p.maxErrorPoints === 1 ? "point" : "points"} more)`,
    };
  const cLatency = latencyQuantile(canary, p.quantile);
  const bLatency = latencyQuantile(baseline, p.quantile);
  const latency = `${q} ${ms(cLatency)} against ${ms(bLatency)}`;
  if (
    cLatency !== null &&
    bLatency !== null &&
    cLatency - bLatency > LATENCY_FLOOR_S &&
    cLatency > bLatency * p.maxLatencyRatio
  )
    return {
      promote: false,
      why: `${latency} (${bLatency > 0 ? (cLatency / bLatency).toFixed(1) : "∞"} x, at most ${p.maxLatencyRatio} x)`,
    };
  return { promote: true, why: `${errors}, ${latency}` };
}
