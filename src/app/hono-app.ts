// A Hono app served as it is: its fetch(Request) handler runs on Node through @hono/node-server
// (which a Hono app on Node installs beside hono), resolved from the app's own directory, so the
// app and gpe-server share one copy. The route a request matched is asked of Hono's own router
// after the response, so per-route metrics need nothing of the app.
import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { errorChannel } from "./error-channel.js";
import { AppLoadError, type LoadedApp, type RequestHandler } from "./loaded-app.js";

/** What the loader uses of a Hono app: just enough to recognise and adapt it. */
interface RouterRoute {
  method: string;
  path: string;
}
type HonoEnv = { incoming?: IncomingMessage; outgoing?: ServerResponse };
interface HonoLike {
  fetch(request: unknown, env?: unknown): unknown;
  routes: RouterRoute[];
  router: { match(method: string, path: string): [[[unknown, RouterRoute], unknown][], unknown] };
  /** Hono's own error handler (onError sets it): wrapped to hear of the errors it answers. */
  errorHandler?: (err: unknown, c: { env?: HonoEnv }) => unknown;
}
type NodeServer = { getRequestListener(fetch: (request: unknown, env: HonoEnv) => unknown): RequestHandler };

const NODE_SERVER = "@hono/node-server";

export const isHono = (v: unknown): v is HonoLike =>
  v !== null &&
  typeof v === "object" &&
  typeof (v as HonoLike).fetch === "function" &&
  Array.isArray((v as HonoLike).routes) &&
  typeof (v as HonoLike).router?.match === "function";

export async function adaptHono(app: HonoLike, dir: string, what: string): Promise<LoadedApp> {
  const { getRequestListener } = await importNodeServer(dir, what);
  const errors = errorChannel();
  const own = app.errorHandler;
  if (typeof own === "function") {
    app.errorHandler = (err, c) => {
      const req = c.env?.incoming;
      if (req) errors.emit(req, c.env?.outgoing ?? null, err);
      return own.call(app, err, c);
    };
  }
  return {
    handler: getRequestListener((request, env) => app.fetch(request, env)),
    kind: "hono",
    routeOf: (req) => honoRoute(app, req),
    onError: errors.onError,
    close: null,
    upgrade: null,
    selfListen: null,
  };
}

/**
 * The route of the last handler Hono's router gives for the request: a method's own route rather
 * than the middleware (`use`, method ALL) before it; an `all()` route where nothing else matched.
 */
function honoRoute(app: HonoLike, req: IncomingMessage): string | undefined {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
  const [handlers] = app.router.match(method, path);
  let any: string | undefined;
  for (let i = handlers.length - 1; i >= 0; i--) {
    const route = handlers[i]![0][1];
    if (route.method !== "ALL") return route.path;
    if (any === undefined && !route.path.endsWith("*")) any = route.path;
  }
  return any;
}

/** The app's @hono/node-server (its ESM entry), found from the app's directory up. */
async function importNodeServer(from: string, what: string): Promise<NodeServer> {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, "node_modules", NODE_SERVER, "package.json");
    if (existsSync(pkg)) {
      const meta = JSON.parse(readFileSync(pkg, "utf8")) as {
        exports?: { ".": { import?: { default?: string } | string } };
        module?: string;
        main?: string;
      };
      const entry = meta.exports?.["."]?.import;
      const file = (typeof entry === "string" ? entry : entry?.default) ?? meta.module ?? meta.main ?? "index.js";
      return (await import(pathToFileURL(join(dirname(pkg), file)).href)) as NodeServer;
    }
    if (dirname(dir) === dir) break;
  }
  throw new AppLoadError(
    `${what} is a Hono app, which runs on Node through ${NODE_SERVER}: install it beside hono (npm install ${NODE_SERVER})`,
  );
}
