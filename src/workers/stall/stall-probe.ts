// Why a worker stopped answering: through the inspector, pause the blocked thread (a pause lands
// even in a busy loop), read its JavaScript stack and the requests it is running, and resume it.
import type * as Inspector from "node:inspector";
import { createRequire } from "node:module";
import type { RunningRequest, StallReport } from "../../contracts/stall.js";

export type { StallReport };

/** The function each thread exposes for the probe to call while that thread is paused. */
const RUNNING_KEY = "gpe-server.runningNow";
const MAX_FRAMES = 12;

const require = createRequire(import.meta.url);
/** Loaded by the probe only: every worker registers what it runs, few are ever probed. */
const newSession = (): Inspector.Session => new (require("node:inspector") as typeof Inspector).Session();

/** Registers, in this thread, what the probe calls: the running requests (answered 504 with `true`). */
export function exposeRunning(runningNow: (answer: boolean) => RunningRequest[]): void {
  (globalThis as Record<symbol, unknown>)[Symbol.for(RUNNING_KEY)] = runningNow;
}

interface CallFrame {
  callFrameId: string;
  functionName: string;
  location: { scriptId: string; lineNumber: number; columnNumber?: number };
}

/** An inspector session to one thread, reduced to what the probe needs. */
export interface ProbeChannel {
  post(method: string, params?: object): Promise<Record<string, unknown>>;
  nextPause(): Promise<{ callFrames: CallFrame[] }>;
  /** Script URLs by id, as the debugger announced them (a call frame carries only the id). */
  scripts: Map<string, string>;
  close(): void;
}

const formatFrame = (f: CallFrame, scripts: Map<string, string>): string => {
  const { scriptId, lineNumber, columnNumber = 0 } = f.location;
  const url = (scripts.get(scriptId) || "<anonymous>").replace(/\?t=\d+$/, "");
  return `at ${f.functionName || "(anonymous)"} (${url}:${lineNumber + 1}:${columnNumber + 1})`;
};

/** Pauses the thread behind `channel` and reports where it was; gives up after `timeoutMs`. */
export async function probe(
  channel: ProbeChannel,
  thread: string,
  answer: boolean,
  timeoutMs: number,
): Promise<StallReport> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<StallReport>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          thread,
          frames: [],
          inFlight: [],
          error: `it did not pause within ${timeoutMs} ms: blocked outside JavaScript (a synchronous native call)`,
        }),
      timeoutMs,
    );
  });
  const work = (async (): Promise<StallReport> => {
    const paused = channel.nextPause();
    await channel.post("Debugger.enable");
    await channel.post("Debugger.pause");
    const { callFrames } = await paused;
    const evaluated = await channel.post("Debugger.evaluateOnCallFrame", {
      callFrameId: callFrames[0]!.callFrameId,
      expression: `globalThis[Symbol.for(${JSON.stringify(RUNNING_KEY)})]?.(${answer}) ?? []`,
      returnByValue: true,
    });
    await channel.post("Debugger.resume");
    await channel.post("Debugger.disable");
    const value = (evaluated.result as { value?: unknown } | undefined)?.value;
    return {
      thread,
      frames: callFrames.slice(0, MAX_FRAMES).map((f) => formatFrame(f, channel.scripts)),
      inFlight: Array.isArray(value) ? (value as RunningRequest[]) : [],
    };
  })().catch((err: unknown) => ({ thread, frames: [], inFlight: [], error: `the probe failed: ${String(err)}` }));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
    channel.close();
  }
}

/** From another thread of this process (the stall thread), to the main thread. */
export function mainThreadChannel(): ProbeChannel {
  const session = newSession();
  session.connectToMainThread();
  const scripts = new Map<string, string>();
  session.on("Debugger.scriptParsed", (e) => scripts.set(e.params.scriptId, e.params.url));
  return {
    scripts,
    post: (method, params) =>
      new Promise((resolve, reject) =>
        session.post(method, params ?? {}, (err, result) =>
          err ? reject(err) : resolve((result ?? {}) as Record<string, unknown>),
        ),
      ),
    nextPause: () => new Promise((resolve) => session.once("Debugger.paused", (e) => resolve(e.params as never))),
    close: () => session.disconnect(),
  };
}

/**
 * From the main thread, to one of its worker_threads (by threadId), through the inspector's
 * NodeWorker domain: the thread's own session receives the commands even while it spins.
 */
export function workerThreadChannel(threadId: number): ProbeChannel {
  const session = newSession();
  session.connect();
  const replies = new Map<number, (m: { result?: Record<string, unknown>; error?: unknown }) => void>();
  let pauseListener: ((params: { callFrames: CallFrame[] }) => void) | null = null;
  let nextId = 0;
  const scripts = new Map<string, string>();
  const attached = new Promise<string>((resolve, reject) => {
    session.on("NodeWorker.attachedToWorker", (e) => {
      const { sessionId, workerInfo } = e.params as { sessionId: string; workerInfo: { title: string } };
      // workerId is the inspector's own count; the title is "[worker <threadId>] ..." on Node 20-24.
      if (workerInfo.title.startsWith(`[worker ${threadId}]`)) resolve(sessionId);
    });
    session.on("NodeWorker.receivedMessageFromWorker", (e) => {
      const m = JSON.parse((e.params as { message: string }).message) as {
        id?: number;
        method?: string;
        params?: { callFrames: CallFrame[]; scriptId?: string; url?: string };
      };
      if (m.id !== undefined) replies.get(m.id)?.(m as never);
      else if (m.method === "Debugger.scriptParsed") scripts.set(m.params!.scriptId!, m.params!.url!);
      else if (m.method === "Debugger.paused" && pauseListener) pauseListener(m.params!);
    });
    session.post("NodeWorker.enable", { waitForDebuggerOnStart: false }, (err) => err && reject(err));
  });
  return {
    scripts,
    post: async (method, params) => {
      const sessionId = await attached;
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        replies.set(id, (m) => {
          replies.delete(id);
          if (m.error) reject(new Error(JSON.stringify(m.error)));
          else resolve(m.result ?? {});
        });
        session.post("NodeWorker.sendMessageToWorker", { sessionId, message: JSON.stringify({ id, method, params }) });
      });
    },
    nextPause: () =>
      new Promise((resolve) => {
        pauseListener = resolve;
      }),
    close: () => session.disconnect(),
  };
}
