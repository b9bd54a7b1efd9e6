// The shape every metrics source is converted to before merging: a worker's hot-path counters, an
// app's prom-client registry (getMetricsAsJSON has the same shape), the archive, the master's own.
export type MetricType = "counter" | "gauge" | "histogram" | "summary";

export type Labels = Record<string, string | number>;

export interface SampleJSON {
  /** Full sample name where it differs from the family (histogram _bucket/_sum/_count). */
  metricName?: string;
  labels: Labels;
  value: number;
  /** A recent request's trace (OpenMetrics only; on counters and histogram buckets). */
  exemplar?: Exemplar;
}

/** OpenMetrics' exemplar: labels (here `trace_id`), the value observed, and when (s since the epoch). */
export interface Exemplar {
  labels: Labels;
  value: number;
  timestamp: number;
}

export interface FamilyJSON {
  name: string;
  help: string;
  type: MetricType;
  /** prom-client's aggregator option, plus "worker" to keep one series per worker slot. */
  aggregator?: string;
  values: SampleJSON[];
}

/**
 * One file of the store: a live worker's snapshot, or a master's archive of dead workers. A
 * worker writes "gpe-store-2": a header line, then one line per family, so that a reader parses
 * and merges again only the families that changed since it last read the file.
 */
export interface StoreSnapshot {
  format: "gpe-store-1" | "gpe-store-2";
  kind: "worker" | "archive";
  pid: number;
  /** The worker slot (1..N); 0 for an archive. */
  slot: number;
  written: number;
  families: FamilyJSON[];
  /** Archive only: worker files already folded in, so a reader never counts one twice. */
  folded?: string[];
}

export { slotLabel } from "../contracts/lifecycle.js";

/**
 * The JSON of store files and fleet snapshots. JSON has no NaN or ±Infinity: JSON.stringify
 * writes null, which an exposition would print as `null`, a line Prometheus rejects. A gauge may
 * well be NaN (prom-client's event-loop lag mean before its first sample), so sample values that
 * are not finite travel as the strings "NaN", "Infinity" and "-Infinity".
 */
export function metricsToJSON(value: FamilyJSON[] | { families: FamilyJSON[] }): string {
  const families = Array.isArray(value) ? value : value.families;
  // A replacer doubles the time of every write; most snapshots have no value that needs it.
  return JSON.stringify(value, families.some(hasNonFinite) ? nonFiniteAsString : undefined);
}

const hasNonFinite = (f: FamilyJSON): boolean => f.values.some((s) => !Number.isFinite(s.value));
const nonFiniteAsString = (key: string, v: unknown): unknown =>
  key === "value" && typeof v === "number" && !Number.isFinite(v) ? String(v) : v;

/** One family as one line of JSON (JSON.stringify never writes a raw newline). */
export function familyToJSON(family: FamilyJSON): string {
  return JSON.stringify(family, hasNonFinite(family) ? nonFiniteAsString : undefined);
}

export function metricsFromJSON(text: string): unknown {
  const parsed: unknown = JSON.parse(text);
  // A reviver would triple the parse time of every scrape; a value written as a string is rare
  // and always looks like this, so a scan of the text decides whether to walk the samples.
  if (text.includes('"value":"')) {
    const families = (parsed as { families?: unknown } | null)?.families;
    if (Array.isArray(families)) for (const f of families) numericValues(f);
  }
  return parsed;
}

/** One line written by familyToJSON; throws on text that is not JSON. */
export function familyFromJSON(text: string): unknown {
  const parsed: unknown = JSON.parse(text);
  if (text.includes('"value":"')) numericValues(parsed);
  return parsed;
}

function numericValues(family: unknown): void {
  const values = (family as { values?: unknown } | null)?.values;
  if (!Array.isArray(values)) return;
  for (const sample of values as { value?: unknown }[]) {
    if (typeof sample?.value === "string") sample.value = Number(sample.value);
  }
}
