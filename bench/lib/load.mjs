// The load drivers: wrk (its arguments and its output), autocannon, and one measured run of
// either against a competitor (requests/s and the competitor's CPU per request).
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { treeCpuSeconds } from "../../support/processes.mjs";
import { DURATION, HERE } from "./settings.mjs";

export function toMs(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  return m ? Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "ms" ? 1 : 1000) : NaN;
}

/** Runs wrk; returns requests/s, latency percentiles (ms) and failed requests. */
export function wrkArgs({
  url,
  connections = 64,
  threads = Math.min(2, connections),
  duration = DURATION,
  close = false,
  script = null,
}) {
  return [
    `-t${threads}`,
    `-c${connections}`,
    `-d${duration}s`,
    "--latency",
    ...(close ? ["-H", "Connection: close"] : []),
    ...(script ? ["-s", script] : []),
    url,
  ];
}
export function parseWrk(out) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  if (!Number.isFinite(rps)) throw new Error(`wrk failed: ${out}`);
  const pct = (p) => toMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(out)?.[1] ?? "");
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const socketFailures = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return {
    rps,
    p50: pct(50),
    p99: pct(99),
    failed: non2xx + socketFailures,
    non2xx,
    socketFailures,
    socketErrors: sock ? sock[0] : "none",
    total,
  };
}
/** One wrk run; `cpu` pins it (and its one thread) to that CPU. */
export const wrk = ({ cpu, ...opts }) => {
  const [cmd, args] =
    cpu === undefined
      ? ["wrk", wrkArgs(opts)]
      : ["taskset", ["-c", String(cpu), "wrk", ...wrkArgs({ ...opts, threads: 1 })]];
  return parseWrk(spawnSync(cmd, args, { encoding: "utf8" }).stdout);
};
export function wrkAsync(opts) {
  return new Promise((resolve) => {
    const child = spawn("wrk", wrkArgs(opts), { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("exit", () => resolve(parseWrk(out)));
  });
}

export const AUTOCANNON = join(HERE, "..", "node_modules", "autocannon", "autocannon.js");
/** One autocannon run (what Node developers measure with), keep-alive, 50 connections: requests/s. */
export function autocannon(c, { connections = 50, path = "/" } = {}) {
  const before = treeCpuSeconds(c.pid);
  const r = spawnSync(
    process.execPath,
    [AUTOCANNON, "-c", String(connections), "-d", String(DURATION), "-j", "-n", `${c.nextUrl()}${path}`],
    { encoding: "utf8", maxBuffer: 1 << 26 },
  );
  const out = JSON.parse(r.stdout);
  const total = out.requests.total || 1;
  return {
    rps: out.requests.average,
    cpuUs: ((treeCpuSeconds(c.pid) - before) / total) * 1e6,
    errors: out.errors + out.non2xx,
  };
}

/** One wrk run against a competitor: requests/s and the competitor's CPU µs per request. */
export function throughput(c, { path = "/", ...opts } = {}) {
  const before = treeCpuSeconds(c.pid);
  const r = wrk({ url: `${c.nextUrl()}${path}`, ...opts });
  return { rps: r.rps, cpuUs: ((treeCpuSeconds(c.pid) - before) / r.total) * 1e6 };
}
export const warmup =
  (opts, path = "/") =>
  (c) =>
    void wrk({ url: `${c.nextUrl()}${path}`, duration: 2, ...opts });
