// `gpe-server status`: the pool at a glance in a terminal, from a running master's /status.json.
// The master is found by --metrics-url, or by --pid FILE: its listening sockets are looked up in
// /proc and the one that answers /status.json is the metrics port.
import { readFileSync, readdirSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { Command, CommanderError, Option } from "commander";
import { commonBehaviour } from "./program.js";
import type { StatusJSON, WorkerStatus } from "../exporter/status-board.js";
import type { DeployStatus, SideFigures } from "../contracts/deploy-status.js";
import { alive, listeningRows, socketInode } from "../platform/proc.js";
import { authorizationHeader } from "../exporter/security.js";

export class StatusError extends Error {}

/** Credentials for a metrics port with metrics_auth, from the same environment the server reads. */
function authorization(): string | undefined {
  const mode = process.env.GPE_METRICS_AUTH;
  if (mode !== "basic" && mode !== "bearer") return undefined;
  let secret = process.env.GPE_METRICS_AUTH_SECRET;
  if (!secret && process.env.GPE_METRICS_AUTH_FILE) {
    try {
      secret = readFileSync(process.env.GPE_METRICS_AUTH_FILE, "utf8").split(/\r?\n/)[0];
    } catch (err) {
      throw new StatusError(
        `cannot read GPE_METRICS_AUTH_FILE ${process.env.GPE_METRICS_AUTH_FILE} (${(err as NodeJS.ErrnoException).code})`,
      );
    }
  }
  if (!secret) return undefined;
  return authorizationHeader(mode, secret.trim());
}

export function getJSON(url: string, timeoutMs = 3000): Promise<StatusJSON> {
  const auth = authorization();
  const client = url.startsWith("https:") ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { timeout: timeoutMs, headers: auth ? { authorization: auth } : {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => {
        if (res.statusCode === 401)
          return reject(
            new StatusError(
              `${url} wants credentials: set GPE_METRICS_AUTH and GPE_METRICS_AUTH_SECRET (or _FILE) as for the server`,
            ),
          );
        if (res.statusCode !== 200) return reject(new StatusError(`${url} answered ${res.statusCode}`));
        try {
          resolve(JSON.parse(body) as StatusJSON);
        } catch {
          reject(new StatusError(`${url} did not answer JSON: is it a gpe-server metrics port?`));
        }
      });
    });
    req.on("timeout", () => req.destroy(new StatusError(`${url}: no answer within ${timeoutMs} ms`)));
    req.on("error", (err) =>
      reject(
        err instanceof StatusError
          ? err
          : new StatusError(`cannot reach ${url}: ${(err as NodeJS.ErrnoException).code ?? err.message}`),
      ),
    );
  });
}

/** host:port of every TCP socket the process listens on, from /proc. */
function listeningAddresses(pid: number): string[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new StatusError(
      code === "ENOENT"
        ? `no process with pid ${pid} (a stale pidfile?)`
        : `cannot inspect process ${pid} (${code}); use --metrics-url`,
    );
  }
  // Newest descriptor first: the master opens its metrics server after the app's sockets, so
  // the first probe normally finds it and no request reaches the app.
  const order = new Map<string, number>();
  for (const fd of fds) {
    const inode = socketInode(pid, fd);
    if (inode) order.set(inode, Number(fd));
  }
  const inodes = new Set(order.keys());
  const found: { fd: number; address: string }[] = [];
  for (const [table, v6] of [
    ["tcp", false],
    ["tcp6", true],
  ] as const) {
    for (const f of listeningRows(`/proc/${pid}/net/${table}`)) {
      if (!inodes.has(f[9]!)) continue;
      const [hexHost, hexPort] = f[1]!.split(":");
      const port = parseInt(hexPort!, 16);
      const any = /^0+$/.test(hexHost!);
      const host = any
        ? "127.0.0.1"
        : v6
          ? "[::1]"
          : hexHost!
              .match(/../g)!
              .reverse()
              .map((b) => parseInt(b, 16))
              .join(".");
      found.push({ fd: order.get(f[9]!)!, address: `${host}:${port}` });
    }
  }
  return found.sort((a, b) => b.fd - a.fd).map((x) => x.address);
}

/** The master's pid from its pidfile; a missing file or a dead pid is one clear line. */
export function readPidfile(pidfile: string): number {
  let pid: number;
  try {
    pid = Number(readFileSync(pidfile, "utf8").trim());
  } catch (err) {
    throw new StatusError(`cannot read pidfile ${pidfile} (${(err as NodeJS.ErrnoException).code})`);
  }
  if (!Number.isInteger(pid) || pid <= 0) throw new StatusError(`pidfile ${pidfile} does not hold a pid`);
  if (!alive(pid)) throw new StatusError(`no process with pid ${pid} (a stale pidfile ${pidfile}?)`);
  return pid;
}

/** The metrics base URL from what users paste: the base, /metrics, /status or /status.json. */
export function metricsBase(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/(metrics|status(\.json)?)$/, "");
}

export async function findByPid(pidfile: string): Promise<string> {
  const pid = readPidfile(pidfile);
  for (const address of listeningAddresses(pid)) {
    for (const scheme of ["http", "https"]) {
      const url = `${scheme}://${address}`;
      try {
        await getJSON(`${url}/status.json`, 1000);
        return url;
      } catch {
        // an app port, or a metrics server without status
      }
    }
  }
  throw new StatusError(`process ${pid} serves no /status.json on any port it listens on (metrics disabled?)`);
}

