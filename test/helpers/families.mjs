// Small metric families for the unit tests of the merge, the store and the exposition.

/** A counter family with one sample. */
export const counter = (value, labels = {}) => ({
  name: "jobs_total",
  help: "Jobs.",
  type: "counter",
  values: [{ labels, value }],
});

/** A gauge family with one sample, merged by `aggregator`. */
export const gauge = (value, aggregator) => ({
  name: "depth",
  help: "Depth.",
  type: "gauge",
  aggregator,
  values: [{ labels: {}, value }],
});
