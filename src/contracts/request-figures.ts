// What one worker (or a set of them) has answered: requests, 5xx answers, and its latency
// histogram. The exporter reads them from the workers' store files; a canary compares those of two
// generations over the same window. Pure arithmetic on plain objects.

export interface RequestFigures {
  requests: number;
  /** 5xx answers (the app's errors and those the worker wrote itself). */
  errors: number;
  /** Upper bounds of the latency buckets, in seconds, ascending (+Inf last). */
  bounds: number[];
  /** Requests at or under each bound (cumulative, as Prometheus's buckets). */
  cumulative: number[];
}

export const noFigures = (bounds: number[] = []): RequestFigures => ({
  requests: 0,
  errors: 0,
  bounds,
  cumulative: bounds.map(() => 0),
});

/** a + b (or a - b with sign -1); bucket lists of another shape are left out. */
export function combine(a: RequestFigures, b: RequestFigures, sign: 1 | -1 = 1): RequestFigures {
  const bounds = a.bounds.length > 0 ? a.bounds : b.bounds;
  const same = a.bounds.length === b.bounds.length;
  return {
    requests: a.requests + sign * b.requests,
    errors: a.errors + sign * b.errors,
    bounds,
    cumulative: bounds.map(
      (_, i) => (a.cumulative[i] ?? 0) + (same || a.bounds.length === 0 ? sign * (b.cumulative[i] ?? 0) : 0),
    ),
  };
}

/** The share of 5xx answers, 0..1; 0 without requests. */
export const errorShare = (f: RequestFigures): number => (f.requests > 0 ? f.errors / f.requests : 0);

/**
 * The q-quantile of the latency in seconds, interpolated within its bucket as Prometheus's
 * histogram_quantile does; null without requests. Past the last finite bound: that bound.
 */
export function latencyQuantile(f: RequestFigures, q: number): number | null {
  const total = f.cumulative[f.cumulative.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < f.bounds.length; i++) {
    if ((f.cumulative[i] ?? 0) < rank) continue;
    const upper = f.bounds[i]!;
    const lower = i === 0 ? 0 : f.bounds[i - 1]!;
    if (!Number.isFinite(upper)) return lower;
    const below = i === 0 ? 0 : f.cumulative[i - 1]!;
    const inBucket = f.cumulative[i]! - below;
    return inBucket > 0 ? lower + ((upper - lower) * (rank - below)) / inBucket : upper;
  }
  return f.bounds[f.bounds.length - 2] ?? null;
}
