// The master's pidfile, gunicorn style: refuse to start over a live master, remove it at exit,
// and rename it to FILE.2 while a USR2 successor takes over.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { alive } from "../platform/proc.js";

export class PidfileError extends Error {}

export class Pidfile {
  constructor(readonly path: string) {}

  create(pid: number): void {
    let existing: number | null = null;
    try {
      existing = Number.parseInt(readFileSync(this.path, "utf8"), 10);
    } catch {
      // no pidfile yet
    }
    if (existing && existing !== pid && existing !== process.ppid && alive(existing)) {
      throw new PidfileError(`pidfile ${this.path}: already running as pid ${existing}`);
    }
    try {
      writeFileSync(this.path, `${pid}\n`, { mode: 0o644 });
    } catch (err) {
      throw new PidfileError(
        `cannot write pidfile ${this.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }

  /** Removes the file if it still names this process. */
  unlink(pid: number): void {
    try {
      if (Number.parseInt(readFileSync(this.path, "utf8"), 10) === pid) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  rename(to: string): void {
    try {
      renameSync(this.path, to);
    } catch {
      // nothing to rename
    }
  }
}
