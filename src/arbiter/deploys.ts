// Deploys: how a reload (HUP) replaces one generation of workers with the next, by strategy.
//   all      every slot of the new generation starts at once; the old ones retire when all serve
//   rolling  reload_batch slots at a time; each old worker retires as soon as its successor serves
//   canary   canary_workers of the new generation serve beside the old ones, are compared with them
//            (canary.ts), and are promoted (the other slots roll) or rolled back
// Each generation keeps the release directory it resolved (releases.ts). A HUP during a deploy folds
// into one more reload after it; a stop ends it with the rest.
import type { Logger } from "pino";
import type { Settings } from "../config/settings.js";
import type { RestartReason } from "../contracts/lifecycle.js";
import type { DeployRecord, DeployStatus, ReloadOutcome, SideFigures } from "../contracts/deploy-status.js";
import { errorShare, latencyQuantile, type RequestFigures } from "../contracts/request-figures.js";
import { CanaryWindow, judge, type CanaryFigures, type CanaryPolicy } from "./canary.js";
import { Generations } from "./generations.js";
import type { Release } from "./releases.js";
import type { WorkerProcess } from "./worker-process.js";

/** How often a canary's figures are read again (for the status and the metrics) while it runs. */
const CANARY_READ_MS = 1000;
/** How long the master waits for the workers to write fresh figures before it judges a canary. */
const JUDGE_FLUSH_MS = 500;

export interface DeployHost {
  settings(): Settings;
  log: Logger;
  workers(): readonly WorkerProcess[];
  target(): number;
  spawn(slot: number, generation: number): void;
  retire(w: WorkerProcess, reason: RestartReason): void;
  /** Brings the current generation to its target (manageWorkers). */
  manage(): void;
  /** Asks the workers to write their figures now; resolves within `ms`. */
  flush(ms: number): Promise<void>;
  figures(workers: readonly WorkerProcess[]): Map<number, RequestFigures>;
  ended(strategy: string, outcome: ReloadOutcome): void;
  /** A reload was asked for while this one ran: run it now. */
  again(): void;
  /** While a canary runs, the old workers hand it its share of kept-alive connections. */
  handOver(on: boolean): void;
}

interface CanaryRun {
  window: CanaryWindow;
  slots: number;
  /** The last reading, for the status and the metrics. */
  figures: CanaryFigures | null;
  readAt: number;
  judging: boolean;
}

export class Deploys {
  readonly generations = new Generations();
  private readonly releases = new Map<number, Release>();
  private canary: CanaryRun | null = null;
  /** The strategy of the deploy under way. */
  private strategy = "all";
  last: DeployRecord | null = null;
  private seq = 0;

  constructor(private readonly host: DeployHost) {}

  get current(): number {
    return this.generations.current;
  }

  /** A deploy is under way: a new generation boots or rolls, or a canary runs. */
  get active(): boolean {
    return this.generations.reloading || this.canary !== null;
  }

  /** New workers start a batch of slots at a time (rolling, and a promoted canary). */
  get rolling(): boolean {
    return this.generations.reloading && this.strategy !== "all";
  }

  releaseOf(generation: number): Release | undefined {
    return this.releases.get(generation);
  }

  /** The first generation's release. */
  first(release: Release): void {
    this.releases.set(this.generations.current, release);
  }

  /** After the settings were re-read for a HUP: start the next generation by `strategy`. */
  begin(release: Release, strategy: string): void {
    this.strategy = strategy;
    const before = this.releases.get(this.generations.current);
    if (before && before.cwd !== release.cwd) this.host.log.info(`reload: release ${release.cwd} (was ${before.cwd})`);
    this.releases.set(this.generations.next, release);
    this.forgetReleases();
    if (strategy === "canary") this.startCanary();
    else this.generations.begin();
  }

