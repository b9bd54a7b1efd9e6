// The master's side of the log files: its own error log, the workers' captured output
// (capture_output), reopening on USR1, and rotation by size (log_max_size, log_keep).
//
// Every process appends whole lines to the same files, so rotation is the master's alone: it
// renames file -> file.1 -> ... -> file.N, then everyone reopens, as after an external logrotate.
// A line written between the rename and a writer's reopen lands in file.1: none is lost or split.
import type { ChildProcess } from "node:child_process";
import { renameSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Logger } from "pino";
import type { Settings } from "../config/settings.js";
import { slotLabel } from "../contracts/lifecycle.js";
import { createLogger, type ReopenableLogger } from "../logging/logger.js";

const ROTATION_CHECK_MS = 500;

type Signalled = { state: string; signal(name: NodeJS.Signals): void };

export class MasterLogs {
  readonly log: Logger;
  private readonly logger: ReopenableLogger;
  private timer: NodeJS.Timeout | null = null;
  private readonly failed = new Set<string>();
  private readonly owed = new WeakSet<Signalled>();

  constructor(
    private readonly settings: () => Settings,
    /** The workers, told to reopen their files with USR1. */
    private readonly workers: () => Iterable<Signalled>,
  ) {
    const s = settings();
    this.logger = createLogger({
      errorlog: s.errorlog,
      loglevel: s.loglevel,
      format: s.log_format,
      bindings: { role: "master" },
    });
    this.log = this.logger.log;
  }

  start(): void {
    this.timer = setInterval(() => this.rotateIfFull(), ROTATION_CHECK_MS);
    this.timer.unref();
  }

  /** USR1, or after a rotation: this process and every worker reopen the log files. */
  reopen(): void {
    this.logger.reopen();
    for (const w of this.workers()) {
      // A worker still starting may not have its USR1 handler yet: it is told once it is ready.
      if (w.state === "running") w.signal("SIGUSR1");
      else this.owed.add(w);
    }
  }

  /** A worker is ready: it reopens now if a reopen came while it started. */
  ready(w: Signalled): void {
    if (this.owed.delete(w)) w.signal("SIGUSR1");
  }

  flush(): void {
    if (this.timer) clearInterval(this.timer);
    this.logger.flush();
  }

  /** A worker's stdout and stderr, one error-log entry per line, tagged with its worker. */
  capture(child: ChildProcess, slot: number): void {
    const out = this.logger.output();
    const tags = { pid: child.pid, role: "worker", worker_id: slotLabel(slot) };
    for (const [input, level] of [
      [child.stdout, "info"],
      [child.stderr, "warn"],
    ] as const) {
      if (!input) continue;
      const stream = level === "info" ? "stdout" : "stderr";
      // readline joins a line split across reads, so an entry is always a whole line.
      createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) =>
        out[level]({ ...tags, stream }, line),
      );
    }
  }

  private rotateIfFull(): void {
    const s = this.settings();
    if (s.log_max_size <= 0) return;
    const full: string[] = [];
    for (const file of [s.errorlog, s.accesslog]) {
      if (!file || file === "-") continue;
      try {
        if (statSync(file).size < s.log_max_size) continue;
      } catch {
        continue; // not written yet
      }
      try {
        shift(file, s.log_keep);
        full.push(file);
      } catch (err) {
        if (this.failed.has(file)) continue;
        this.failed.add(file); // once: the check runs twice a second
        this.log.error(`cannot rotate ${file}: ${(err as Error).message}`);
      }
    }
    if (full.length === 0) return;
    this.reopen();
    this.log.info(`rotated ${full.join(" and ")} (log_max_size ${s.log_max_size} bytes, keeping ${s.log_keep})`);
  }
}

/** file.(keep-1) -> file.keep (the oldest goes), ..., file -> file.1. */
function shift(file: string, keep: number): void {
  for (let i = keep - 1; i >= 1; i--) {
    try {
      renameSync(`${file}.${i}`, `${file}.${i + 1}`);
    } catch {
      // no such generation yet
    }
  }
  renameSync(file, `${file}.1`);
}
