// The metrics store as a service: the merged files of a store directory, the count of files it
// could not read, and (when Redis is enabled) their forwarding to a fleet's aggregator. The master
// runs one over its own workers' directory; the sidecar exporter runs one over a directory another
// process writes, read-only. Both answer a scrape with `families()`.
import type { Logger } from "pino";
import type { Settings } from "../config/settings.js";
import type { FamilyJSON } from "../metrics/family.js";
import { workerFileName } from "../metrics/store.js";
import type { RedisForwarder } from "../redis/forwarder.js";
import { defaultInstance } from "../redis/instance.js";
import { StoreCollector } from "./collector.js";
import { storeErrorsFamily } from "./master-metrics.js";

export class StoreService {
  private readonly collector: StoreCollector;
  private forwarder: RedisForwarder | null = null;

  /**
   * @param owner the master owns its directory (folds dead workers into its archive and makes the
   *   directory again if it is removed); a sidecar only reads.
   */
  constructor(
    private readonly settings: Settings,
    private readonly log: Logger,
    owner: boolean,
  ) {
    this.collector = new StoreCollector(settings.multiproc_dir, process.pid, log, owner);
  }

  /**
   * The store merged, then the count of unreadable files and the forwarder's own figures. With
   * `live` (the files of the master's live workers) the directory is listed again only when one of
   * them is new to it; without, at every call.
   */
  families(live?: readonly { slot: number; pid: number }[]): FamilyJSON[] {
    const store = this.collector.collect(live?.map((w) => workerFileName(w.slot, w.pid)));
    return [storeErrorsFamily(this.collector.errors), ...(this.forwarder?.families() ?? []), ...store];
  }

  /** A worker reported more failed writes of its file. */
  countWriteErrors(n: number): void {
    this.collector.countWriteErrors(n);
  }

  /** A worker exited: its counters go into the archive, so totals never go down. */
  workerExited(slot: number, pid: number): void {
    this.collector.fold(slot, pid);
  }

  /** Starts forwarding what `gather` returns to Redis, when enabled; `port` names the instance by default. */
  async startForwarding(port: number, gather: () => Promise<FamilyJSON[]>): Promise<void> {
    const s = this.settings;
    if (!s.redis_enabled) return;
    // Loaded only when used: ioredis costs a process several MB it does not need otherwise.
    const { RedisForwarder } = await import("../redis/forwarder.js");
    this.forwarder = new RedisForwarder(s, s.instance ?? defaultInstance(port), gather, this.log);
    this.forwarder.start();
  }

  /** Stops forwarding; after a graceful stop the final counts are forwarded first. */
  async stopForwarding(finalForward: boolean): Promise<void> {
    await this.forwarder?.close({ finalForward });
  }

  /** The master's archive goes, unless a USR2 successor shares the store. */
  removeArchive(): void {
    this.collector.removeArchive();
  }
}