  private startCanary(): void {
    const s = this.host.settings();
    const now = Date.now();
    const window = new CanaryWindow(this.generations.next, this.generations.current, now);
    const old = this.host.workers().filter((w) => w.generation === this.generations.current && w.live);
    for (const [pid, f] of this.host.figures(old)) window.open(pid, f);
    const slots = Math.min(s.canary_workers, this.host.target());
    this.canary = { window, slots, figures: null, readAt: 0, judging: false };
    this.host.log.info(
      `canary: ${slots} worker${slots > 1 ? "s" : ""} of generation ${window.generation} beside the ${old.length} of generation ${window.baseline}, for ${s.canary_period} s${s.canary_min_requests > 0 ? ` or ${s.canary_min_requests} requests` : ""}`,
    );
    this.manageCanary();
  }

  /** Keeps the canary's workers started (slots 1..canary_workers of its generation). */
  manageCanary(): void {
    const c = this.canary;
    if (!c) return;
    const have = new Set(
      this.host
        .workers()
        .filter((w) => w.generation === c.window.generation && w.live)
        .map((w) => w.slot),
    );
    for (let slot = 1; slot <= c.slots; slot++) if (!have.has(slot)) this.host.spawn(slot, c.window.generation);
  }

  /** A worker serves: a canary's figures count from now; a rolling reload retires the old one of its slot. */
  workerReady(w: WorkerProcess): void {
    const c = this.canary;
    if (c && w.generation === c.window.generation) {
      // Its figures count from now: not its warm-up.
      const mine = this.host.figures([w]).get(w.pid);
      if (mine) c.window.open(w.pid, mine);
      this.host.handOver(true);
      return;
    }
    if (this.rolling && w.generation === this.generations.current)
      for (const old of this.host.workers())
        if (old.slot === w.slot && old.generation !== w.generation && old.live) this.host.retire(old, "reload");
    this.completeIfServing();
  }

  /** Every slot of the new generation serves: the old one retires, and the deploy has ended. */
  completeIfServing(): void {
    if (!this.generations.reloading) return;
    const current = this.host.workers().filter((w) => w.generation === this.generations.current);
    if (current.filter((w) => w.state === "running").length < this.host.target()) return;
    const again = this.generations.complete();
    for (const w of this.host.workers())
      if (w.generation !== this.generations.current && w.live) this.host.retire(w, "reload");
    this.host.log.info("reload complete");
    if (this.strategy !== "canary") this.record("promoted", "every worker of the new generation serves");
    if (again) this.host.again();
  }

  /**
   * A worker of a deploy's generation failed to boot (or to warm up): the deploy ends and the old
   * generation serves on. False when the worker was no deploy's.
   */
  bootFailed(w: WorkerProcess, message: string): boolean {
    if (this.canary && w.generation === this.canary.window.generation) {
      this.rollBack(`a canary worker failed to boot: ${message}`, "boot_failed");
      return true;
    }
    if (!this.generations.reloading || w.generation !== this.generations.current) return false;
    this.host.log.error(`reload failed, keeping the running workers: ${message}`);
    for (const other of this.host.workers())
      if (other.generation === this.generations.current) this.host.retire(other, "boot_error");
    this.generations.cancel();
    this.record("boot_failed", message);
    return true;
  }

  /** A worker exited. A canary's that crashed or timed out rolls the canary back at once. */
  exited(w: WorkerProcess, reason: RestartReason, expected: boolean): void {
    const c = this.canary;
    if (!c || w.generation !== c.window.generation || expected) return;
    this.rollBack(`a canary worker ended (${reason}, pid ${w.pid})`, "rolled_back");
  }

  /** On the master's tick: read the canary's figures now and then, and judge it when it is due. */
  tick(now: number): void {
    const c = this.canary;
    if (!c || c.judging || now - c.readAt < CANARY_READ_MS) return;
    c.readAt = now;
    c.figures = this.read(c);
    const p = this.policy();
    if (!c.window.due(now, c.figures, p)) return;
    c.judging = true;
    void this.host.flush(JUDGE_FLUSH_MS).then(() => {
      if (this.canary !== c) return; // rolled back meanwhile
      c.figures = this.read(c);
      const verdict = judge(c.figures, p);
      if (verdict.promote) this.promote(verdict.why);
      else this.rollBack(verdict.why, "rolled_back");
    });
  }

