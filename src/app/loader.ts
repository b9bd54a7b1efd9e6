// Loads the user's app and turns whatever it exports into one (req, res) listener.
// APP is `path/to/app.js`, `path/to/app.js:name` or `path/to/app.js:name()` (a factory).
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import { http } from "../platform/http-modules.js";
import { AppLoadError, type LoadedApp, type RequestHandler } from "./loaded-app.js";
import { addressInfo, ListenCapture } from "./listen-capture.js";
import { serveCaptured } from "./self-listening.js";
import { exportedUpgrade, serverUpgrades, type UpgradeHandler } from "./upgrade-target.js";

export { AppLoadError, type LoadedApp, type RequestHandler };
import { importModule } from "../config/import-module.js";
import { namedRoute } from "../contracts/route-name.js";
import { errorChannel } from "./error-channel.js";
import { adaptHono, isHono } from "./hono-app.js";

export interface AppSpec {
  file: string;
  exportName: string | null;
  factory: boolean;
}

export function parseAppSpec(app: string): AppSpec {
  const m = /^(.*?)(?::([A-Za-z_$][\w$]*)(\(\))?)?$/.exec(app);
  const file = m?.[1] ?? app;
  if (!file) throw new AppLoadError(`APP ${JSON.stringify(app)} names no file`);
  return { file, exportName: m?.[2] ?? null, factory: m?.[3] !== undefined };
}

/** A request the app named itself (setRoute) keeps that name, whatever its router says. */
const namedFirst =
  (routeOf: LoadedApp["routeOf"]): LoadedApp["routeOf"] =>
  (req) =>
    namedRoute(req) ?? routeOf(req);

/** The module's `ready` export (awaited before a worker takes traffic), or null. */
const readyOf = (mod: Record<string, unknown>): (() => unknown) | null => {
  const ready = mod.ready;
  return typeof ready === "function" ? () => ready.call(mod) : null;
};

/** A `close` method of `owner`, bound to it, or null. */
const closeOf = (owner: unknown): (() => unknown) | null => {
  const close = (owner as { close?: unknown } | null)?.close;
  return typeof close === "function" ? () => close.call(owner) : null;
};

const FASTIFY_ROUTE = Symbol.for("gpe-server.route");

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") {
    const keys = Object.keys(value).slice(0, 5);
    const ctor = value.constructor?.name;
    return `${ctor && ctor !== "Object" ? `a ${ctor} object` : "an object"}${keys.length ? ` with keys ${keys.join(", ")}` : ""}`;
  }
  return `a ${typeof value}`;
}

/** What the loader uses of a framework's app: just enough to recognise and adapt it. */
type FastifyRequest = {
  raw: IncomingMessage & { [FASTIFY_ROUTE]?: string };
  routeOptions?: { url?: string };
  routerPath?: string;
};
interface FastifyLike {
  routing(req: IncomingMessage, res: ServerResponse): void;
  ready(): Promise<unknown>;
  addHook(name: string, hook: (request: FastifyRequest, ...rest: never[]) => void): void;
}
interface KoaContext {
  req: IncomingMessage;
  _matchedRoute?: unknown;
}

interface KoaLike {
  /** The middleware chain, composed by callback(). */
  middleware?: ((ctx: KoaContext, next: () => Promise<unknown>) => unknown)[];
  callback(): RequestHandler;
  use(...args: unknown[]): unknown;
  on(
    event: "error",
    listener: (err: unknown, ctx?: { req?: IncomingMessage; res?: ServerResponse; _matchedRoute?: unknown }) => void,
  ): void;
}
interface ExpressLike {
  handle: unknown;
  set: unknown;
  use(handler: (err: unknown, req: IncomingMessage, res: ServerResponse, next: (e: unknown) => void) => void): void;
}
type Fields = Record<string, unknown>;

const isFastify = (v: unknown): v is FastifyLike =>
  v !== null &&
  (typeof v === "object" || typeof v === "function") &&
  typeof (v as Fields).routing === "function" &&
  typeof (v as Fields).ready === "function" &&
  typeof (v as Fields).addHook === "function";

const isKoa = (v: unknown): v is KoaLike =>
  v !== null &&
  typeof v === "object" &&
  typeof (v as Fields).callback === "function" &&
  typeof (v as Fields).use === "function";

const isExpress = (v: object): v is ExpressLike & RequestHandler =>
  typeof (v as Fields).handle === "function" &&
  typeof (v as Fields).use === "function" &&
  typeof (v as Fields).set === "function";

const KOA_ROUTE = Symbol("gpe-server.koa-route");
type KoaRequest = IncomingMessage & { [KOA_ROUTE]?: string };

/** Express's route, and the mount path (baseUrl) it was matched under, as they were at that moment. */
const EXPRESS_ROUTE = Symbol("gpe-server.express-route");
const EXPRESS_BASE = Symbol("gpe-server.express-base");
type ExpressRequest = IncomingMessage & {
  route?: { path?: unknown };
  baseUrl?: string;
  [EXPRESS_ROUTE]?: { path?: unknown };
  [EXPRESS_BASE]?: string;
};

