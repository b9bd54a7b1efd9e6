import { ROUNDS, SITTINGS } from "./settings.mjs";

/**
 * Measures competitors in turn, round after round, rotating who goes first so that each takes
 * every place in the order equally often. The rounds are split over sittings: each starts every
 * competitor afresh and warms it up, because a process has luck of its own (where its code lands
 * in memory, what the JIT decides) that stays with it for its whole life; a single sitting
 * measured one draw of it, and two sittings of the same code differed by up to 5 %. That luck is
 * not even: on these VMs the competitors started and warmed up last in a sitting ran 5-10 %
 * slower for the whole sitting, identical bare servers included (docs/performance.md, "Order
 * of start-up"). So each sitting starts and warms them up in a rotated order, and a scenario
 * runs at least as many sittings as it has competitors, a multiple of their number (rounds
 * permitting), so that each starts in every place equally often. Idle competitors wait on their
 * sockets meanwhile (none does work while idle). Returns, per competitor, the list of what
 * `measure` gave in each round.
 */
export async function alternate(competitors, measure, { rounds = ROUNDS, sittings = SITTINGS, warmup = null } = {}) {
  const results = new Map(competitors.map(([name]) => [name, []]));
  const n = competitors.length;
  sittings = Math.min(rounds, Math.ceil(sittings / n) * n);
  const perSitting = Math.ceil(rounds / sittings);
  let round = 0;
  for (let sitting = 0; sitting < sittings && round < rounds; sitting++) {
    const startOrder = competitors.map((_, i) => (sitting + i) % n);
    const running = new Array(n);
    try {
      for (const k of startOrder) running[k] = await competitors[k][1]();
      if (warmup) for (const k of startOrder) await warmup(running[k]);
      for (let r = 0; r < perSitting && round < rounds; r++, round++) {
        for (let i = 0; i < n; i++) {
          const k = (round + i) % n;
          results.get(competitors[k][0]).push(await measure(running[k]));
        }
      }
    } finally {
      for (const c of running) if (c) await c.stop();
    }
  }
  return results;
}
