// How the suite turns rounds into one figure. Each round measures every competitor back to back,
// so a round's ratio cancels most of what the machine was doing at that moment; what is left
// still varies by several percent from round to round on a shared 2-core machine. The figure is
// the geometric mean of the per-round ratios, given with a 95 % confidence interval, so a
// reader can tell a real gap from noise.

/** Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom. */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The t quantile for `df` degrees of freedom (the normal's beyond the table). */
export const t95 = (df) => (df >= 1 && df <= T95.length ? T95[df - 1] : 1.96);

/**
 * Paired ratios values[i] / baselines[i]: their geometric mean, its 95 % confidence interval
 * (t interval on the logarithms), and the smallest and largest single ratio.
 */
export function pairedRatio(values, baselines) {
  if (values.length !== baselines.length || values.length === 0)
    throw new Error("pairedRatio: need equal, non-empty lists");
  const logs = values.map((v, i) => Math.log(v / baselines[i]));
  const n = logs.length;
  const mean = logs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(logs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : Number.POSITIVE_INFINITY;
  const half = n > 1 ? (t95(n - 1) * sd) / Math.sqrt(n) : Number.POSITIVE_INFINITY;
  return {
    ratio: Math.exp(mean),
    low: Math.exp(mean - half),
    high: Math.exp(mean + half),
    min: Math.exp(Math.min(...logs)),
    max: Math.exp(Math.max(...logs)),
    n,
  };
}

/** Median of a list of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
