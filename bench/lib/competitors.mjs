// What gpe-server is measured against, each started as its README starts it, and gpe-server
// itself: each returns where it serves, its pid and how to stop it (its whole process group).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { freePort, sleep } from "../../support/processes.mjs";
import { until } from "./http.mjs";
import { CLI, HERE } from "./settings.mjs";

export const children = new Set();
export function start(cmd, args, env = {}, cwd = undefined, { capture = false } = {}) {
  const child = spawn(cmd, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", capture ? "pipe" : "inherit"],
    detached: true,
    cwd,
  });
  children.add(child);
  let log = "";
  child.stderr?.on("data", (d) => (log += d));
  return {
    child,
    log: () => log,
    stop: async () => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
      children.delete(child);
      await sleep(300);
    },
  };
}
process.on("exit", () => {
  for (const c of children)
    try {
      process.kill(-c.pid, "SIGKILL");
    } catch {}
});

/**
 * Loopback addresses a competitor of the Connection: close scenario listens on, all on one port.
 * Each of its runs goes to the next: a run leaves some 30 000 sockets in TIME_WAIT for 60 s,
 * which all but fill the client's ports towards that address and port, and a later run to the
 * same address would spend its time finding free ones. With 8, an address is used again only
 * after its sockets have gone.
 */
export const CLOSE_HOSTS = [
  "127.0.0.1",
  "127.0.0.2",
  "127.0.0.3",
  "127.0.0.4",
  "127.0.0.5",
  "127.0.0.6",
  "127.0.0.7",
  "127.0.0.8",
];
export const LOOPBACK = ["127.0.0.1"];
export const SCHED_NONE = { NODE_CLUSTER_SCHED_POLICY: "none" };
/** What a competitor serves on: `url` is the first address; `nextUrl()` takes each in turn. */
export function endpoints(port, hosts) {
  let next = 0;
  return { url: `http://${hosts[0]}:${port}`, nextUrl: () => `http://${hosts[next++ % hosts.length]}:${port}` };
}

/** The command that runs node with `args`, pinned with every process it forks to `cpu` if given. */
export const node = (cpu, args) =>
  cpu === undefined ? [process.execPath, args] : ["taskset", ["-c", String(cpu), process.execPath, ...args]];

// Each competitor takes extra environment, the loopback addresses to listen on, and a CPU to
// pin the whole server to (the pinned scenario).
export async function bare(workers, { env = {}, hosts = LOOPBACK, cpu, app } = {}) {
  const port = await freePort();
  const s = start(...node(cpu, [join(HERE, "bare-cluster.mjs"), String(port), String(workers), hosts.join(",")]), {
    ...env,
    ...(app ? { BENCH_APP: join(HERE, app) } : {}),
  });
  await until(`http://127.0.0.1:${port}/`);
  return { ...endpoints(port, hosts), pid: s.child.pid, stop: s.stop };
}

export const PM2_RUNTIME = join(HERE, "..", "node_modules", "pm2", "bin", "pm2-runtime");

/** PM2's cluster mode as its README starts it: pm2-runtime start app -i N, the app listening itself. */
export async function pm2(workers, { hosts = LOOPBACK, app } = {}) {
  const port = await freePort();
  const home = mkdtempSync(join(tmpdir(), "gpe-bench-pm2-"));
  const s = start(process.execPath, [PM2_RUNTIME, "start", join(HERE, "listening-app.mjs"), "-i", String(workers)], {
    PM2_HOME: home,
    PORT: String(port),
    HOSTS: hosts.join(","),
    ...(app ? { BENCH_APP: join(HERE, app) } : {}),
  });
  await until(`http://127.0.0.1:${port}/`);
  // Every worker listening: PM2 starts them one after another.
  await sleep(1000 + 300 * workers);
  return { ...endpoints(port, hosts), pid: s.child.pid, stop: s.stop };
}

export async function promclient(workers, { hosts = LOOPBACK } = {}) {
  const port = await freePort();
  const metricsPort = await freePort();
  const s = start(process.execPath, [
    join(HERE, "cluster-promclient.mjs"),
    String(port),
    String(workers),
    String(metricsPort),
    hosts.join(","),
  ]);
  await until(`http://127.0.0.1:${port}/`);
  return {
    ...endpoints(port, hosts),
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    pid: s.child.pid,
    stop: s.stop,
  };
}

export async function gpe(
  workers,
  extra = [],
  { env = {}, hosts = LOOPBACK, cpu, app = "hello.mjs", capture = false } = {},
) {
  const port = await freePort();
  const metricsPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "gpe-bench-"));
  const binds = hosts.flatMap((h) => ["-b", `${h}:${port}`]);
  const s = start(
    ...node(cpu, [
      CLI,
      "-w",
      String(workers),
      ...binds,
      "--metrics-port",
      String(metricsPort),
      "--metrics-bind",
      "127.0.0.1",
      "--multiproc-dir",
      dir,
      "--log-level",
      "warning",
      ...extra,
      isAbsolute(app) ? app : join(HERE, app),
    ]),
    env,
    undefined,
    { capture },
  );
  await until(`http://127.0.0.1:${port}/`);
  await until(`http://127.0.0.1:${metricsPort}/metrics`);
  // Every worker booted: the status page lists them running.
  for (let i = 0; i < 600; i++) {
    const status = await new Promise((resolve) =>
      http
        .get(`http://127.0.0.1:${metricsPort}/status.json`, (res) => {
          let b = "";
          res.on("data", (d) => (b += d));
          res.on("end", () => resolve(JSON.parse(b)));
        })
        .on("error", () => resolve(null)),
    );
    if (status && status.workers.filter((w) => w.state === "running").length === workers) break;
    await sleep(100);
  }
  return {
    ...endpoints(port, hosts),
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    pid: s.child.pid,
    dir,
    log: s.log,
    stop: async () => {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const HAVE_GUNICORN =
  !spawnSync("gunicorn", ["--version"]).error &&
  spawnSync("/usr/bin/python3", ["-c", "import prometheus_client"]).status === 0;
export async function gunicorn(workers) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "gunicorn-bench-"));
  const s = start(
    "gunicorn",
    [
      "-w",
      String(workers),
      "-b",
      `127.0.0.1:${port}`,
      "-c",
      "gunicorn_bench.conf.py",
      "--log-level",
      "warning",
      "wsgi_hello:app",
    ],
    { PROMETHEUS_MULTIPROC_DIR: dir },
    HERE,
  );
  await until(`http://127.0.0.1:${port}/`);
  return {
    ...endpoints(port, LOOPBACK),
    pid: s.child.pid,
    stop: async () => {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fork-to-ready of each worker in a master's debug log, in ms (standbys wait by design: left out). */
export function bootTimes(log) {
  const booting = new Map();
  const times = [];
  for (const line of log.split("\n")) {
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    const m = /^Boot(ing|ed) worker with pid: (\d+) \(slot \d+(, standby)?\)/.exec(entry.msg ?? "");
    if (!m || m[3]) continue;
    if (m[1] === "ing") booting.set(m[2], entry.time);
    else if (booting.has(m[2])) times.push(entry.time - booting.get(m[2]));
  }
  return times;
}