/**
 * Express's router sets `req.route` when a route matches, while `req.baseUrl` holds the mount path
 * of every router it is nested in; both are undone as the request leaves those routers (an error
 * passed on to the app's handler, say). An accessor on Express's request prototype (shared by the
 * app and its sub-apps) keeps both as they were at the match, so the template has its mount
 * paths: `/api/v1/items/:id`, not `/items/:id`. Two field writes a routed request, no string built.
 */
function followExpressRoutes(app: object): void {
  const own = (app as { request?: object }).request;
  const proto = own ? (Object.getPrototypeOf(own) as object | null) : null;
  if (!proto || Object.getOwnPropertyDescriptor(proto, "route")) return;
  Object.defineProperty(proto, "route", {
    configurable: true,
    get(this: ExpressRequest) {
      return this[EXPRESS_ROUTE];
    },
    set(this: ExpressRequest, route: { path?: unknown }) {
      this[EXPRESS_ROUTE] = route;
      // Most routes are matched at the top, with no mount path: nothing more to keep, unless an
      // earlier match under a mount path left one to overwrite.
      if (this.baseUrl || this[EXPRESS_BASE] !== undefined) this[EXPRESS_BASE] = this.baseUrl ?? "";
    },
  });
}

const expressRoute = (req: IncomingMessage): string | undefined => {
  const r = req as ExpressRequest;
  const route = r[EXPRESS_ROUTE] ?? r.route;
  if (typeof route?.path !== "string") return undefined;
  const base = r[EXPRESS_BASE] ?? (EXPRESS_ROUTE in r ? "" : r.baseUrl);
  return base ? `${base}${route.path}` : route.path;
};

/**
 * Turns an export into a listener, or explains what it found instead. `dir`: the app file's
 * directory, where a Hono app's @hono/node-server is looked for.
 */
export async function adaptApp(value: unknown, what: string, dir = process.cwd()): Promise<LoadedApp> {
  if (isHono(value)) return adaptHono(value, dir, what);
  if (isFastify(value)) {
    const fastify = value;
    const errors = errorChannel();
    // Record the matched route template on the raw request, for the endpoint label, and hear
    // about errors Fastify answers itself.
    try {
      fastify.addHook("onRequest", (request: FastifyRequest, _reply: unknown, done: () => void) => {
        request.raw[FASTIFY_ROUTE] = request.routeOptions?.url ?? request.routerPath;
        done();
      });
      fastify.addHook(
        "onError",
        (request: FastifyRequest, reply: { raw?: ServerResponse }, error: unknown, done: () => void) => {
          errors.emit(request.raw, reply.raw ?? null, error);
          done();
        },
      );
    } catch {
      // already booted: routes are then labelled by path and caught errors are not seen
    }
    await fastify.ready();
    return {
      handler: (req, res) => fastify.routing(req, res),
      kind: "fastify",
      routeOf: (req) => (req as IncomingMessage & { [FASTIFY_ROUTE]?: string })[FASTIFY_ROUTE],
      onError: errors.onError,
      close: closeOf(fastify),
      upgrade: null,
      selfListen: null,
    };
  }
  if (isKoa(value)) {
    const koa = value;
    const errors = errorChannel();
    // Every request's matched template, for the per-route metrics: @koa/router keeps it on the
    // context, which the request does not reach. First in the chain, so it sees the end of all.
    koa.middleware?.unshift(async (ctx: KoaContext, next: () => Promise<unknown>) => {
      try {
        await next();
      } finally {
        if (typeof ctx._matchedRoute === "string") (ctx.req as KoaRequest)[KOA_ROUTE] = ctx._matchedRoute;
      }
    });
    // callback() installs Koa's default error logger only if no "error" listener exists yet,
    // so ours is added after it, beside it.
    const listener = koa.callback();
    koa.on("error", (err, ctx) => {
      if (!ctx?.req) return;
      // @koa/router keeps the matched template (its prefixes included) on the context, which the
      // request does not reach: the error is the moment a label needs it.
      if (typeof ctx._matchedRoute === "string") (ctx.req as KoaRequest)[KOA_ROUTE] = ctx._matchedRoute;
      errors.emit(ctx.req, ctx.res ?? null, err);
    });
    const routeOf = (req: IncomingMessage) => (req as KoaRequest)[KOA_ROUTE];
    return {
      handler: listener,
      kind: "koa",
      routeOf,
      onError: errors.onError,
      close: closeOf(koa),
      upgrade: null,
      selfListen: null,
    };
  }
  if (typeof value === "function") {
    const app = value as RequestHandler;
    const express = isExpress(app);
    const errors = errorChannel();
    if (express) {
      // Runs only for errors the app's own error handlers passed on; Express then answers 500.
      followExpressRoutes(app);
      app.use((err: unknown, req: IncomingMessage, res: ServerResponse, next: (e: unknown) => void) => {
        errors.emit(req, res, err);
        next(err);
      });
    }
    const close = closeOf(app);
    return {
      handler: app,
      kind: express ? "express" : "handler",
      routeOf: expressRoute,
      onError: errors.onError,
      close,
      upgrade: null,
      selfListen: null,
    };
  }
  throw new AppLoadError(
    `${what} is ${describe(value)}, not an app: export a (req, res) function, an Express, Koa, Fastify or Hono app, or name a factory with :name()`,
  );
}

