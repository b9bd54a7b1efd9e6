// The shared file-backed store: one file per live worker (a header line, then one JSON line per family)
// and one archive per master (one JSON document). Files are replaced atomically (write a temp file,
// rename) so a reader never sees half a snapshot.
import {
  chownSync,
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { alive } from "../platform/proc.js";
import { familyFromJSON, metricsFromJSON, metricsToJSON, type FamilyJSON, type StoreSnapshot } from "./family.js";

export class StoreDirError extends Error {}

const WORKER_FILE = /^gpe_w(\d+)_(\d+)\.json$/;
const ARCHIVE_FILE = /^gpe_archive_(\d+)\.json$/;
const TEMP_FILE = /^\.gpe_tmp_(\d+)_/;

export const workerFileName = (slot: number, pid: number) => `gpe_w${slot}_${pid}.json`;
export const archiveFileName = (masterPid: number) => `gpe_archive_${masterPid}.json`;

/**
 * Creates the directory (0700) or checks an existing one: it must be a real directory (not a
 * symlink) owned by us. With `clean`, removes our own files left by processes that are gone;
 * files we did not write are never touched.
 */
export function prepareStoreDir(
  dir: string,
  { clean, owner }: { clean: boolean; owner?: { uid: number; gid: number } },
): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StoreDirError(`metrics directory ${dir}: cannot create it (${(err as NodeJS.ErrnoException).code})`);
  }
  const stat = lstatSync(dir);
  if (stat.isSymbolicLink()) throw new StoreDirError(`metrics directory ${dir} is a symbolic link; refusing to use it`);
  if (!stat.isDirectory()) throw new StoreDirError(`metrics directory ${dir} is not a directory`);
  if (typeof process.getuid === "function" && stat.uid !== process.getuid() && stat.uid !== owner?.uid) {
    throw new StoreDirError(
      `metrics directory ${dir} is owned by uid ${stat.uid}, not by this user (uid ${process.getuid()}); refusing to use it`,
    );
  }
  // With --user, the directory belongs to the user the master and workers become.
  if (owner && (stat.uid !== owner.uid || stat.gid !== owner.gid)) chownSync(dir, owner.uid, owner.gid);
  try {
    const probe = join(dir, `.gpe_tmp_${process.pid}_probe`);
    closeSync(openSync(probe, "w", 0o600));
    unlinkSync(probe);
  } catch (err) {
    throw new StoreDirError(`metrics directory ${dir} is not writable (${(err as NodeJS.ErrnoException).code})`);
  }
  if (!clean) return;
  for (const name of readdirSync(dir)) {
    const owner = WORKER_FILE.exec(name)?.[2] ?? ARCHIVE_FILE.exec(name)?.[1] ?? TEMP_FILE.exec(name)?.[1];
    if (owner !== undefined && !alive(Number(owner))) {
      try {
        unlinkSync(join(dir, name));
      } catch {
        // already gone
      }
    }
  }
}

/** Writes a snapshot (or its JSON text) atomically with mode 0600, never following a symlink planted at the temp path. */
export function writeSnapshot(dir: string, name: string, snapshot: StoreSnapshot | string): void {
  const temp = join(dir, `.gpe_tmp_${process.pid}_${name}`);
  try {
    unlinkSync(temp);
  } catch {
    // usually absent
  }
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, typeof snapshot === "string" ? snapshot : metricsToJSON(snapshot));
  } finally {
    closeSync(fd);
  }
  renameSync(temp, join(dir, name));
}

export interface StoreRead {
  snapshots: { file: string; snapshot: StoreSnapshot }[];
  errors: { file: string; reason: string }[];
}

function isSnapshot(value: unknown): value is StoreSnapshot {
  const v = value as StoreSnapshot;
  return typeof v === "object" && v !== null && v.format === "gpe-store-1" && Array.isArray(v.families);
}

const isFamily = (value: unknown): value is FamilyJSON =>
  typeof value === "object" && value !== null && Array.isArray((value as FamilyJSON).values);

/** A parsed file, and its family lines by text (gpe-store-2 only), for reuse when it is read again. */
interface Parsed {
  snapshot: StoreSnapshot;
  lines: Map<string, FamilyJSON> | null;
}

/**
 * Parses a store file's text, either format. A family line found in `known` (the file's previous
 * version) is taken as it was parsed then, the same object: a family that did not change is
 * neither parsed nor merged again. Returns a reason string when the text is not a store file.
 */
export function parseSnapshot(text: string, known?: Map<string, FamilyJSON> | null): Parsed | string {
  const newline = text.indexOf("\n");
  try {
    if (newline < 0) {
      const parsed = metricsFromJSON(text);
      return isSnapshot(parsed) ? { snapshot: parsed, lines: null } : "not a gpe-server store file";
    }
    const header = JSON.parse(text.slice(0, newline)) as StoreSnapshot | null;
    if (header?.format !== "gpe-store-2") return "not a gpe-server store file";
    const lines = new Map<string, FamilyJSON>();
    const families: FamilyJSON[] = [];
    let from = newline + 1;
    while (from < text.length) {
      let to = text.indexOf("\n", from);
      if (to < 0) to = text.length;
      const line = text.slice(from, to);
      from = to + 1;
      if (line === "") continue;
      let family = known?.get(line);
      if (family === undefined) {
        const parsed = familyFromJSON(line);
        if (!isFamily(parsed)) return "not a gpe-server store file";
        family = parsed;
      }
      lines.set(line, family);
      families.push(family);
    }
    return { snapshot: { ...header, families }, lines };
  } catch {
    return "corrupt (not valid JSON)";
  }
}

