// The knobs of a bench run (environment variables; the runner's header lists them) and where things are.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The bench folder: its apps and scripts. */
export const HERE = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = join(HERE, "..", "bin", "gpe-server.js");
export const DURATION = Number(process.env.BENCH_DURATION ?? 2);
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
export const SITTINGS = Number(process.env.BENCH_SITTINGS ?? 4);
export const SCRAPES = Number(process.env.BENCH_SCRAPES ?? 500);
export const RESTARTS = Number(process.env.BENCH_RESTARTS ?? 1000);
/** The mixed-load runs last 10 s each: fewer rounds. */
export const MIXED_ROUNDS = Math.min(ROUNDS, 5);
