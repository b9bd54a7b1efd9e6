// The master's view of the store: merges every live worker file with the archives, and folds a
// dead worker's counters and histograms into this master's archive so totals never go down and
// the number of files stays bounded however many workers come and go.
import type { Logger } from "pino";
import { Merger, monotonicPart } from "../metrics/merge.js";
import { slotLabel, type FamilyJSON, type StoreSnapshot } from "../metrics/family.js";
import {
  archiveFileName,
  readSnapshot,
  removeFile,
  StoreReader,
  workerFileName,
  writeSnapshot,
} from "../metrics/store.js";
import { join } from "node:path";
import { mkdirSync } from "node:fs";

const FOLDED_KEPT = 64;

interface MergedFrom {
  sources: FamilyJSON[];
  /** The worker slot label of each source; undefined for an archive. */
  ids: (string | undefined)[];
  /** null when the family is left out (aggregator "omit"). */
  merged: FamilyJSON | null;
}

const sameItems = <T>(a: readonly T[], b: readonly T[]): boolean =>
  a.length === b.length && a.every((item, i) => item === b[i]);

export class StoreCollector {
  private readonly archive = new Merger();
  private folded: string[] = [];
  /** Unreadable store files seen, by reason; each file is logged once. */
  readonly errors = new Map<string, number>();
  private readonly reported = new Set<string>();
  private readonly reader = new StoreReader();
  /** The last merge, reused while no file has changed. */
  private merged: FamilyJSON[] | null = null;
  /** Each family's last merge and its sources: reused while every source is the same object. */
  private memo = new Map<string, MergedFrom>();

  constructor(
    private readonly dir: string,
    private readonly masterPid: number,
    private readonly log: Logger,
    /** The master owns the directory and makes it again if removed; a sidecar only reads. */
    private readonly owner = true,
  ) {}

  /** Folds the last snapshot of a worker that has exited into the archive, then removes its file. */
  fold(slot: number, pid: number): void {
    const name = workerFileName(slot, pid);
    const snapshot = readSnapshot(join(this.dir, name));
    if (snapshot !== null && typeof snapshot !== "string") {
      this.archive.add(monotonicPart(snapshot.families), slotLabel(slot));
      this.folded = [...this.folded.slice(-(FOLDED_KEPT - 1)), name];
      this.writeArchive();
    } else if (typeof snapshot === "string") {
      this.countError(name, snapshot);
    }
    removeFile(this.dir, name); // the reader lists again when it finds the file gone
  }

  private writeArchive(): void {
    const snapshot: StoreSnapshot = {
      format: "gpe-store-1",
      kind: "archive",
      pid: this.masterPid,
      slot: 0,
      written: Date.now(),
      families: this.archive.toJSON(),
      folded: this.folded,
    };
    try {
      writeSnapshot(this.dir, archiveFileName(this.masterPid), snapshot);
      this.reader.invalidate();
    } catch (err) {
      this.countError(archiveFileName(this.masterPid), `cannot write (${(err as NodeJS.ErrnoException).code})`);
    }
  }

  /** Workers that could not write their file (disk full, directory gone); they log it themselves. */
  countWriteErrors(n: number): void {
    this.errors.set("write", (this.errors.get("write") ?? 0) + n);
  }

  /**
   * The directory was removed while running (a tmp cleaner, an operator): make it again, and put
   * the archive back from memory. Live workers write their files again within seconds.
   */
  private recreate(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.log.warn(`metrics directory ${this.dir} was removed; recreated it`);
      if (this.archive.families.size > 0) this.writeArchive();
    } catch {
      // reported as unreadable by the caller, once
    }
  }

  /**
   * Every family in the store, merged. The result is shared between calls: do not modify it.
   * `expected`: the files of the workers alive now (the master's view), so that the directory is
   * listed only when one of them is new.
   */
  collect(expected?: readonly string[]): FamilyJSON[] {
    let { snapshots, errors, changed, missing } = this.reader.read(this.dir, expected);
    if (this.owner && missing) {
      this.countError(this.dir, errors[0]!.reason);
      this.recreate();
      ({ snapshots, errors, changed } = this.reader.read(this.dir, expected));
    }
    for (const e of errors) this.countError(e.file, e.reason);
    if (!changed && this.merged !== null) return this.merged;
    // Under load the hot-path families change at every scrape and most of an app's do not: a
    // family is merged again only when one of its sources was parsed anew.
    const groups = new Map<string, MergedFrom>();
    for (const { snapshot } of snapshots) {
      const id = snapshot.kind === "worker" ? slotLabel(snapshot.slot) : undefined;
      for (const family of snapshot.families) {
        let group = groups.get(family.name);
        if (group === undefined) {
          group = { sources: [], ids: [], merged: null };
          groups.set(family.name, group);
        }
        group.sources.push(family);
        group.ids.push(id);
      }
    }
    const merged: FamilyJSON[] = [];
    for (const [name, group] of groups) {
      const last = this.memo.get(name);
      if (last !== undefined && sameItems(last.sources, group.sources) && sameItems(last.ids, group.ids)) {
        group.merged = last.merged;
      } else {
        const merger = new Merger();
        for (let i = 0; i < group.sources.length; i++) merger.addFamily(group.sources[i]!, group.ids[i]);
        group.merged = merger.toJSON()[0] ?? null;
      }
      if (group.merged !== null) merged.push(group.merged);
    }
    this.memo = groups;
    this.merged = merged;
    return merged;
  }

  private countError(file: string, reason: string): void {
    const kind = reason.startsWith("corrupt") ? "corrupt" : reason.startsWith("not a") ? "foreign" : "unreadable";
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
    const key = `${file}\u0000${reason}`;
    if (!this.reported.has(key)) {
      this.reported.add(key);
      this.log.warn(`metrics store: skipping ${file}: ${reason}`);
    }
  }

  /** Removes this master's archive at a clean exit of the whole server. */
  removeArchive(): void {
    removeFile(this.dir, archiveFileName(this.masterPid));
  }
}