// ---- the table --------------------------------------------------------------------------------

const mib = (b: number | null) => (b === null ? "-" : `${(b / 1048576).toFixed(1)}M`);
function duration(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
const restarts = (r: Record<string, number>) =>
  Object.entries(r)
    .map(([k, v]) => `${k}=${v}`)
    .join(",") || "0";

export function renderStatus(s: StatusJSON): string {
  const header = [
    "SLOT",
    "PID",
    "TYPE",
    "STATE",
    "BUSY",
    "CONNS",
    "REQS",
    "REQ/S",
    "RSS",
    "CPU%",
    "UPTIME",
    "HB",
    "RESTARTS",
  ];
  const rows = s.workers.map((w: WorkerStatus) => [
    w.workerId,
    String(w.pid),
    s.workerClass,
    w.state,
    `${w.inFlight}/${w.capacity}`,
    String(w.connections ?? 0),
    String(w.requests),
    w.requestsPerSecond.toFixed(1),
    mib(w.memoryBytes),
    w.cpuPercent === null ? "-" : w.cpuPercent.toFixed(0),
    duration(w.uptimeSeconds),
    `${w.heartbeatAgeSeconds.toFixed(1)}s`,
    restarts(w.restarts),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < 4 || i === 12 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  const u = s.summary;
  const summary =
    `master ${s.pid}  workers ${u.workers} (target ${u.target}${u.min === null || u.min === undefined ? "" : `, adaptive ${u.min}..${u.max}`})  busy ${u.busy}  utilization ${(u.utilization * 100).toFixed(0)}%  ` +
    `req/s ${u.requestsPerSecond.toFixed(1)}  queued ${u.queued} (kernel ${u.listenQueue})  restarts ${restarts(u.restarts)}`;
  return `${[line(header), ...rows.map(line), "", summary, ...deployLines(s.deploy)].join("\n")}\n`;
}

const side = (f: SideFigures | null, quantile: number) =>
  f === null
    ? "no figures yet"
    : `${f.requests} requests, 5xx ${(f.errorShare * 100).toFixed(1)} %, p${Math.round(quantile * 100)} ${f.latency === null ? "n/a" : `${Math.round(f.latency * 1000)} ms`}`;

/** The deploy under way and how the last one ended, a line each (none before the first reload). */
export function deployLines(d: DeployStatus | undefined): string[] {
  if (!d) return [];
  const lines: string[] = [];
  const p = d.inProgress;
  if (p?.phase === "canary")
    lines.push(
      `deploy: canary of generation ${p.generation}: ${side(p.canary, p.quantile)}; old generation: ${side(p.baseline, p.quantile)}; ${Math.ceil(p.secondsLeft ?? 0)} s left at most`,
    );
  else if (p) lines.push(`deploy: generation ${p.generation} ${p.phase} (${p.strategy})`);
  const last = d.last;
  if (last)
    lines.push(
      `last deploy: generation ${last.generation}, ${last.strategy}, ${last.outcome.replace("_", " ")}: ${last.why}`,
    );
  return lines;
}

// ---- the command ------------------------------------------------------------------------------

export async function runStatus(argv: string[]): Promise<void> {
  const program = commonBehaviour(new Command("gpe-server status"), "gpe-server status")
    .description("Show each worker's state, load and restarts, from a running gpe-server's metrics port.")
    .addOption(
      new Option("--metrics-url <URL>", "the master's metrics server (its base URL or the /metrics URL)").default(
        `http://127.0.0.1:${process.env.PROMETHEUS_METRICS_PORT ?? 9090}`,
        "http://127.0.0.1:$PROMETHEUS_METRICS_PORT or :9090",
      ),
    )
    .addOption(new Option("--pid <FILE>", "find the master by its pidfile instead (Linux)").conflicts("metricsUrl"))
    .addOption(new Option("--watch [SECONDS]", "refresh in place, like top (default every 2 s)"))
    .addOption(new Option("--json", "print the status as JSON, for scripts").conflicts("watch"));
  try {
    program.parse(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    throw err;
  }
  const opts = program.opts<{ metricsUrl: string; pid?: string; watch?: string | true; json?: boolean }>();
  try {
    const base = metricsBase(opts.pid ? await findByPid(opts.pid) : opts.metricsUrl);
    const url = `${base}/status.json`;
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(await getJSON(url), null, 2)}\n`);
      return;
    }
    if (opts.watch === undefined) {
      process.stdout.write(renderStatus(await getJSON(url)));
      return;
    }
    const seconds = opts.watch === true ? 2 : Number(opts.watch);
    if (!(seconds >= 0.2))
      throw new StatusError(`--watch: expected seconds (at least 0.2), got ${JSON.stringify(opts.watch)}`);
    for (;;) {
      let text: string;
      try {
        text = renderStatus(await getJSON(url));
      } catch (err) {
        text = `${(err as Error).message}; retrying\n`;
      }
      // Home, clear the screen, draw: the table redraws in place like top.
      process.stdout.write(`\x1b[H\x1b[2J${new Date().toLocaleTimeString()}  ${url}\n\n${text}`);
      await new Promise((r) => setTimeout(r, seconds * 1000));
    }
  } catch (err) {
    if (!(err instanceof StatusError)) throw err;
    process.stderr.write(`gpe-server status: ${err.message}\n`);
    process.exit(1);
  }
}
