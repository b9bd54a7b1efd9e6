// The responses the pipeline serves: Node's own classes, born with the fields the
// instrumentation writes (HTTP/2's, in http2-server.ts, has the same fields).
import { http } from "../../platform/http-modules.js";
import type { RunningNode } from "./running-requests.js";

/** Where a request is in its life; every ending goes through RequestPipeline.finished, once. */
export const WAITING = 0;
export const RUNNING = 1;
export const DONE = 2;
export type Phase = typeof WAITING | typeof RUNNING | typeof DONE;

/**
 * Every response is born with the fields the instrumentation writes, so writing them never adds a
 * property (a hidden-class transition) per request, and they are typed fields rather than symbol
 * keys on Node's own object.
 */
export class TrackedResponse extends http.ServerResponse {
  startedAt = 0;
  /** When the app was given the request (with admission control on only: it times the app). */
  ranAt = 0;
  /**
   * The request's URL as the client sent it: routers rewrite `req.url` while they route (Express
   * strips a mount path), and the access log, the timeout diagnostics and the path label of an
   * unrouted failure name what the client asked.
   */
  url = "";
  /** The socket's bytesWritten when the response began (the access log's body size). */
  bytesBefore = 0;
  phase: Phase = WAITING;
  /**
   * Only for a response Node queued behind another on its connection (pipelining): finishes it
   * when the connection closes first, since such a response never gets a socket nor a "close".
   */
  orphanGuard: (() => void) | null = null;
  prevRunning: RunningNode | null = null;
  nextRunning: RunningNode | null = null;
}
