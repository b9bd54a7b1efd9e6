// The error log: pino JSON lines, human-readable when it goes to a terminal. The destination can
// be reopened (USR1) so logrotate can move the file away.
import { pino, type Logger } from "pino";
import { createRequire } from "node:module";

const LEVELS = { debug: "debug", info: "info", warning: "warn", error: "error", critical: "fatal" } as const;

export interface LogOptions {
  errorlog: string;
  loglevel: keyof typeof LEVELS;
  /** Bound into every line: role ("master"/"worker"), and a worker's slot. */
  bindings?: Record<string, unknown>;
}

export interface ReopenableLogger {
  log: Logger;
  reopen(): void;
  flush(): void;
}

export function createLogger({ errorlog, loglevel, bindings = {} }: LogOptions): ReopenableLogger {
  const level = LEVELS[loglevel];
  const toStderr = errorlog === "-";
  if (toStderr && process.stderr.isTTY && process.env.NO_COLOR === undefined) {
    const require = createRequire(import.meta.url);
    const pretty = require("pino-pretty") as (opts: object) => NodeJS.WritableStream;
    const stream = pretty({ destination: 2, sync: true, ignore: "hostname", translateTime: "SYS:HH:MM:ss.l" });
    const log = pino({ level, base: { pid: process.pid, ...bindings } }, stream);
    return { log, reopen() {}, flush() {} };
  }
  const destination = pino.destination({ dest: toStderr ? 2 : errorlog, sync: true, mkdir: !toStderr });
  const log = pino({ level, base: { pid: process.pid, ...bindings } }, destination);
  return {
    log,
    reopen() {
      if (!toStderr) destination.reopen();
    },
    flush() {
      destination.flushSync();
    },
  };
}
