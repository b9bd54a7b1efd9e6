// A slot whose workers keep dying young (an unstable start: younger than min_uptime) is respawned
// ever more slowly: restart_delay doubling up to 10 s, back to at once after one lives longer.
const MAX_BACKOFF_MS = 10_000;

export interface RestartPolicy {
  /** A worker that lived less than this before dying counts towards its slot's backoff. */
  minUptimeMs: number;
  /** The first delay; it doubles with each unstable start in a row. */
  firstDelayMs: number;
}

interface SlotState {
  unstable: number;
  nextSpawnAt: number;
}

export class CrashBackoff {
  private readonly slots = new Map<number, SlotState>();

  constructor(private readonly policy: () => RestartPolicy) {}

  /**
   * A worker of `slot` died on its own: the unstable starts in a row so far, the delay before the
   * next, and why to give up when `maxRestarts` (0: never) have been reached.
   */
  crashed(
    slot: number,
    startedAt: number,
    maxRestarts = 0,
    now = Date.now(),
  ): { inARow: number; delayMs: number; giveUp: string | null } {
    const state = this.stateOf(slot);
    const { minUptimeMs, firstDelayMs } = this.policy();
    if (now - startedAt >= minUptimeMs) {
      state.unstable = 0;
      state.nextSpawnAt = 0;
      return { inARow: 0, delayMs: 0, giveUp: null };
    }
    state.unstable++;
    const cap = Math.max(MAX_BACKOFF_MS, firstDelayMs);
    const delayMs = Math.min(cap, firstDelayMs * 2 ** Math.min(state.unstable - 1, 30));
    state.nextSpawnAt = now + delayMs;
    const giveUp =
      maxRestarts > 0 && state.unstable >= maxRestarts
        ? `slot ${slot}: ${state.unstable} unstable starts in a row (each worker died within min_uptime, ${minUptimeMs / 1000} s, of starting); giving up (max_restarts ${maxRestarts})`
        : null;
    return { inARow: state.unstable, delayMs, giveUp };
  }

  /** The slot is still backing off (the master's tick tries again). */
  waiting(slot: number, now = Date.now()): boolean {
    return (this.slots.get(slot)?.nextSpawnAt ?? 0) > now;
  }

  private stateOf(slot: number): SlotState {
    let state = this.slots.get(slot);
    if (!state) {
      state = { unstable: 0, nextSpawnAt: 0 };
      this.slots.set(slot, state);
    }
    return state;
  }
}
