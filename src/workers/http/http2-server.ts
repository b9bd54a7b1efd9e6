// The HTTP/2 side of the app port (http_protocols h2): loaded only by workers that serve it, since
// node:http2 alone costs a worker's boot more than the rest of its HTTP stack.
import type http from "node:http";
import http2 from "node:http2";
import type tls from "node:tls";
import { TrackedResponse, type Phase, WAITING } from "./tracked-response.js";
import type { RunningNode } from "./running-requests.js";
import { installClientGetters } from "../connections/client-address.js";

/** The fields of TrackedResponse on an HTTP/2 response (a stream of a session, never pipelined). */
export class TrackedHttp2Response extends http2.Http2ServerResponse {
  startedAt = 0;
  ranAt = 0;
  url = "";
  bytesBefore = 0;
  phase: Phase = WAITING;
  orphanGuard: (() => void) | null = null;
  prevRunning: RunningNode | null = null;
  nextRunning: RunningNode | null = null;
}

installClientGetters(http2.Http2ServerRequest.prototype);

/** HTTP/2 over TLS, with HTTP/1.1 for clients that do not offer h2 (ALPN). */
export function createHttp2Server(
  options: http.ServerOptions,
  tlsOptions: tls.TlsOptions,
): { server: http.Server; stopSessions(): void } {
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createSecureServer({
    ...tlsOptions,
    allowHTTP1: true,
    Http1ServerResponse: TrackedResponse as typeof http.ServerResponse,
    Http2ServerResponse: TrackedHttp2Response as typeof http2.Http2ServerResponse,
    maxSendHeaderBlockLength: options.maxHeaderSize,
    settings: { maxHeaderListSize: options.maxHeaderSize },
  });
  server.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  return {
    server: server as unknown as http.Server,
    stopSessions: () => {
      for (const session of sessions) session.close();
    },
  };
}
