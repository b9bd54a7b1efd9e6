// A worker's side of the store: collects its hot-path counters, its failure counters and the
// app's own prom-client metrics, and writes them to its file every flush interval, at exit, and
// when the master asks before a scrape.
import { createRequire } from "node:module";
import { setTimeout as delay } from "node:timers/promises";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { familyToJSON, type FamilyJSON } from "./family.js";
import { workerFileName, workerFileText, writeSnapshot } from "./store.js";

interface PromRegistry {
  getMetricsAsJSON(): Promise<unknown[]>;
}

/** The client packages an app may record its metrics with: prom-client, and its Prometheus-organisation successor. */
const CLIENT_PACKAGES = ["prom-client", "@prometheus-io/client"];

/**
 * The default registries of the prom-client copies the app has loaded (ours and its own), found in
 * the module cache when asked: importing prom-client only to read an empty registry cost every
 * worker's boot more than anything else, and an app may load it lazily, after its first request.
 */
export class AppRegistries {
  private readonly candidates: string[] = [];
  private readonly found: PromRegistry[] = [];
  private readonly seen = new Set<string>();
  private readonly require = createRequire(import.meta.url);

  constructor(appFile: string) {
    const resolveFrom = (from: string, name: string) => {
      try {
        const path = createRequire(from).resolve(name);
        if (!this.candidates.includes(path)) this.candidates.push(path);
      } catch {
        // not reachable from there
      }
    };
    resolveFrom(import.meta.url, "prom-client");
    for (const name of CLIENT_PACKAGES) resolveFrom(resolve(appFile), name);
  }

  current(): readonly PromRegistry[] {
    if (this.seen.size === this.candidates.length) return this.found;
    for (const path of this.candidates) {
      const mod = this.require.cache[path];
      if (this.seen.has(path) || !mod?.loaded) continue;
      this.seen.add(path);
      const exported = mod.exports as { register?: PromRegistry; default?: { register?: PromRegistry } };
      const register = exported.register ?? exported.default?.register;
      if (register && !this.found.includes(register)) this.found.push(register);
    }
    return this.found;
  }
}

/**
 * The app's metrics from its registries (their collect functions may be async). A registry that
 * fails is logged and skipped: the app's broken collector must not cost the worker its metrics.
 */
export async function readAppRegistries(registries: readonly PromRegistry[], log: Logger): Promise<FamilyJSON[]> {
  const families: FamilyJSON[] = [];
  for (const registry of registries) {
    try {
      // prom-client's JSON has the store's family shape (name, help, type, values, aggregator).
      families.push(...((await registry.getMetricsAsJSON()) as FamilyJSON[]));
    } catch (err) {
      log.warn({ err }, "reading the app's prom-client registry failed");
    }
  }
  return families;
}

const REWRITE_UNCHANGED_MS = 5000;
const FIRST_WRITE_WAIT_MS = 1000;

export class WorkerSnapshot {
  private userFamilies: FamilyJSON[] = [];
  private timer: NodeJS.Timeout | null = null;
  private failedOnce = false;
  /** Writes that failed (disk full, directory removed), reported to the master with heartbeats. */
  writeErrors = 0;
  /** The families last written, as JSON, and when: an unchanged snapshot is not written again. */
  private lastFamilies = "";
  private lastWriteAt = 0;
  readonly fileName: string;

  constructor(
    private readonly dir: string,
    private readonly slot: number,
    private readonly intervalSeconds: number,
    private readonly builtIn: () => FamilyJSON[],
    private readonly registries: AppRegistries | null,
    private readonly log: Logger,
    /** Extra app metrics that arrive from elsewhere (the threads of a thread worker). */
    private readonly extraUserFamilies: () => FamilyJSON[] = () => [],
  ) {
    this.fileName = workerFileName(slot, process.pid);
  }

  /**
   * Writes the first snapshot now, with the app's metrics as they stand after its import (a gauge
   * it set at load belongs in the store from boot, not from the first flush interval), then every
   * interval. Waits for the first one at most FIRST_WRITE_WAIT_MS: an app collector that never
   * settles must not keep the worker from booting.
   */
  async start(): Promise<void> {
    const first = this.refreshAndWrite();
    this.timer = setInterval(() => void this.refreshAndWrite(), this.intervalSeconds * 1000);
    this.timer.unref();
    await Promise.race([first, delay(FIRST_WRITE_WAIT_MS, undefined, { ref: false })]);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Reads the app's registries (their collect functions may be async), then writes. */
  async refreshAndWrite(): Promise<void> {
    this.userFamilies = this.registries ? await readAppRegistries(this.registries.current(), this.log) : [];
    this.write();
  }

  /**
   * Writes what is known now, synchronously (used at exit and before a scrape). An idle worker
   * skips the write (and the master the parse) while nothing changed, but refreshes its file
   * every few seconds in case it was removed.
   */
  write(): void {
    const families = [...this.builtIn(), ...this.userFamilies, ...this.extraUserFamilies()]
      .map(familyToJSON)
      .join("\n");
    const now = Date.now();
    if (families === this.lastFamilies && now - this.lastWriteAt < REWRITE_UNCHANGED_MS) return;
    try {
      writeSnapshot(this.dir, this.fileName, workerFileText(process.pid, this.slot, now, families));
      this.lastFamilies = families;
      this.lastWriteAt = now;
      this.failedOnce = false;
    } catch (err) {
      this.writeErrors++;
      // Logged once per run of failures, not once per flush.
      if (!this.failedOnce)
        this.log.error({ err }, `cannot write metrics file in ${this.dir}: ${(err as Error).message}`);
      this.failedOnce = true;
    }
  }
}
