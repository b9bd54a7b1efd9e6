// Starts the real gpe-server CLI and talks to it over loopback. Every server runs in its own
// process group and is killed (the whole group) by stopAll(), which tests call in after().
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { childPids, freePort, processAlive } from "../../support/processes.mjs";
import http from "node:http";

export { childPids };
/** Whether a process lives and is not a zombie. */
export const alive = processAlive;

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = join(ROOT, "bin", "gpe-server.js");
export const FIXTURES = join(ROOT, "test", "fixtures");

const running = new Set();
/** Process groups started here; kept after their leader exits (a USR2 successor lives on in it). */
const groups = new Set();
const tempDirs = new Set();

// Nothing outlives this test file, however it ends: `after` hooks do not run when the runner kills
// a file on its timeout (SIGTERM), on ^C, or when this process crashes.
const killAllGroups = () => {
  for (const pgid of groups) killPgid(pgid, "SIGKILL");
};
process.on("exit", killAllGroups);
for (const [signal, number] of [
  ["SIGINT", 2],
  ["SIGTERM", 15],
  ["SIGHUP", 1],
]) {
  process.once(signal, () => {
    killAllGroups();
    process.exit(128 + number);
  });
}
// A runner killed outright (SIGKILL) sends nothing: this process is re-parented instead. The
// servers also get --die-with-parent (below) in case this process is the one killed outright.
const parentAtStart = process.ppid;
setInterval(() => {
  if (process.ppid !== parentAtStart) process.exit(1);
}, 250).unref();

export function tempDir(prefix = "gpe-test-") {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

// Never the same port twice in one process (the bench's helper).
export { freePort };

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(check, { timeout = 10_000, interval = 50, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    await sleep(interval);
  }
  throw new Error(
    `timed out waiting for ${typeof what === "function" ? what() : what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`,
  );
}

/** Runs the CLI to completion (for bad-input checks). */
export function runCli(args, { env = {}, cwd = ROOT, timeout = 15_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: "1", ...env },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    groups.add(child.pid);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => killGroup(child, "SIGKILL"), timeout);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, signal, stdout, stderr, pid: child.pid });
    });
  });
}

function killGroup(child, signal) {
  killPgid(child.pid, signal);
}

