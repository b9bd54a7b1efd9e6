// Every answer the worker writes itself instead of the app: a request over a limit, an app that
// threw, a request the worker timed out on, a request head the parser refused. One place, so they
// share their headers (an error answer ends its connection) and their wording.
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { http } from "../../platform/http-modules.js";

/** The `error_type` label of a thrown value: its class name. */
export const errorType = (err: unknown): string =>
  (err instanceof Error
    ? err.constructor?.name || err.name
    : typeof err === "object" && err !== null
      ? "Object"
      : typeof err) || "Error";

/** Headers of an answer that ends its connection: HTTP/2 forbids `connection`, and ends only the stream. */
function closingHeaders(res: object): OutgoingHttpHeaders {
  return res instanceof http.ServerResponse
    ? { "content-type": "text/plain", connection: "close" }
    : { "content-type": "text/plain" };
}

/** A request refused before the app saw it (a missing Host, a request line or header over a limit). */
export function answerRefused(res: ServerResponse, status: number): void {
  res.writeHead(status, closingHeaders(res));
  res.end(`${status} ${http.STATUS_CODES[status]}\n`);
}

/** What a shed request is told. */
export const SHED_BODY = "503 Service Unavailable: over capacity, retry shortly\n";

/** Admission control refused the request: the client may retry in a second (the connection stays). */
export function answerShed(res: ServerResponse): void {
  res.writeHead(503, { "content-type": "text/plain", "retry-after": "1" });
  res.end(SHED_BODY);
}

/** The app threw or rejected: a 500 while the head is not sent yet, a cut response otherwise. */
export function answerAppFailed(res: ServerResponse): boolean {
  if (!res.headersSent && !res.destroyed) {
    res.writeHead(500, closingHeaders(res));
    res.end("Internal Server Error\n");
    return true;
  }
  if (!res.writableEnded) res.destroy();
  return false;
}

/** The worker timed out and is about to die: a 504 where the head is not sent yet, a reset otherwise. */
export function answerTimedOut(res: ServerResponse): void {
  if (!res.headersSent && !res.destroyed) {
    res.writeHead(504, closingHeaders(res));
    res.end("504 Gateway Timeout: the worker timed out\n");
    // Node corks a response's writes until its next tick, which a blocked loop never reaches.
    const socket = res.socket;
    while (socket && socket.writableCorked > 0) socket.uncork();
  } else {
    const socket = res.socket as (ServerResponse["socket"] & { resetAndDestroy?: () => void }) | null;
    if (socket?.resetAndDestroy) socket.resetAndDestroy();
    else socket?.destroy();
  }
}

/** The answer and the error_type for a parser error, as Node picks the answer. */
export function clientErrorStatus(code: string | undefined): [number, string] {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return [431, "LimitRequestFieldSize"];
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return [413, "ChunkExtensionsTooLarge"];
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return [408, "RequestTimeout"];
    default:
      return [400, "BadRequest"];
  }
}

/** A request head the parser refused: answered on the raw socket, which then closes. */
export function answerOnSocket(socket: Socket, status: number): void {
  // Closing at once, with the client's bytes still unread, would send a reset that can
  // overtake the answer: end our side, stop reading, and close a moment later.
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.pause();
  setTimeout(() => socket.destroy(), 500).unref();
}
