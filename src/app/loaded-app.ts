// What the loader gives a worker: the app as one (req, res) listener, and what else it offers.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server as TlsServer } from "node:tls";
import type { UpgradeTarget } from "./upgrade-target.js";

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** The app cannot be loaded; a worker that meets one exits with EXIT_APP_LOAD_ERROR. */
export class AppLoadError extends Error {
  override name = "AppLoadError";
}

export interface LoadedApp {
  handler: RequestHandler;
  kind: "handler" | "express" | "koa" | "fastify" | "hono";
  /** Route template of a finished request where the framework knows it. */
  routeOf(req: IncomingMessage): string | undefined;
  /** Errors the framework caught itself (and answered with its own 500), with their response where known. */
  onError(listener: (req: IncomingMessage, res: ServerResponse | null, err: unknown) => void): void;
  /** Awaited before the worker takes traffic: the module's `ready` export. */
  ready?: (() => unknown) | null;
  /** Awaited after the worker's last request: the module's `close` export, or the app's own close(). */
  close: (() => unknown) | null;
  /** Where Upgrade requests (WebSocket) go; null: nowhere, and they reach the app as plain requests. */
  upgrade: UpgradeTarget | null;
  /** A self-listening app: what its listen() asked for (gpe-server's address serves instead). */
  selfListen: string | null;
  /** A self-listening https server: it does the TLS handshake of each connection with its own certificate. */
  tlsFront?: TlsServer;
}
