// The worker's end of the master's stall line (contracts/stall.ts): answers the master's probes.
import { fstatSync } from "node:fs";
import { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { STALL_FD, type StallReport } from "../../contracts/stall.js";

export function stallLineOpen(fd = STALL_FD): boolean {
  try {
    return fstatSync(fd).isSocket();
  } catch {
    return false;
  }
}

/** Answers each probe request with `report`'s result; `keepAlive` false: the line never holds the thread. */
export function answerProbes(
  fd: number,
  report: (answer: boolean) => Promise<StallReport[]>,
  keepAlive: boolean,
): void {
  if (!stallLineOpen(fd)) return;
  const line = new Socket({ fd, readable: true, writable: true });
  if (!keepAlive) line.unref();
  line.on("error", () => {});
  let buffered = "";
  line.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("latin1");
    let end = buffered.indexOf("\n");
    while (end >= 0) {
      const request = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      if (request.startsWith("probe")) {
        void report(request === "probe+504").then((reports) => line.write(`${JSON.stringify(reports)}\n`));
      }
      end = buffered.indexOf("\n");
    }
  });
}

const STALL_THREAD = fileURLToPath(new URL("../stall/stall-thread.js", import.meta.url));
/** How often a thread worker's app thread tells the main thread it runs (a blocked one stops). */
export const THREAD_BEAT_MS = 250;
/** How long a probe waits for the blocked thread to pause. */
export const PROBE_MS = 1000;
/**
 * A sync or async worker's stall thread, started as its first connection arrives, before its
 * first request is read: the thread's isolate boots on an OS thread of its own, so it answers
 * even when that very request blocks the main thread for good. Not at boot: a worker that is
 * booted and never serves (a standby retired unused, a pool scaled down) never pays for it, and
 * its boot and readiness are not slowed (docs/performance.md has the figures).
 */
export function startStallThread(): void {
  if (!stallLineOpen()) return;
  const thread = new Worker(STALL_THREAD, { workerData: { fd: STALL_FD, timeoutMs: PROBE_MS } });
  thread.unref();
  thread.on("error", () => {});
}

/** A thread worker: its main thread stays free and probes its app threads itself. */
export function answerThreadProbes(probeThreads: (answer: boolean) => Promise<StallReport[]>): void {
  answerProbes(STALL_FD, probeThreads, false);
}
