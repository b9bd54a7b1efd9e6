// gunicorn's rule for signals in the master: a handler only queues the signal and wakes the loop,
// which then handles each in order. A burst is capped; repeats of one kind collapse in the kernel.
const SIGNALS = [
  "SIGHUP",
  "SIGTERM",
  "SIGINT",
  "SIGQUIT",
  "SIGTTIN",
  "SIGTTOU",
  "SIGUSR1",
  "SIGUSR2",
  "SIGWINCH",
] as const;
const MAX_QUEUED = 64;

export class SignalQueue {
  private readonly queue: string[] = [];
  private wakeScheduled = false;

  /** @param handle called on the loop with each signal's name without "SIG", in arrival order. */
  constructor(private readonly handle: (name: string) => void) {}

  install(): void {
    for (const signal of SIGNALS) process.on(signal, () => this.push(signal.slice(3)));
  }

  private push(name: string): void {
    if (this.queue.length < MAX_QUEUED) this.queue.push(name);
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) this.handle(next);
    });
  }
}
