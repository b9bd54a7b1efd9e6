// A self-listening app's server, turned into what the worker serves: its "request" listeners
// behind gpe-server's pipeline, its "upgrade" listeners for WebSocket.
import type { IncomingMessage, ServerResponse } from "node:http";
import { http, https, tls } from "../platform/http-modules.js";
import type { CapturedServer } from "./listen-capture.js";
import { serverUpgrades } from "./upgrade-target.js";
import { AppLoadError, type LoadedApp } from "./loaded-app.js";

export async function serveCaptured(
  captured: readonly CapturedServer[],
  file: string,
  adapt: (value: unknown, what: string) => Promise<LoadedApp>,
): Promise<LoadedApp> {
  // Servers that share one request handler are one app on several addresses (Fastify listens on
  // both 127.0.0.1 and ::1 for "localhost"): the first serves.
  const distinct = captured.filter(
    (c, i) => captured.findIndex((o) => o.server.listeners("request")[0] === c.server.listeners("request")[0]) === i,
  );
  if (distinct.length > 1) {
    const asked = distinct.map((c) => c.asked).join(", ");
    throw new AppLoadError(
      `${file} listens on ${distinct.length} servers (${asked}); gpe-server serves one app server per worker`,
    );
  }
  const { server, asked } = distinct[0]!;
  if (!(server instanceof http.Server) && !(server instanceof https().Server)) {
    throw new AppLoadError(`${file} listens (${asked}) with a server that is not an HTTP server`);
  }

  const handlers = server.listeners("request");
  // Express behind its own server: the app is the listener itself, and keeps its route labels.
  const only = handlers.length === 1 ? handlers[0] : null;
  const base =
    only && typeof (only as { handle?: unknown }).handle === "function"
      ? await adapt(only, `the app ${file} serves`)
      : await adapt((req: IncomingMessage, res: ServerResponse) => {
          server.emit("request", req, res);
        }, `the server ${file} listens with`);
  const tlsFront = server instanceof tls().Server ? server : undefined;
  return { ...base, upgrade: serverUpgrades(server), selfListen: asked, ...(tlsFront ? { tlsFront } : {}) };
}
