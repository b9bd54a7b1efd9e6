// Each live worker's request figures, read from its store file: what a canary compares. The file is
// the one the worker writes at its flush interval (or when the master asks it to flush).
import { join } from "node:path";
import { noFigures, type RequestFigures } from "../contracts/request-figures.js";
import type { FamilyJSON } from "../metrics/family.js";
import { METRICS } from "../metrics/catalogue.js";
import { readSnapshot, workerFileName } from "../metrics/store.js";

export function readRequestFigures(
  dir: string,
  workers: readonly { slot: number; pid: number }[],
): Map<number, RequestFigures> {
  const figures = new Map<number, RequestFigures>();
  for (const w of workers) {
    const snapshot = readSnapshot(join(dir, workerFileName(w.slot, w.pid)));
    figures.set(
      w.pid,
      typeof snapshot === "object" && snapshot !== null ? fromFamilies(snapshot.families) : noFigures(),
    );
  }
  return figures;
}

/** The requests, 5xx answers and latency buckets in a worker's families. */
export function fromFamilies(families: readonly FamilyJSON[]): RequestFigures {
  let requests = 0;
  let errors = 0;
  const buckets = new Map<number, number>();
  for (const f of families) {
    if (f.name === METRICS.requests.name) {
      for (const v of f.values) {
        requests += v.value;
        if (String(v.labels.status).startsWith("5")) errors += v.value;
      }
    } else if (f.name === METRICS.requestDuration.name) {
      for (const v of f.values) {
        if (!v.metricName?.endsWith("_bucket")) continue;
        const le = v.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(v.labels.le);
        buckets.set(le, (buckets.get(le) ?? 0) + v.value);
      }
    }
  }
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  return { requests, errors, bounds, cumulative: bounds.map((b) => buckets.get(b)!) };
}
