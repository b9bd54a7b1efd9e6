// The master's record of one worker process.
import type { ChildProcess } from "node:child_process";
import { constants as osConstants } from "node:os";
import type { Socket } from "node:net";
import type { RestartReason, WorkerState } from "../contracts/lifecycle.js";
import type { ToMaster, ToMasterReply, ToWorker, ToWorkerRequest } from "../contracts/messages.js";
import type { WorkerView } from "../contracts/pool-view.js";
import { EXIT_APP_LOAD_ERROR, EXIT_BOOT_ERROR } from "../contracts/exit-codes.js";
import { askWhereStuck, stallLine, timeoutMessage } from "./stall-report.js";

export class WorkerProcess implements WorkerView {
  state: WorkerState = "booting";
  stateSince = Date.now();
  readonly startedAt = Date.now();
  lastHeartbeat = Date.now();
  /** Thread worker: since when its most blocked app thread has not run, as of the last heartbeat; 0: none. */
  blockedSince = 0;
  /** Why the master is stopping it, when it is; decides the restart reason at exit. */
  exitReason: RestartReason | null = null;
  /** A replacement is wanted (max_memory): it serves until one is ready in its slot, then retires. */
  replaceWanted: RestartReason | null = null;
  /**
   * Booted ahead of need (prestarted for a worker near max_requests): it gets its sockets, and
   * serves, only when promoted into its slot. `parked` is the listen it was not sent yet.
   */
  standby = false;
  parked: (() => void) | null = null;
  /** It asked to exit and was told no connection follows: never send it one again. */
  exitAgreed = false;
  /** When it was sent TERM or ABRT; it gets SIGKILL if still there after its grace. */
  killDeadline = 0;
  bootError: string | null = null;
  /** It reported ready once: from then on an exit is a crash whatever its code (3 and 4 mean boot errors only before). */
  wasReady = false;
  /** Load, as last reported by the worker (heartbeat, or its answer to a flush). */
  inFlight = 0;
  upgraded = 0;
  /** Connections it keeps alive between requests, as last reported (heartbeat, or when it changed). */
  keptAlive = 0;
  capacity = 0;
  eventLoopUtilization = 0;
  eventLoopLag = 0;
  /** Failed writes of its metrics file, as the worker last reported. */
  storeWriteErrors = 0;

  /** Requests sent and not answered yet, by sequence number (as node:cluster matches its replies). */
  private readonly waiting = new Map<number, (reply: ToMasterReply | null) => void>();
  private seq = 0;

  constructor(
    readonly child: ChildProcess,
    readonly slot: number,
    readonly age: number,
    readonly generation: number,
  ) {
    this.stallLine = stallLine(child);
  }

  private readonly stallLine: Socket | null;

  get pid(): number {
    return this.child.pid!;
  }

  setState(state: WorkerState): void {
    if (this.state === state) return;
    this.state = state;
    this.stateSince = Date.now();
  }

  /** Serving and not on its way out. */
  get live(): boolean {
    return this.state === "booting" || this.state === "running";
  }

  acceptsWork(): boolean {
    return this.state === "running" && !this.exitAgreed && this.child.connected;
  }

  /** A connection sent to a worker that died meanwhile is closed, never left hanging. */
  send(message: ToWorker, handle?: object): void {
    const lost = () => (handle as { destroy?: () => void } | undefined)?.destroy?.();
    if (!this.child.connected) lost();
    else this.child.send(message, handle as never, { keepOpen: false } as never, (err) => err && lost());
  }

  /** It has loaded the app: it gets the listening sockets, the last one marked so it knows when it is ready. */
  booted(listeners: readonly { address: string; handle: object }[], backlog: number): void {
    this.lastHeartbeat = Date.now();
    listeners.forEach((l, i) => {
      this.send({ cmd: "gpe:listen", address: l.address, backlog, last: i === listeners.length - 1 }, l.handle);
    });
    // --sticky: the master accepts for it; one message without a socket says it is ready to serve.
    if (listeners.length === 0) this.send({ cmd: "gpe:listen", address: "", backlog, last: true });
  }

  /** It is idle and stopping: from now on no connection goes to it; the answer follows any already sent. */
  agreeToExit(): void {
    this.exitAgreed = true;
    this.send({ cmd: "gpe:exit-ok" });
  }

  /** Graceful stop of this worker alone: TERM now, KILL once `graceMs` have passed. False if not live. */
  retire(reason: RestartReason, graceMs: number): boolean {
    if (!this.live) return false;
    this.exitReason ??= reason;
    this.stop(true, Date.now() + graceMs);
    return true;
  }

  /** TERM (graceful) or QUIT (fast), and KILL at `deadline` if it is still there. */
  stop(graceful: boolean, deadline: number): void {
    this.setState("quitting");
    this.killDeadline = deadline;
    this.signal(graceful ? "SIGTERM" : "SIGQUIT");
  }

