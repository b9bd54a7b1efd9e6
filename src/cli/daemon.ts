// --daemon (gunicorn's -D): the command starts the master again, detached (a new session, no
// terminal, its output into the error log) and waits until every worker serves, then gives the
// shell back. A master that fails to start is reported from its error log, with exit status 1.
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from "node:fs";
import { dirname } from "node:path";

/** The variable that tells the detached master where to say it is ready. */
export const READY_FD_VARIABLE = "GPE_DAEMON_READY_FD";

/** In the detached master: the descriptor to write "ready" to once, or null (not started by --daemon). */
export function takeReadyFd(): number | null {
  const fd = process.env[READY_FD_VARIABLE];
  delete process.env[READY_FD_VARIABLE];
  return fd === undefined ? null : Number(fd);
}

const sizeOf = (path: string) => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/**
 * Why the master gave up, from what it added to its error log: its own last line ("gpe-server: ..."),
 * or the message of the last error it logged.
 */
function lastWords(errorlog: string, from: number): string {
  const lines = readFileSync(errorlog, "utf8").slice(from).trim().split("\n").reverse();
  const own = lines.find((l) => l.startsWith("gpe-server: "));
  if (own) return own.slice("gpe-server: ".length);
  for (const line of lines) {
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      if ((entry.level ?? 0) >= 50 && entry.msg) return entry.msg;
    } catch {
      if (line.trim()) return line.trim();
    }
  }
  return `see ${errorlog}`;
}

/** Starts the detached master with the same arguments; resolves with the line to print, or throws. */
export function daemonize(argv: readonly string[], errorlog: string, pidfile: string): Promise<string> {
  mkdirSync(dirname(errorlog), { recursive: true });
  const from = sizeOf(errorlog);
  const log = openSync(errorlog, "a");
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...argv], {
    detached: true,
    stdio: ["ignore", log, log, "pipe"],
    env: { ...process.env, [READY_FD_VARIABLE]: "3" },
  });
  closeSync(log);
  // Referenced until it says ready or exits: the launching command exits then, and the master stays.
  return new Promise((resolve, reject) => {
    let said = "";
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    pipe.setEncoding("utf8");
    pipe.on("data", (d: string) => {
      said += d;
      if (!said.includes("ready")) return;
      pipe.removeAllListeners();
      (pipe as unknown as { destroy(): void }).destroy();
      resolve(`master ${child.pid} serves in the background (pidfile ${pidfile}, log ${errorlog})`);
    });
    child.once("exit", (code, signal) => {
      if (said.includes("ready")) return;
      reject(
        new Error(`the master exited before it served (${signal ?? `status ${code}`}): ${lastWords(errorlog, from)}`),
      );
    });
  });
}
