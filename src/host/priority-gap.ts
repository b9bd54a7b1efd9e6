// worker_nice: the master runs that much above its workers in scheduling priority. Where the
// master may raise its own priority (root, CAP_SYS_NICE), it does, and the workers keep the
// priority gpe-server was started with, so they lose nothing against other processes on the host.
// Elsewhere the workers are lowered instead; by default (auto) they are never lowered unasked.
import { readdirSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import type { Logger } from "pino";
import type { WorkerNice } from "../config/validators.js";

const HIGHEST = -20;
const LOWEST = 19;
/** auto's gap where the master may raise itself: enough to keep it ahead of saturating workers. */
const AUTO_GAP = 10;
/** Carries the starting priority to a USR2 successor, which is forked from a raised master. */
const STARTED_ENV = "GPE_STARTED_PRIORITY";

export class PriorityGap {
  /** The priority gpe-server was started with. */
  private readonly started: number;
  private setting: WorkerNice | null = null;
  /** How far below the master a new worker runs, once the master could not raise itself. */
  private gap = 0;
  /** The master could not raise itself: the gap comes from lowering the workers. */
  private raiseRefused = false;

  constructor(private readonly log: Logger) {
    const inherited = Number.parseInt(process.env[STARTED_ENV] ?? "", 10);
    this.started = Number.isInteger(inherited) ? inherited : getPriority();
    process.env[STARTED_ENV] = String(this.started);
  }

  /** Called before each fork: the master's priority for the setting (which a HUP may have changed). */
  settle(setting: WorkerNice): void {
    if (setting === this.setting) return;
    this.setting = setting;
    const auto = setting === "auto";
    const by = auto ? AUTO_GAP : setting;
    const wanted = Math.max(HIGHEST, this.started - by);
    this.gap = this.raiseRefused && auto ? 0 : by;
    if (this.raiseRefused && wanted < getPriority()) return;
    try {
      setPriority(wanted);
      setEveryThread("self", wanted);
    } catch (err) {
      this.raiseRefused = true;
      // os.setPriority's error carries the errno's name in `info`.
      const code = (err as { info?: { code?: string } }).info?.code ?? (err as NodeJS.ErrnoException).code;
      if (auto) {
        this.gap = 0;
        this.log.debug(`worker_nice auto: the master cannot raise its priority (${code}); all run as started`);
        return;
      }
      this.log.info(
        `worker_nice: the master cannot raise its priority (${code}: it takes root or CAP_SYS_NICE); the workers run ${by} lower instead`,
      );
    }
  }

  /** Gives a new worker its priority: `gap` below the master's, as near the start's as that allows. */
  place(pid: number | undefined): void {
    if (pid === undefined) return;
    const master = getPriority();
    // A raised master's workers keep the start's priority; otherwise they are lowered by the gap.
    const worker = this.raiseRefused ? Math.min(LOWEST, master + this.gap) : this.started;
    if (worker === master) return; // as forked
    try {
      setPriority(pid, worker);
      // Threads the worker started before this inherited the master's priority.
      setEveryThread(String(pid), worker);
    } catch (err) {
      this.log.warn(`worker_nice: cannot set the priority of worker ${pid}: ${(err as Error).message}`);
    }
  }
}

/**
 * On Linux a priority belongs to a thread, and a thread takes its creator's at birth: V8's helper
 * threads, started before a priority is set, keep the old one unless each is set too.
 */
function setEveryThread(pid: string, priority: number): void {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return; // not Linux (a priority is the whole process's), or a process that has just ended
  }
  for (const tid of tids) {
    try {
      setPriority(Number(tid), priority);
    } catch {
      // a thread that has just ended
    }
  }
}
