// `gpe-server logs`: a running master's error log (the server's lines and, with capture_output,
// the app's output) and its access log, found from its status (the paths it resolved itself). The
// last lines of each, then with --follow what is written next, across rotations (a rotated file
// is read to its end before the new one is opened).
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import type { LogFiles } from "../exporter/status-board.js";
import { addMasterOptions, locate, runOnMaster, type MasterOptions } from "./find-master.js";
import { commonBehaviour } from "./program.js";
import { StatusError, getJSON } from "./status.js";

interface LogsOptions extends MasterOptions {
  lines: number;
  follow: boolean;
  worker?: number;
  out: boolean;
  err: boolean;
  access: boolean;
  json: boolean;
}

type Kind = "error" | "access";

/** How often --follow looks for new lines. */
const FOLLOW_MS = 200;
/** How much of a file's end is read for its last lines. */
const TAIL_BYTES = 4 * 1024 * 1024;

const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };

/** Which logs the options ask for, and which lines of the error log. */
function selection(o: LogsOptions): { wants(kind: Kind): boolean; keeps(kind: Kind, line: string): boolean } {
  const all = !o.out && !o.err && !o.access;
  const worker = o.worker === undefined ? null : new RegExp(`"worker_id":"worker_${o.worker}"|"slot":${o.worker}[,}]`);
  return {
    // The access log does not say which worker wrote a line: --worker leaves it out.
    wants: (kind) => (kind === "error" ? all || o.out || o.err : (all || o.access) && worker === null),
    keeps: (kind, line) => {
      if (line === "") return false;
      if (kind === "access") return true;
      const isOut = line.includes('"stream":"stdout"');
      if (!all && !(isOut ? o.out : o.err)) return false;
      return worker === null || worker.test(line);
    },
  };
}

/** A JSON line of the error log as a person reads it; any other line as it is. */
function render(line: string): string {
  if (!line.startsWith("{")) return line;
  try {
    const e = JSON.parse(line) as Record<string, unknown>;
    const who = e.worker_id ?? (e.slot !== undefined ? `worker_${e.slot}` : (e.role ?? "master"));
    const stream = e.stream ? ` ${e.stream}` : "";
    const err = e.err as { message?: string } | undefined;
    return `${new Date(Number(e.time)).toISOString()} ${LEVELS[Number(e.level)] ?? e.level} [${who}${stream}] ${e.msg ?? ""}${err?.message && !String(e.msg).includes(err.message) ? ` (${err.message})` : ""}`;
  } catch {
    return line;
  }
}

/** The last `n` lines of a file that `keep` keeps, and where the file ends. */
function lastLines(path: string, n: number, keep: (line: string) => boolean): { lines: string[]; end: number } {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    readSync(fd, buffer, 0, buffer.length, start);
    // Up to the last newline: a line still being written is left to --follow.
    const lastNewline = buffer.lastIndexOf(0x0a);
    const lines = buffer.toString("utf8", 0, lastNewline + 1).split("\n");
    lines.pop();
    if (start > 0) lines.shift(); // cut mid-line
    return { lines: lines.filter(keep).slice(-n), end: start + lastNewline + 1 };
  } finally {
    closeSync(fd);
  }
}

/** Follows one file by name: new complete lines, a rotation (a new file at the path) or a truncation. */
class Follower {
  private fd: number;
  private ino: number;
  private pos: number;
  private partial = "";

  constructor(
    private readonly path: string,
    end: number,
    private readonly emit: (line: string) => void,
  ) {
    this.fd = openSync(path, "r");
    this.ino = fstatSync(this.fd).ino;
    this.pos = end;
  }

