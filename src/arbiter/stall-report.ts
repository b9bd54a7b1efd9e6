// WORKER TIMEOUT, explained: before a hung worker is aborted, the master asks it over the stall
// line (contracts/stall.ts) where it is blocked and what it was serving, and logs the answer.
import type { ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { STALL_FD, type StallReport } from "../contracts/stall.js";

/** How long the master waits for the answer: the probe's own second, and some room. */
const ANSWER_MS = 2000;

/** The master's end of the line, quiet when the worker is gone. */
export function stallLine(child: ChildProcess): Socket | null {
  const line = (child.stdio[STALL_FD] as Socket | null | undefined) ?? null;
  if (!line) return null;
  line.on("error", () => {});
  line.unref();
  return line;
}

/** Asks where the worker is stuck; `answer`: its stuck requests get a 504. Null: no answer in time. */
export function askWhereStuck(line: Socket | null, answer: boolean): Promise<StallReport[] | null> {
  if (!line || line.destroyed) return Promise.resolve(null);
  return new Promise((resolve) => {
    let text = "";
    const done = (reports: StallReport[] | null): void => {
      clearTimeout(timer);
      line.off("data", onData);
      resolve(reports);
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString("utf8");
      const end = text.indexOf("\n");
      if (end < 0) return;
      try {
        done(JSON.parse(text.slice(0, end)) as StallReport[]);
      } catch {
        done(null);
      }
    };
    const timer = setTimeout(() => done(null), ANSWER_MS);
    line.on("data", onData);
    line.write(answer ? "probe+504\n" : "probe\n");
  });
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The WORKER TIMEOUT message: one line, then each blocked thread's requests and stack (undefined: not asked). */
export function timeoutMessage(
  w: { pid: number; slot: number },
  blockedMs: number,
  reports: StallReport[] | null | undefined,
): string {
  const head = `WORKER TIMEOUT (pid:${w.pid}, slot ${w.slot}): blocked for ${seconds(blockedMs)}`;
  if (reports === undefined) return head; // timeout_diagnostics off: not asked
  if (reports === null) return `${head}; it did not say where (no answer on its stall line)`;
  const lines = [head];
  for (const r of reports) {
    const serving = r.inFlight.map((q) => `${q.method} ${q.url} (${seconds(q.ms)})`).join(", ");
    lines.push(`  ${r.thread}: ${serving ? `serving ${serving}` : "serving no request"}`);
    if (r.error) lines.push(`    no stack: ${r.error}`);
    for (const frame of r.frames) lines.push(`    ${frame}`);
  }
  return lines.join("\n");
}