  /** Its heartbeat (or, in a thread worker, an app thread's) is older than `timeoutMs`: it is hung (or frozen). */
  hung(now: number, timeoutMs: number): boolean {
    if (timeoutMs <= 0 || !this.live) return false;
    return now - this.lastHeartbeat > timeoutMs || (this.blockedSince > 0 && now - this.blockedSince > timeoutMs);
  }

  /**
   * Hung: asks it where it is stuck (its stuck clients get a 504), then ABRT (its worker_abort
   * hook may run) and KILL once `graceMs` have passed. Resolves with the WORKER TIMEOUT message.
   */
  async abort(graceMs: number, probeMs: number): Promise<string> {
    const now = Date.now();
    const blockedMs = Math.max(now - this.lastHeartbeat, this.blockedSince > 0 ? now - this.blockedSince : 0);
    this.exitReason = "timeout";
    this.setState("aborting");
    this.killDeadline = now + graceMs + probeMs;
    const reports = probeMs > 0 ? await askWhereStuck(this.stallLine, true) : undefined;
    this.killDeadline = Date.now() + graceMs;
    this.signal("SIGABRT");
    return timeoutMessage(this, blockedMs, reports);
  }

  /** It was told to stop and its time is up. */
  overdue(now: number): boolean {
    return this.killDeadline > 0 && now > this.killDeadline;
  }

  /** A heartbeat: its load as the worker reports it; returns how many more failed writes of its file it saw. */
  heartbeat(m: Omit<Extract<ToMaster, { cmd: "gpe:hb" }>, "cmd">): number {
    this.lastHeartbeat = Date.now();
    this.blockedSince = m.blockedMs > 0 ? this.lastHeartbeat - m.blockedMs : 0;
    this.inFlight = m.inFlight;
    this.upgraded = m.upgraded;
    this.keptAlive = m.keptAlive;
    this.eventLoopUtilization = m.elu;
    this.eventLoopLag = m.lag;
    const added = Math.max(0, m.storeWriteErrors - this.storeWriteErrors);
    this.storeWriteErrors = m.storeWriteErrors;
    return added;
  }

  /** Sends a request; resolves with its reply, or with null after `timeoutMs` or once the worker is gone. */
  request(message: Omit<ToWorkerRequest, "seq">, timeoutMs: number): Promise<ToMasterReply | null> {
    if (!this.child.connected) return Promise.resolve(null);
    const seq = ++this.seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.answer(seq, null), timeoutMs);
      this.waiting.set(seq, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.send({ ...message, seq } as ToWorkerRequest);
    });
  }

  /** A reply came, or (null) its wait ended. */
  answer(seq: number, reply: ToMasterReply | null): void {
    const done = this.waiting.get(seq);
    if (!done) return; // it came after its timeout
    this.waiting.delete(seq);
    done(reply);
  }

  /** Why it ended, as the master counts it, and the warning to log when nobody asked it to. */
  ending(
    code: number | null,
    signal: NodeJS.Signals | null,
  ): { reason: RestartReason; expected: boolean; bootFailed: boolean; unexpectedly: string | null } {
    const bootFailed = !this.wasReady && (code === EXIT_BOOT_ERROR || code === EXIT_APP_LOAD_ERROR);
    const reason: RestartReason = bootFailed ? "boot_error" : (this.exitReason ?? (signal ? "signal" : "crash"));
    const expected = this.exitReason !== null;
    const how = signal ? `was killed by signal ${signal}` : `exited with code ${code}`;
    const unexpectedly = expected
      ? null
      : `Worker (pid:${this.pid}, slot ${this.slot}) ${how}${this.bootError ? `: ${this.bootError}` : ""}`;
    return { reason, expected, bootFailed, unexpectedly };
  }

  /** The process exited: nothing it was asked will be answered. */
  exited(): void {
    for (const seq of [...this.waiting.keys()]) this.answer(seq, null);
  }

  sendConnection(socket: Socket, more: boolean, waitedMs: number): void {
    this.send({ cmd: "gpe:conn", more, waited: waitedMs }, socket);
  }

  askForRoom(): void {
    this.send({ cmd: "gpe:wanted" });
  }

  signal(signal: NodeJS.Signals): void {
    try {
      this.child.kill(signal);
    } catch {
      // already gone; its exit event is on the way
    }
  }

  /** What hooks receive as `worker`. */
  info(): { pid: number; slot: number; age: number; state: WorkerState; startedAt: number } {
    return { pid: this.pid, slot: this.slot, age: this.age, state: this.state, startedAt: this.startedAt };
  }
}

/** A process's exit status as a shell reports it: the code, or 128 + the signal number. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal ? 128 + (osConstants.signals[signal] ?? 0) : 0;
}
