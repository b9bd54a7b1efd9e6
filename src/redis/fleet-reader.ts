// Reads every host's snapshot from Redis for the aggregator: SCAN (never KEYS, which blocks Redis
// on a large keyspace), then MGET in batches. A host's parsed snapshot is kept until its value
// changes, so a scrape between two forwards costs a string comparison, not a JSON.parse.
import type { Redis } from "ioredis";
import { instancePattern } from "./connection.js";
import { parseFleetSnapshot, type FleetSnapshot } from "./fleet.js";

const SCAN_COUNT = 500;
const MGET_BATCH = 100;

export interface FleetRead {
  snapshots: FleetSnapshot[];
  /** Keys whose value could not be used, with the reason. */
  errors: { key: string; reason: string }[];
}

export class FleetReader {
  private cache = new Map<string, { raw: string; parsed: FleetSnapshot | string }>();

  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {}

  async read(): Promise<FleetRead> {
    const keys = await this.scan();
    const out: FleetRead = { snapshots: [], errors: [] };
    const next = new Map<string, { raw: string; parsed: FleetSnapshot | string }>();
    for (let i = 0; i < keys.length; i += MGET_BATCH) {
      const batch = keys.slice(i, i + MGET_BATCH);
      const values = await this.client.mget(batch);
      batch.forEach((key, j) => {
        const raw = values[j];
        if (raw === null || raw === undefined) return; // expired between SCAN and MGET
        const cached = this.cache.get(key);
        const parsed = cached !== undefined && cached.raw === raw ? cached.parsed : parseFleetSnapshot(raw);
        next.set(key, { raw, parsed });
        if (typeof parsed === "string") out.errors.push({ key, reason: parsed });
        else out.snapshots.push(parsed);
      });
    }
    this.cache = next;
    out.snapshots.sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
    return out;
  }

  private async scan(): Promise<string[]> {
    const seen = new Set<string>();
    let cursor = "0";
    do {
      const [nextCursor, keys] = await this.client.scan(
        cursor,
        "MATCH",
        instancePattern(this.prefix),
        "COUNT",
        SCAN_COUNT,
      );
      for (const key of keys) seen.add(key);
      cursor = nextCursor;
    } while (cursor !== "0");
    return [...seen];
  }
}
