// An error the app throws outside any request (a timer callback, a floating promise) leaves the
// process, or the thread, in an unknown state. Process workers and the threads of a thread worker
// meet it the same way: one log line, the error counted, then they end (and are replaced).
import type { Logger } from "pino";
import type { FailureCounters } from "../../metrics/request-metrics.js";
import { errorType } from "../http/error-answers.js";

/** Counts an error that belongs to no request: endpoint "unknown", the error's class. */
export function countUncaught(failures: FailureCounters, err: unknown): void {
  failures.appFailed("other", "unknown", errorType(err));
}

/** Handles the first uncaught exception or unhandled rejection: logs it, counts it, ends. */
export function onUncaughtAppError(log: Logger, count: (err: unknown) => void, end: () => void): void {
  let dying = false;
  const handle = (err: unknown, what: string) => {
    if (dying) return;
    dying = true;
    log.fatal({ err }, `${what} in the app, outside any request: this worker exits and is replaced`);
    count(err);
    end();
  };
  process.on("uncaughtException", (err) => handle(err, "uncaught exception"));
  process.on("unhandledRejection", (reason) => handle(reason, "unhandled promise rejection"));
}