/** A worker's file in gpe-store-2: the header line, then the families, one line each (see familyToJSON). */
export function workerFileText(pid: number, slot: number, written: number, familyLines: string): string {
  const header = `{"format":"gpe-store-2","kind":"worker","pid":${pid},"slot":${slot},"written":${written}}`;
  return familyLines === "" ? `${header}\n` : `${header}\n${familyLines}\n`;
}

interface Cached extends Parsed {
  stamp: string;
}

/**
 * Reads every store file; a file that cannot be parsed is reported, not fatal. A file is parsed
 * again only when it was replaced (inode, mtime in ns and size changed): between two flushes a
 * scrape costs a stat per file. `changed` says whether any snapshot differs from the last read.
 *
 * The directory is listed again only when it may hold a file the last listing lacks: the caller
 * names the files it expects (the master knows its workers), a listed file has gone (a worker was
 * folded into an archive), or invalidate() was called. Listing takes the directory's lock, which
 * on a disk file system a preempted worker may hold in the middle of a rename: under full load
 * that wait was most of a scrape (docs/performance.md).
 */
export class StoreReader {
  private cache = new Map<string, Cached>();
  private listing: readonly string[] | null = null;
  private listed = new Set<string>();

  /** The next read lists the directory again (a file was added or removed by this process). */
  invalidate(): void {
    this.listing = null;
  }

  /**
   * `expected`: names of files that should be there; without it the directory is listed every
   * time (another process may add files). `missing`: the directory itself is gone.
   */
  read(dir: string, expected?: readonly string[]): StoreRead & { changed: boolean; missing: boolean } {
    const stale = this.listing === null || expected === undefined || expected.some((name) => !this.listed.has(name));
    const out: StoreRead = { snapshots: [], errors: [] };
    let names = stale ? null : this.listing;
    if (names === null) {
      try {
        names = readdirSync(dir);
      } catch (err) {
        this.cache.clear();
        this.listing = null;
        const code = (err as NodeJS.ErrnoException).code;
        out.errors.push({ file: dir, reason: `cannot list the directory (${code})` });
        return { ...out, changed: true, missing: code === "ENOENT" };
      }
      this.listing = names;
      this.listed = new Set(names);
    }
    // Listed last time and gone now: an archive may have taken its counts, so list again.
    const relist = () => {
      this.listing = null;
      return this.read(dir, expected);
    };
    let changed = false;
    const next = new Map<string, Cached>();
    for (const file of names) {
      if (!WORKER_FILE.test(file) && !ARCHIVE_FILE.test(file)) continue;
      const path = join(dir, file);
      let stamp: string;
      try {
        const st = lstatSync(path, { bigint: true });
        stamp = `${st.ino}:${st.mtimeNs}:${st.size}`;
      } catch {
        if (stale) continue; // removed since the listing
        return relist();
      }
      const cached = this.cache.get(file);
      if (cached !== undefined && cached.stamp === stamp) {
        next.set(file, cached);
        out.snapshots.push({ file, snapshot: cached.snapshot });
        continue;
      }
      changed = true;
      const text = readText(path);
      if (text === null) {
        if (stale) continue;
        return relist();
      }
      const parsed = text.ok ? parseSnapshot(text.text, cached?.lines) : text.reason;
      if (typeof parsed === "string") out.errors.push({ file, reason: parsed });
      else {
        next.set(file, { stamp, ...parsed });
        out.snapshots.push({ file, snapshot: parsed.snapshot });
      }
    }
    if (next.size !== this.cache.size) changed = true;
    this.cache = next;
    // An archive names the worker files it has absorbed; skip those if they are still on disk.
    const folded = new Set(out.snapshots.flatMap((s) => s.snapshot.folded ?? []));
    if (folded.size > 0) out.snapshots = out.snapshots.filter((s) => !folded.has(s.file));
    return { ...out, changed, missing: false };
  }
}

/** A file's text; null if it vanished; never follows a symlink. */
function readText(path: string): { ok: true; text: string } | { ok: false; reason: string } | null {
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return { ok: true, text: readFileSync(fd, "utf8") };
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? null : { ok: false, reason: `cannot read (${code})` };
  }
}

/** The parsed snapshot, null if the file vanished, or a reason string if it is unreadable. */
export function readSnapshot(path: string): StoreSnapshot | null | string {
  const text = readText(path);
  if (text === null || !text.ok) return text?.reason ?? null;
  const parsed = parseSnapshot(text.text);
  return typeof parsed === "string" ? parsed : parsed.snapshot;
}

export function removeFile(dir: string, name: string): void {
  try {
    unlinkSync(join(dir, name));
  } catch {
    // already gone
  }
}