  private read(c: CanaryRun): CanaryFigures {
    const generations = new Set([c.window.generation, c.window.baseline]);
    const workers = this.host.workers().filter((w) => generations.has(w.generation) && w.state === "running");
    const generationOf = new Map(workers.map((w) => [w.pid, w.generation]));
    return c.window.figures(this.host.figures(workers), (pid) => generationOf.get(pid) ?? -1);
  }

  private policy(): CanaryPolicy {
    const s = this.host.settings();
    return {
      periodMs: s.canary_period * 1000,
      minRequests: s.canary_min_requests,
      maxErrorPoints: s.canary_max_error_increase,
      maxLatencyRatio: s.canary_max_latency_ratio,
      quantile: s.canary_quantile,
    };
  }

  /** The canary's generation becomes current; its old twins retire and the other slots roll. */
  private promote(why: string): void {
    const c = this.canary!;
    this.canary = null;
    this.host.handOver(false);
    this.host.log.info(`canary promoted: ${why}`);
    this.record("promoted", why, c.window.generation);
    this.generations.begin();
    for (const w of this.host.workers())
      if (w.generation === c.window.baseline && w.slot <= c.slots && w.live) this.host.retire(w, "reload");
    this.host.manage();
    this.completeIfServing();
  }

  /** The canary's workers drain and retire; the old generation serves on from its own release. */
  private rollBack(why: string, outcome: ReloadOutcome): void {
    const c = this.canary!;
    this.canary = null;
    this.host.handOver(false);
    this.host.log.error(`canary rolled back: ${why}`);
    this.record(outcome, why, c.window.generation);
    for (const w of this.host.workers())
      if (w.generation === c.window.generation && w.live) this.host.retire(w, "reload");
    this.generations.abandon();
    this.host.manage();
  }

  private record(outcome: ReloadOutcome, why: string, generation = this.generations.current): void {
    this.last = {
      seq: ++this.seq,
      generation,
      strategy: this.strategy,
      outcome,
      why,
      at: Date.now(),
    };
    this.host.ended(this.strategy, outcome);
  }

  /** Releases of generations that have no worker left and are neither current nor next. */
  private forgetReleases(): void {
    const inUse = new Set(this.host.workers().map((w) => w.generation));
    const keep = new Set([this.generations.current, this.generations.next]);
    for (const generation of this.releases.keys())
      if (!keep.has(generation) && !inUse.has(generation)) this.releases.delete(generation);
  }

  status(now = Date.now()): DeployStatus {
    const c = this.canary;
    const s = this.host.settings();
    const side = (f: RequestFigures): SideFigures => ({
      requests: f.requests,
      errorShare: errorShare(f),
      latency: latencyQuantile(f, s.canary_quantile),
    });
    let inProgress: DeployStatus["inProgress"] = null;
    if (c)
      inProgress = {
        generation: c.window.generation,
        strategy: this.strategy,
        phase: "canary",
        canary: c.figures ? side(c.figures.canary) : null,
        baseline: c.figures ? side(c.figures.baseline) : null,
        quantile: s.canary_quantile,
        secondsLeft: Math.max(0, (c.window.startedAt + s.canary_period * 1000 - now) / 1000),
      };
    else if (this.generations.reloading)
      inProgress = {
        generation: this.generations.current,
        strategy: this.strategy,
        phase: this.strategy === "all" ? "starting" : "rolling",
        canary: null,
        baseline: null,
        quantile: s.canary_quantile,
        secondsLeft: null,
      };
    return { current: this.generations.current, inProgress, last: this.last };
  }
}
