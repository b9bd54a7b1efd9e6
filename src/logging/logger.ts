// The error log: pino JSON lines, or text for people (a timestamp, the level, the message): text
// on a terminal and json elsewhere unless log_format says. The destination can be reopened (USR1,
// or a rotation) so that the file can be moved away.
import { pino, type DestinationStream, type Logger } from "pino";
import { createRequire } from "node:module";
import { isatty } from "node:tty";

const LEVELS = { debug: "debug", info: "info", warning: "warn", error: "error", critical: "fatal" } as const;

export interface LogOptions {
  errorlog: string;
  loglevel: keyof typeof LEVELS;
  format?: "auto" | "text" | "json";
  /** Where '-' writes: 2, or a worker's copy of the master's stderr when its own is captured. */
  stderrFd?: number;
  /** Bound into every line: role ("master"/"worker"), and a worker's slot. */
  bindings?: Record<string, unknown>;
}

export interface ReopenableLogger {
  log: Logger;
  reopen(): void;
  flush(): void;
  /**
   * A logger for lines the workers print (capture_output), with no bindings of its own: each line
   * names its worker. Written without waiting on the file, so a slow disk never holds the pipes.
   */
  output(): Logger;
}

type SonicBoom = ReturnType<typeof pino.destination>;
type Pretty = (opts: object) => DestinationStream;

/** Whether the error log is text: asked for, or auto on a terminal (NO_COLOR keeps json, as before). */
export function isText(o: LogOptions): boolean {
  if (o.format === "text") return true;
  if (o.format === "json") return false;
  return o.errorlog === "-" && isatty(o.stderrFd ?? 2) && process.env.NO_COLOR === undefined;
}

export function createLogger(o: LogOptions): ReopenableLogger {
  const level = LEVELS[o.loglevel];
  const toStderr = o.errorlog === "-";
  const text = isText(o);
  const open = (sync: boolean): SonicBoom =>
    pino.destination({ dest: toStderr ? (o.stderrFd ?? 2) : o.errorlog, sync, mkdir: !toStderr });
  const destinations: SonicBoom[] = [];
  const stream = (sync: boolean): DestinationStream => {
    const destination = open(sync);
    destinations.push(destination);
    if (!text) return destination;
    const pretty = createRequire(import.meta.url)("pino-pretty") as Pretty;
    return pretty({
      destination,
      sync,
      colorize: toStderr && isatty(o.stderrFd ?? 2) && process.env.NO_COLOR === undefined,
      ignore: "hostname",
      singleLine: true,
      translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l o",
    });
  };
  const log = pino({ level, base: { pid: process.pid, ...o.bindings } }, stream(true));
  let output: Logger | null = null;
  return {
    log,
    reopen() {
      if (!toStderr) for (const d of destinations) d.reopen();
    },
    flush() {
      for (const d of destinations) {
        try {
          d.flushSync();
        } catch {
          // an async destination not open yet: nothing written to it
        }
      }
    },
    output() {
      output ??= pino({ level: "info", base: null }, stream(false));
      return output;
    },
  };
}
