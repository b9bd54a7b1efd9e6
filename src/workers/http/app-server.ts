// The worker's HTTP server for the app port: HTTP/1.1, plain or over TLS, or HTTP/2 over TLS with
// HTTP/1.1 for clients that do not offer h2 (ALPN). It never listens: RequestPipeline.serve hands
// it each connection.
import type http from "node:http";
import { http as httpModule, https } from "../../platform/http-modules.js";
import type tls from "node:tls";
import type { Socket } from "node:net";
import { tlsParent } from "../../platform/node-internals.js";
import { keepProxiedPeer } from "../connections/proxy-gate.js";

/** Before the HTTP server sees a TLS connection: the client behind a PROXY header stays its peer. */
const keepPeer = (secure: Socket): void => keepProxiedPeer(secure, tlsParent(secure));

export interface AppServer {
  server: http.Server;
  /** A graceful stop: HTTP/2 sessions are told (GOAWAY) to open no new stream; HTTP/1.1 needs nothing here. */
  stopSessions(): void;
}

type Http2Module = typeof import("./http2-server.js");
let http2Module: Http2Module | null = null;

/** Loads the HTTP/2 server, before any pipeline that serves h2 is built (boot is async, building is not). */
export async function loadHttp2(): Promise<void> {
  http2Module ??= await import("./http2-server.js");
}

export function createAppServer(
  options: http.ServerOptions,
  tlsOptions: tls.TlsOptions | null,
  h2: boolean,
): AppServer {
  if (tlsOptions && h2) {
    if (!http2Module) throw new Error("HTTP/2 asked for before loadHttp2()");
    const secure = http2Module.createHttp2Server(options, tlsOptions);
    secure.server.prependListener("secureConnection", keepPeer);
    return secure;
  }
  const server = tlsOptions ? https().createServer({ ...options, ...tlsOptions }) : httpModule.createServer(options);
  if (tlsOptions) server.prependListener("secureConnection", keepPeer);
  return { server, stopSessions: () => {} };
}
