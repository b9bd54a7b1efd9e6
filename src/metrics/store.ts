// The shared file-backed store: one JSON file per live worker, one archive per master. Files are
// replaced atomically (write a temp file, rename) so a reader never sees half a snapshot.
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
import { metricsFromJSON, metricsToJSON, type StoreSnapshot } from "./family.js";

export class StoreDirError extends Error {}

const WORKER_FILE = /^gpe_w(\d+)_(\d+)\.json$/;
const ARCHIVE_FILE = /^gpe_archive_(\d+)\.json$/;
const TEMP_FILE = /^\.gpe_tmp_(\d+)_/;

export const workerFileName = (slot: number, pid: number) => `gpe_w${slot}_${pid}.json`;
export const archiveFileName = (masterPid: number) => `gpe_archive_${masterPid}.json`;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

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
    if (owner !== undefined && !pidAlive(Number(owner))) {
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

/**
 * Reads every store file; a file that cannot be parsed is reported, not fatal. A file is parsed
 * again only when it was replaced (inode, mtime in ns and size changed): between two flushes a
 * scrape costs a stat per file. `changed` says whether any snapshot differs from the last read.
 */
export class StoreReader {
  private cache = new Map<string, { stamp: string; snapshot: StoreSnapshot }>();

  /** `missing`: the directory itself is gone. */
  read(dir: string): StoreRead & { changed: boolean; missing: boolean } {
    const out: StoreRead = { snapshots: [], errors: [] };
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      this.cache.clear();
      const code = (err as NodeJS.ErrnoException).code;
      out.errors.push({ file: dir, reason: `cannot list the directory (${code})` });
      return { ...out, changed: true, missing: code === "ENOENT" };
    }
    let changed = false;
    const next = new Map<string, { stamp: string; snapshot: StoreSnapshot }>();
    for (const file of names) {
      if (!WORKER_FILE.test(file) && !ARCHIVE_FILE.test(file)) continue;
      const path = join(dir, file);
      let stamp: string;
      try {
        const st = lstatSync(path, { bigint: true });
        stamp = `${st.ino}:${st.mtimeNs}:${st.size}`;
      } catch {
        continue; // removed since the listing
      }
      const cached = this.cache.get(file);
      if (cached !== undefined && cached.stamp === stamp) {
        next.set(file, cached);
        out.snapshots.push({ file, snapshot: cached.snapshot });
        continue;
      }
      changed = true;
      const snapshot = readSnapshot(path);
      if (typeof snapshot === "string") out.errors.push({ file, reason: snapshot });
      else if (snapshot !== null) {
        next.set(file, { stamp, snapshot });
        out.snapshots.push({ file, snapshot });
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

/** The parsed snapshot, null if the file vanished, or a reason string if it is unreadable. */
export function readSnapshot(path: string): StoreSnapshot | null | string {
  let text: string;
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      text = readFileSync(fd, "utf8");
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? null : `cannot read (${code})`;
  }
  try {
    const parsed = metricsFromJSON(text);
    return isSnapshot(parsed) ? parsed : "not a gpe-server store file";
  } catch {
    return "corrupt (not valid JSON)";
  }
}

export function removeFile(dir: string, name: string): void {
  try {
    unlinkSync(join(dir, name));
  } catch {
    // already gone
  }
}