  poll(): void {
    this.drain();
    let now: { ino: number; size: number } | null = null;
    try {
      now = statSync(this.path);
    } catch {
      return; // between a rename and the new file
    }
    if (now.ino !== this.ino) {
      // Rotated: the old file was read to its end above; the new one is read from its start.
      closeSync(this.fd);
      this.fd = openSync(this.path, "r");
      this.ino = fstatSync(this.fd).ino;
      this.pos = 0;
      this.partial = "";
      this.drain();
    } else if (now.size < this.pos) {
      this.pos = 0; // truncated in place
      this.partial = "";
      this.drain();
    }
  }

  private drain(): void {
    const chunk = Buffer.alloc(65536);
    for (;;) {
      const n = readSync(this.fd, chunk, 0, chunk.length, this.pos);
      if (n === 0) return;
      this.pos += n;
      const lines = (this.partial + chunk.toString("utf8", 0, n)).split("\n");
      this.partial = lines.pop()!;
      for (const line of lines) this.emit(line);
    }
  }
}

function files(logs: LogFiles, pid: number): [Kind, string][] {
  const out: [Kind, string][] = [];
  if (logs.errorlog !== "-") out.push(["error", logs.errorlog]);
  if (logs.accesslog !== null && logs.accesslog !== "-") out.push(["access", logs.accesslog]);
  if (out.length === 0)
    throw new StatusError(
      `master ${pid} writes its logs to its terminal (errorlog -${logs.accesslog === "-" ? ", accesslog -" : ""}): there is no file to read; start it with --error-logfile FILE (and --capture-output for the app's output)`,
    );
  return out;
}

async function show(o: LogsOptions): Promise<void> {
  const master = await locate(o, true);
  const status = await getJSON(`${master.base}/status.json`);
  if (!status.logs)
    throw new StatusError(`master ${master.pid} is older than this command: it does not say where its logs are`);
  const { wants, keeps } = selection(o);
  const print = (line: string) => process.stdout.write(`${o.json ? line : render(line)}\n`);
  const chosen = files(status.logs, master.pid).filter(([kind]) => wants(kind));
  const followers: Follower[] = [];
  for (const [kind, path] of chosen) {
    let tail: { lines: string[]; end: number };
    try {
      tail = lastLines(path, o.lines, (line) => keeps(kind, line));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      tail = { lines: [], end: 0 }; // nothing written yet
    }
    if (chosen.length > 1 && !o.json) process.stdout.write(`==> ${path} (${kind} log) <==\n`);
    for (const line of tail.lines) print(line);
    if (o.follow) {
      try {
        followers.push(new Follower(path, tail.end, (line) => keeps(kind, line) && print(line)));
      } catch {
        // not created yet: nothing to follow in this file
      }
    }
  }
  if (!o.follow) return;
  const timer = setInterval(() => {
    for (const f of followers) f.poll();
  }, FOLLOW_MS);
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.on(signal, () => {
      clearInterval(timer);
      process.exit(0);
    });
  await new Promise(() => {});
}

const positive = (what: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`expected ${what}`);
  return Number(v);
};

export async function runLogs(argv: string[]): Promise<void> {
  const name = "gpe-server logs";
  const program = commonBehaviour(new Command(name), name).description(
    "Print a running master's logs: the error log (with the app's output when captured) and the access log.",
  );
  addMasterOptions(program)
    .addOption(
      new Option("--lines <N>", "how many of the last lines of each log")
        .default(15)
        .argParser(positive("a number of lines")),
    )
    .addOption(new Option("-f, --follow", "keep printing what is written next, across rotations").default(false))
    .addOption(
      new Option("--worker <N>", "only the lines of worker N (its slot; the access log is left out)").argParser(
        positive("a worker slot"),
      ),
    )
    .addOption(new Option("--out", "the app's standard output").default(false))
    .addOption(new Option("--err", "the app's standard error and the server's own lines").default(false))
    .addOption(new Option("--access", "the access log").default(false))
    .addOption(new Option("--json", "the lines as written (JSON), not made readable").default(false));
  await runOnMaster(name, program, argv, () => show(program.opts<LogsOptions>()));
}
