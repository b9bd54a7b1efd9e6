// A slot whose workers keep dying young is respawned ever more slowly: 100 ms doubling to 10 s
// while each one dies within QUICK_CRASH_MS of starting, back to at once after one lives longer.
/** A worker that lived less than this before crashing counts towards its slot's backoff. */
const QUICK_CRASH_MS = 10_000;
const FIRST_DELAY_MS = 100;
const MAX_BACKOFF_MS = 10_000;

interface SlotState {
  quickCrashes: number;
  nextSpawnAt: number;
}

export class CrashBackoff {
  private readonly slots = new Map<number, SlotState>();

  /** A worker of `slot` crashed: the crashes in a row so far and the delay before the next start. */
  crashed(slot: number, startedAt: number, now = Date.now()): { inARow: number; delayMs: number } {
    const state = this.stateOf(slot);
    if (now - startedAt >= QUICK_CRASH_MS) {
      state.quickCrashes = 0;
      state.nextSpawnAt = 0;
      return { inARow: 0, delayMs: 0 };
    }
    state.quickCrashes++;
    const delayMs = Math.min(MAX_BACKOFF_MS, FIRST_DELAY_MS * 2 ** (state.quickCrashes - 1));
    state.nextSpawnAt = now + delayMs;
    return { inARow: state.quickCrashes, delayMs };
  }

  /** The slot is still backing off (the master's tick tries again). */
  waiting(slot: number, now = Date.now()): boolean {
    return (this.slots.get(slot)?.nextSpawnAt ?? 0) > now;
  }

  private stateOf(slot: number): SlotState {
    let state = this.slots.get(slot);
    if (!state) {
      state = { quickCrashes: 0, nextSpawnAt: 0 };
      this.slots.set(slot, state);
    }
    return state;
  }
}
