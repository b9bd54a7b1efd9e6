// The error log: pino JSON lines, or text for people (a timestamp, the level, the message): text
// on a terminal and json elsewhere unless log_format says. The destination can be reopened (USR1,
// or a rotation) so that the file can be moved away.
import type { DestinationStream, Logger, pino as Pino } from "pino";
import { createRequire } from "node:module";
import { isatty } from "node:tty";

const LEVELS = { debug: "debug", info: "info", warning: "warn", error: "error", critical: "fatal" } as const;

export interface LogOptions {
  errorlog: string;
  loglevel: keyof typeof LEVELS;
  format?: "auto" | "text" | "json";
  /** Where '-' writes: 2, or a worker's copy of the master's stderr when its own is captured. */
  stderrFd?: number;
  /** Create pino at the first line (workers: most never log, and pino is a good part of a boot). */
  lazy?: boolean;
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

const require = createRequire(import.meta.url);
/** pino, required when first used: a worker that never logs never loads it. */
export const loadPino = (): typeof Pino => (require("pino") as { pino: typeof Pino }).pino;

type SonicBoom = ReturnType<typeof Pino.destination>;
type Pretty = (opts: object) => DestinationStream;

/** Whether the error log is text: asked for, or auto on a terminal (NO_COLOR keeps json, as before). */
export function isText(o: LogOptions): boolean {
  if (o.format === "text") return true;
  if (o.format === "json") return false;
  return o.errorlog === "-" && isatty(o.stderrFd ?? 2) && process.env.NO_COLOR === undefined;
}

export function createLogger(o: LogOptions): ReopenableLogger {
  if (o.lazy) return lazyLogger(() => createLogger({ ...o, lazy: false }));
  const level = LEVELS[o.loglevel];
  const toStderr = o.errorlog === "-";
  const text = isText(o);
  const pino = loadPino();
  const open = (sync: boolean): SonicBoom =>
    pino.destination({ dest: toStderr ? (o.stderrFd ?? 2) : o.errorlog, sync, mkdir: !toStderr });
  const destinations: SonicBoom[] = [];
  const stream = (sync: boolean): DestinationStream => {
    const destination = open(sync);
    destinations.push(destination);
    if (!text) return destination;
    const pretty = require("pino-pretty") as Pretty;
    return pretty({
      destination,
      sync,
      colorize: toStderr && isatty(o.stderrFd ?? 2) && process.env.NO_COLOR === undefined,
      ignore: "hostname",
      singleLine: true,
      translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l o",
    });
  };
  // errWithCause: an error's message stays its own and its cause is a field of its own; the default
  // serializer appends the cause's message, which our messages already quote.
  const log = pino(
    { level, base: { pid: process.pid, ...o.bindings }, serializers: { err: pino.stdSerializers.errWithCause } },
    stream(true),
  );
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

/** A logger that is created when first used; reopening or flushing one never used does nothing. */
function lazyLogger(create: () => ReopenableLogger): ReopenableLogger {
  let real: ReopenableLogger | null = null;
  const get = () => (real ??= create());
  const log = new Proxy({} as Logger, {
    get: (_target, key) => {
      const target = get().log;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
    set: (_target, key, value) => Reflect.set(get().log, key, value),
  });
  return {
    log,
    reopen: () => real?.reopen(),
    flush: () => real?.flush(),
    output: () => get().output(),
  };
}
