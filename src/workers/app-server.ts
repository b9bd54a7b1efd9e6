// The worker's HTTP server for the app port: HTTP/1.1, plain or over TLS, or HTTP/2 over TLS with
// HTTP/1.1 for clients that do not offer h2 (ALPN). It never listens: RequestPipeline.serve hands
// it each connection.
import http from "node:http";
import https from "node:https";
import http2 from "node:http2";
import type tls from "node:tls";
import { TrackedHttp2Response, TrackedResponse } from "./tracked-response.js";

export interface AppServer {
  server: http.Server;
  /** A graceful stop: HTTP/2 sessions are told (GOAWAY) to open no new stream; HTTP/1.1 needs nothing here. */
  stopSessions(): void;
}

export function createAppServer(
  options: http.ServerOptions,
  tlsOptions: tls.TlsOptions | null,
  h2: boolean,
): AppServer {
  if (tlsOptions && h2) {
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
  const server = tlsOptions ? https.createServer({ ...options, ...tlsOptions }) : http.createServer(options);
  return { server, stopSessions: () => {} };
}
