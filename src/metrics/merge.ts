// Merging rules are data: each aggregator is a named reducer, picked by the family's type and its
// prom-client `aggregator` option. Counters and histograms are always summed, so that dead
// workers' archived values and live values add up to a monotonic total.
import type { Exemplar, FamilyJSON, Labels, MetricType, SampleJSON } from "./family.js";

interface Reducer {
  add(acc: Acc, value: number): void;
  result(acc: Acc): number;
}
interface Acc {
  value: number;
  n: number;
}

/** A reducer from how it folds the next value into the running one (the first value is kept as is). */
const folding = (fold: (acc: number, v: number) => number, result: Reducer["result"] = (a) => a.value): Reducer => ({
  add: (a, v) => {
    a.value = a.n === 0 ? v : fold(a.value, v);
    a.n++;
  },
  result,
});

export const AGGREGATORS: Record<string, Reducer> = {
  sum: folding((acc, v) => acc + v),
  first: folding((acc) => acc),
  min: folding(Math.min),
  max: folding(Math.max),
  average: folding(
    (acc, v) => acc + v,
    (a) => (a.n === 0 ? 0 : a.value / a.n),
  ),
};

export interface MergedSample {
  name: string;
  labels: Labels;
  acc: Acc;
  reducer: Reducer;
  exemplar?: Exemplar;
}

export interface MergedFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Map<string, MergedSample>;
}

export function labelKey(name: string, labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return name;
  keys.sort();
  let key = name;
  for (const k of keys) key += `\u0000${k}=${labels[k]}`;
  return key;
}

/** Which reducer a family uses; null means the family is left out of the merged output. */
function reducerFor(
  type: MetricType,
  aggregator: string | undefined,
  metricName: string | undefined,
  family: string,
): Reducer | null {
  if (aggregator === "omit") return null;
  if (type === "counter" || type === "histogram") return AGGREGATORS.sum!;
  if (type === "summary") {
    // Quantiles of different processes cannot be combined exactly; their average is reported.
    const isQuantile = metricName === undefined || metricName === family;
    return isQuantile ? AGGREGATORS.average! : AGGREGATORS.sum!;
  }
  if (aggregator === "worker") return AGGREGATORS.first!;
  return AGGREGATORS[aggregator ?? "sum"] ?? AGGREGATORS.sum!;
}

const isExemplar = (e: unknown): e is Exemplar =>
  typeof e === "object" &&
  e !== null &&
  typeof (e as Exemplar).labels === "object" &&
  (e as Exemplar).labels !== null &&
  typeof (e as Exemplar).value === "number" &&
  typeof (e as Exemplar).timestamp === "number";

export class Merger {
  readonly families = new Map<string, MergedFamily>();

  /** Adds one source's families. `workerId` is set for per-worker sources (used by aggregator "worker"). */
  add(families: readonly FamilyJSON[], workerId?: string): void {
    for (const f of families) this.addFamily(f, workerId);
  }

  addFamily(f: FamilyJSON, workerId?: string): void {
    if (f.aggregator === "omit") return;
    let family = this.families.get(f.name);
    if (family === undefined) {
      family = { name: f.name, help: f.help, type: f.type, samples: new Map() };
      this.families.set(f.name, family);
    } else if (family.type !== f.type) {
      return; // the same name with another type cannot share a family; the first one wins
    }
    const perWorker = f.aggregator === "worker" && workerId !== undefined;
    for (const s of f.values) this.addSample(family, f, s, perWorker ? workerId : undefined);
  }

  private addSample(family: MergedFamily, f: FamilyJSON, s: SampleJSON, workerId: string | undefined): void {
    const reducer = reducerFor(f.type, f.aggregator, s.metricName, f.name);
    if (reducer === null || typeof s.value !== "number") return;
    const name = s.metricName ?? f.name;
    const labels = workerId === undefined ? s.labels : { ...s.labels, worker_id: workerId };
    const key = labelKey(name, labels);
    let sample = family.samples.get(key);
    if (sample === undefined) {
      sample = { name, labels, acc: { value: 0, n: 0 }, reducer };
      family.samples.set(key, sample);
    }
    sample.reducer.add(sample.acc, s.value);
    // Of several workers' exemplars for one series, the latest; an app registry's (prom-client
    // writes `exemplar: null`, or its own shape) is not one of ours and is left out.
    const e = s.exemplar;
    if (isExemplar(e) && (sample.exemplar === undefined || e.timestamp > sample.exemplar.timestamp))
      sample.exemplar = e;
  }

  /** The merged values, as families again (for the exposition, the archive, or Redis). */
  toJSON(): FamilyJSON[] {
    const out: FamilyJSON[] = [];
    for (const family of this.families.values()) {
      const values: SampleJSON[] = [];
      for (const s of family.samples.values()) {
        const sample: SampleJSON = { labels: s.labels, value: s.reducer.result(s.acc) };
        if (s.name !== family.name) sample.metricName = s.name;
        if (s.exemplar !== undefined) sample.exemplar = s.exemplar;
        values.push(sample);
      }
      out.push({ name: family.name, help: family.help, type: family.type, values });
    }
    return out;
  }
}

/** The part of a worker's snapshot that must survive its death: counters and histograms. */
export function monotonicPart(families: readonly FamilyJSON[]): FamilyJSON[] {
  return families.filter((f) => (f.type === "counter" || f.type === "histogram") && f.aggregator !== "omit");
}
