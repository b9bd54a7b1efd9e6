// The shape every metrics source is converted to before merging: a worker's hot-path counters, an
// app's prom-client registry (getMetricsAsJSON has the same shape), the archive, the master's own.
export type MetricType = "counter" | "gauge" | "histogram" | "summary";

export type Labels = Record<string, string | number>;

export interface SampleJSON {
  /** Full sample name where it differs from the family (histogram _bucket/_sum/_count). */
  metricName?: string;
  labels: Labels;
  value: number;
}

export interface FamilyJSON {
  name: string;
  help: string;
  type: MetricType;
  /** prom-client's aggregator option, plus "worker" to keep one series per worker slot. */
  aggregator?: string;
  values: SampleJSON[];
}

/** One file of the store: a live worker's snapshot, or a master's archive of dead workers. */
export interface StoreSnapshot {
  format: "gpe-store-1";
  kind: "worker" | "archive";
  pid: number;
  /** The worker slot (1..N); 0 for an archive. */
  slot: number;
  written: number;
  families: FamilyJSON[];
  /** Archive only: worker files already folded in, so a reader never counts one twice. */
  folded?: string[];
}

export const slotLabel = (slot: number): string => `worker_${slot}`;