/** No default export, or an empty one (a CommonJS script that assigns nothing to module.exports). */
const exportsNothing = (mod: Record<string, unknown>): boolean => {
  const d = mod.default;
  return !("default" in mod) || d === undefined || (typeof d === "object" && d !== null && Object.keys(d).length === 0);
};

const isApp = (v: unknown): boolean => typeof v === "function" || isFastify(v) || isKoa(v) || isHono(v);

export interface LoadWhere {
  /** The first address the worker serves: what a self-listening app's server.address() reports. */
  bound?: string | undefined;
  /** How long an app that exports nothing may take to call listen(). */
  listenWaitMs?: number;
}

export async function loadApp(app: string, cwd = process.cwd(), where: LoadWhere = {}): Promise<LoadedApp> {
  const spec = parseAppSpec(app);
  const path = resolve(cwd, spec.file);
  if (!existsSync(path)) throw new AppLoadError(`app file not found: ${spec.file}`);
  const capture = new ListenCapture(addressInfo(where.bound));
  capture.install();
  let mod: Record<string, unknown>;
  let found: { exported: unknown; what: string; facade: HttpServer | null };
  try {
    mod = await importApp(path, spec.file);
    found = await findApp(mod, spec);
    const waitMs = where.listenWaitMs ?? 0;
    // A script that exports nothing may start its server later (after connecting to a database).
    const script = capture.captured.length === 0 && !isApp(found.exported) && exportsNothing(mod);
    if (script && !(await capture.wait(waitMs))) {
      throw new AppLoadError(
        `${found.what} is ${describe(found.exported)}, not an app, and ${spec.file} did not call listen() within ${waitMs / 1000} s: export a (req, res) function, an Express, Koa, Fastify or Hono app, name a factory with :name(), or start a server`,
      );
    }
  } finally {
    capture.restore();
  }
  const upgradeExport = typeof mod.upgrade === "function" ? exportedUpgrade(mod.upgrade as UpgradeHandler) : null;
  if (capture.captured.length > 0) {
    const served = await serveCaptured(capture.captured, spec.file, adaptApp);
    return {
      ...served,
      routeOf: namedFirst(served.routeOf),
      ready: readyOf(mod),
      close: closeOf(mod),
      upgrade: upgradeExport ?? served.upgrade,
    };
  }
  const adapted = await adaptApp(found.exported, found.what, dirname(path));
  return {
    ...adapted,
    routeOf: namedFirst(adapted.routeOf),
    ready: readyOf(mod),
    close: closeOf(mod) ?? adapted.close,
    upgrade: upgradeExport ?? (found.facade ? serverUpgrades(found.facade) : null),
  };
}

async function importApp(path: string, file: string): Promise<Record<string, unknown>> {
  try {
    return await importModule(path);
  } catch (err) {
    const e = err as Error;
    throw new AppLoadError(
      `app ${file} failed to load: ${e?.name ?? "Error"}: ${e?.message?.split("\n")[0] ?? String(err)}`,
      { cause: err },
    );
  }
}

/** The export APP names; a factory is called with a server of its own, for `new WebSocketServer({ server })`. */
async function findApp(
  mod: Record<string, unknown>,
  spec: AppSpec,
): Promise<{ exported: unknown; what: string; facade: HttpServer | null }> {
  let exported: unknown;
  let what: string;
  if (spec.exportName) {
    what = `export ${JSON.stringify(spec.exportName)} of ${spec.file}`;
    exported = mod[spec.exportName] ?? (mod.default as Record<string, unknown> | undefined)?.[spec.exportName];
    if (exported === undefined) {
      const names = Object.keys(mod).filter((k) => k !== "__esModule");
      throw new AppLoadError(
        `${spec.file} has no export named ${JSON.stringify(spec.exportName)} (it exports: ${names.join(", ") || "nothing"})`,
      );
    }
  } else {
    what = `the default export of ${spec.file}`;
    exported = "default" in mod ? mod.default : mod;
    // CommonJS module.exports = { default: app } through jiti.
    if (exported && typeof exported === "object" && !isKoa(exported) && !isFastify(exported) && "default" in exported) {
      exported = (exported as { default: unknown }).default;
    }
  }
  if (!spec.factory) return { exported, what, facade: null };
  if (typeof exported !== "function")
    throw new AppLoadError(`${what} is ${describe(exported)}, not a factory function`);
  // Never listens: the worker emits its upgrades on it.
  const facade = http.createServer();
  try {
    exported = await (exported as (server: HttpServer) => unknown)(facade);
  } catch (err) {
    throw new AppLoadError(
      `factory ${spec.exportName}() in ${spec.file} failed: ${(err as Error)?.message ?? String(err)}`,
      { cause: err },
    );
  }
  return { exported, what: `the value returned by ${spec.exportName}()`, facade };
}
