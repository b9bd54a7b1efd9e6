// The fleet view: every host's forwarded snapshot, each series labelled with its instance, merged
// into one list of families so the exposition has one HELP/TYPE per family.
import { metricsFromJSON, type FamilyJSON, type SampleJSON } from "../metrics/family.js";

export const FLEET_FORMAT = "gpe-fleet-1";

/** The value stored under one host's key. */
export interface FleetSnapshot {
  format: typeof FLEET_FORMAT;
  instance: string;
  written: number;
  families: FamilyJSON[];
}

/** The snapshot, or why it cannot be used. */
export function parseFleetSnapshot(text: string): FleetSnapshot | string {
  let value: unknown;
  try {
    value = metricsFromJSON(text);
  } catch {
    return "corrupt (not valid JSON)";
  }
  const v = value as FleetSnapshot;
  if (
    typeof v !== "object" ||
    v === null ||
    v.format !== FLEET_FORMAT ||
    typeof v.instance !== "string" ||
    !Array.isArray(v.families)
  ) {
    return "not a gpe-server fleet snapshot";
  }
  return v;
}

/**
 * Concatenates the hosts' series under one family per name, adding `instance`. A series that
 * already has an `instance` label keeps it as `exported_instance`, as Prometheus itself does.
 * A family whose type differs from the first host's is left out for that host.
 */
export function mergeFleet(snapshots: readonly FleetSnapshot[]): FamilyJSON[] {
  const byName = new Map<string, FamilyJSON>();
  for (const snapshot of snapshots) {
    for (const f of snapshot.families) {
      let merged = byName.get(f.name);
      if (merged === undefined) {
        merged = { name: f.name, help: f.help, type: f.type, values: [] };
        byName.set(f.name, merged);
      } else if (merged.type !== f.type) {
        continue;
      }
      for (const s of f.values) merged.values.push(withInstance(s, snapshot.instance));
    }
  }
  return [...byName.values()];
}

function withInstance(s: SampleJSON, instance: string): SampleJSON {
  const { instance: exported, ...rest } = s.labels;
  const labels = exported === undefined ? { instance, ...rest } : { instance, exported_instance: exported, ...rest };
  return s.metricName === undefined ? { labels, value: s.value } : { metricName: s.metricName, labels, value: s.value };
}