function killPgid(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** The flags that put a server on loopback ports of its own and a store directory of its own. */
export function listenArgs(port, metricsPort, dir) {
  return [
    "-b",
    `127.0.0.1:${port}`,
    "--metrics-port",
    String(metricsPort),
    "--metrics-bind",
    "127.0.0.1",
    "--multiproc-dir",
    dir,
  ];
}

/** Starts a server and waits until all its workers have booted. */
export async function startServer({
  app = join(FIXTURES, "app.mjs"),
  workers = 2,
  args = [],
  env = {},
  waitWorkers = workers,
  metrics = true,
  wrap = [],
  cwd = ROOT,
} = {}) {
  const port = await freePort();
  const metricsPort = await freePort();
  const dir = tempDir("gpe-store-");
  const fullArgs = [
    "--die-with-parent",
    ...listenArgs(port, metricsPort, dir),
    "-w",
    String(workers),
    ...(metrics ? [] : ["--no-metrics"]),
    ...args,
    // null: the config names the app (a PM2 ecosystem file's script).
    ...(app === null ? [] : [app]),
  ];
  // `wrap`: a command that runs the server (it must exec it, keeping the pid).
  const [command, ...commandArgs] = [...wrap, process.execPath, CLI, ...fullArgs];
  const { child, logs, exited } = startProcess(command, commandArgs, {
    env: { NO_COLOR: "1", GPE_METRICS_FLUSH_INTERVAL: "0.2", ...env },
    cwd,
  });
  const server = {
    child,
    pid: child.pid,
    port,
    metricsPort,
    dir,
    exited,
    url: (path = "/") => `http://127.0.0.1:${port}${path}`,
    logs,
    workerPids: () => childPids(child.pid),
    signal: (sig) => process.kill(child.pid, sig),
    scrape: (opts) => scrape(metricsPort, opts),
  };
  if (waitWorkers > 0) {
    await waitFor(() => (logs().match(/Booted worker/g) ?? []).length >= waitWorkers, {
      timeout: 20_000,
      // A function: the logs as they are when the wait gives up, not as they were when it began.
      what: () => `${waitWorkers} workers to boot; logs:\n${logs()}`,
    });
  }
  return server;
}

/** Kills the process group `pgid` (one this file did not start itself) with the others. */
export function adopt(pgid) {
  groups.add(pgid);
}

/** Kills every server started by this test file, by process group. */
export async function stopAll() {
  for (const pgid of groups) killPgid(pgid, "SIGKILL");
  groups.clear();
  for (const child of running) {
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
  await sleep(50);
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** The process group `pid` has no process left. */
export function groupGone(pid) {
  try {
    process.kill(-pid, 0);
    return false;
  } catch (err) {
    return err.code === "ESRCH";
  }
}

/** One HTTP request without connection reuse; resolves with status, headers and body. */
export function request(url, { method = "GET", headers = {}, body, timeout = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, headers: { connection: "close", ...headers }, agent: false, timeout },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode, headers: res.headers, body: bytes.toString(), bytes });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Scrapes /metrics and parses the text format into samples. */
export async function scrape(metricsPort, { headers = {} } = {}) {
  const res = await request(`http://127.0.0.1:${metricsPort}/metrics`, { headers });
  if (res.status !== 200) throw new Error(`scrape answered ${res.status}: ${res.body}`);
  return parseMetrics(res.body, res);
}

export function parseMetrics(text, res = {}) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    const labels = {};
    for (const [, k, v] of (m[3] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  const sum = (name, filter = {}) =>
    samples
      .filter((s) => s.name === name && Object.entries(filter).every(([k, v]) => s.labels[k] === v))
      .reduce((n, s) => n + s.value, 0);
  const find = (name, filter = {}) =>
    samples.filter((s) => s.name === name && Object.entries(filter).every(([k, v]) => s.labels[k] === v));
  return { text, samples, sum, find, status: res.status, headers: res.headers };
}

/** Sends requests continuously until stopped; counts successes and failures. */
export function loadLoop(url, { concurrency = 4, path = "/" } = {}) {
  const stats = { ok: 0, failed: 0, errors: [] };
  let running = true;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        const res = await request(url + path);
        if (res.status === 200) stats.ok++;
        else {
          stats.failed++;
          stats.errors.push(`status ${res.status}`);
        }
      } catch (err) {
        stats.failed++;
        stats.errors.push(err.message);
      }
    }
  });
  return {
    stats,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

/** Starts a metrics-only command (`aggregate`, `exporter`) and waits until it serves /metrics. */
export async function startCommand(command, args = [], { env = {} } = {}) {
  const metricsPort = await freePort();
  const { child, logs, exited } = startProcess(
    process.execPath,
    [CLI, command, "--metrics-port", String(metricsPort), "--metrics-bind", "127.0.0.1", ...args],
    { env: { NO_COLOR: "1", ...env } },
  );
  await waitFor(() => /Metrics at/.test(logs()), {
    timeout: 10_000,
    what: () => `${command} to listen; logs:\n${logs()}`,
  });
  return {
    child,
    pid: child.pid,
    metricsPort,
    exited,
    logs,
    signal: (sig) => process.kill(child.pid, sig),
    scrape: (opts) => scrape(metricsPort, opts),
    get: (path = "/metrics") => request(`http://127.0.0.1:${metricsPort}${path}`),
  };
}

/**
 * A real redis-server on a free loopback port, in its own process group (killed by stopAll).
 * stop() and start() take it down and bring it back on the same port.
 */
export async function startRedis({ password } = {}) {
  const port = await freePort();
  const redis = {
    port,
    password,
    child: null,
    url: (db = 0) => `redis://${password ? `:${encodeURIComponent(password)}@` : ""}127.0.0.1:${port}/${db}`,
    async start() {
      const args = [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "no",
        ...(password ? ["--requirepass", password] : []),
      ];
      const child = spawn("redis-server", args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
      running.add(child);
      groups.add(child.pid);
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.on("exit", () => running.delete(child));
      redis.child = child;
      await waitFor(() => /Ready to accept connections/.test(out), {
        timeout: 10_000,
        what: `redis-server to start; output:\n${out}`,
      });
    },
    async stop() {
      const child = redis.child;
      if (!child || child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once("exit", resolve));
      killGroup(child, "SIGKILL");
      await gone;
    },
  };
  await redis.start();
  return redis;
}

/** Sends one command to Redis with redis-cli; returns its stdout. */
export function redisCli(redis, ...args) {
  const auth = redis.password ? ["-a", redis.password, "--no-auth-warning"] : [];
  const out = spawnSync("redis-cli", ["-p", String(redis.port), ...auth, ...args], { encoding: "utf8", timeout: 5000 });
  return out.stdout.trim();
}

/** Starts any program in its own process group (killed by stopAll) and collects its output. */
export function startProcess(command, args, { env = {}, cwd = ROOT } = {}) {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  groups.add(child.pid);
  let logs = "";
  child.stdout.on("data", (d) => (logs += d));
  child.stderr.on("data", (d) => (logs += d));
  const exited = new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, pid: child.pid, logs: () => logs, exited };
}
