// max_memory: each worker's resident set, read from /proc once a second (one small read per
// worker, far cheaper than the CPU sampling), and the workers over the limit two readings running.
import { residentBytes } from "../platform/proc.js";
import type { Logger } from "pino";

export const MEMORY_SAMPLE_MS = 1000;

export interface Watched {
  pid: number;
  slot: number;
}

export class MemoryWatch<W extends Watched> {
  /** Readings over the limit in a row, by pid. */
  private readonly over = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private reading = false;

  constructor(
    private readonly log: Logger,
    private readonly limit: () => number,
    private readonly pool: { live(): W[] },
    private readonly tooBig: (w: W) => void,
    private readonly read = residentBytes,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), MEMORY_SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async check(): Promise<void> {
    const limit = this.limit();
    if (limit <= 0 || this.reading) return;
    this.reading = true;
    try {
      const workers = this.pool.live();
      const rss = await Promise.all(workers.map((w) => this.read(w.pid)));
      const seen = new Set<number>();
      workers.forEach((w, i) => {
        seen.add(w.pid);
        const bytes = rss[i];
        const count = bytes !== null && bytes !== undefined && bytes > limit ? (this.over.get(w.pid) ?? 0) + 1 : 0;
        this.over.set(w.pid, count);
        if (count !== 2) return;
        const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`;
        this.log.warn(
          `Worker (pid:${w.pid}, slot ${w.slot}) uses ${mib(bytes!)}, above max_memory ${mib(limit)}: replacing it`,
        );
        this.tooBig(w);
      });
      for (const pid of this.over.keys()) if (!seen.has(pid)) this.over.delete(pid);
    } finally {
      this.reading = false;
    }
  }
}
