// gunicorn's access log format, compiled once into an array of small functions so that each
// logged request only concatenates strings.
import type { IncomingMessage, ServerResponse } from "node:http";
import { loadPino } from "./logger.js";

export interface AccessEntry {
  req: IncomingMessage;
  res: ServerResponse;
  /** The request's URL as the client sent it (a router may have rewritten req.url since). */
  url: string;
  /** Request start, performance.now() milliseconds. */
  startedAt: number;
  finishedAt: number;
  bytesSent: number;
}

type Atom = (e: AccessEntry) => string;

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** [10/Oct/2000:13:55:36 +0000], as gunicorn prints it. */
export function clfTime(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return `[${pad(date.getDate())}/${MONTHS[date.getMonth()]}/${date.getFullYear()}:${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}]`;
}

const dash = (v: string | undefined | null): string => (v === undefined || v === null || v === "" ? "-" : v);
const header = (v: string | string[] | number | undefined): string =>
  dash(Array.isArray(v) ? v.join(", ") : v === undefined ? undefined : String(v));

/** A request's path without its query string. */
export function pathOf(url: string | undefined): string {
  const u = url ?? "/";
  const q = u.indexOf("?");
  return q < 0 ? u : u.slice(0, q);
}

function basicUser(req: IncomingMessage): string {
  const auth = req.headers.authorization;
  if (!auth?.startsWith("Basic ")) return "-";
  const decoded = Buffer.from(auth.slice(6), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return dash(colon < 0 ? decoded : decoded.slice(0, colon));
}

const ATOMS: Record<string, Atom> = {
  // The client behind a trusted proxy: the getter workers install (client-address.ts), else the peer.
  h: (e) => dash((e.req as { clientAddress?: string }).clientAddress ?? e.req.socket?.remoteAddress),
  l: () => "-",
  u: (e) => basicUser(e.req),
  t: (_e) => clfTime(new Date()),
  r: (e) => `${e.req.method} ${e.url} HTTP/${e.req.httpVersion}`,
  m: (e) => e.req.method ?? "-",
  U: (e) => pathOf(e.url),
  q: (e) => {
    const u = e.url;
    const i = u.indexOf("?");
    return i < 0 ? "" : u.slice(i + 1);
  },
  H: (e) => `HTTP/${e.req.httpVersion}`,
  s: (e) => String(e.res.statusCode),
  B: (e) => String(e.bytesSent),
  b: (e) => (e.bytesSent > 0 ? String(e.bytesSent) : "-"),
  f: (e) => header(e.req.headers.referer),
  a: (e) => header(e.req.headers["user-agent"]),
  T: (e) => String(Math.floor((e.finishedAt - e.startedAt) / 1000)),
  D: (e) => String(Math.round((e.finishedAt - e.startedAt) * 1000)),
  M: (e) => String(Math.round(e.finishedAt - e.startedAt)),
  L: (e) => ((e.finishedAt - e.startedAt) / 1000).toFixed(6),
  p: () => `<${process.pid}>`,
};

/** Compiles a format such as '%(h)s "%(r)s" %(s)s %({x-request-id}i)s' into a line builder. */
export function compileAccessFormat(format: string): (e: AccessEntry) => string {
  const parts: Atom[] = [];
  const pattern = /%\(([^)]+)\)s/g;
  let last = 0;
  for (let m = pattern.exec(format); m !== null; m = pattern.exec(format)) {
    const literal = format.slice(last, m.index);
    if (literal) parts.push(() => literal);
    parts.push(atomFor(m[1]!));
    last = m.index + m[0].length;
  }
  const tail = format.slice(last);
  if (tail) parts.push(() => tail);
  return (e) => {
    let line = "";
    for (const part of parts) line += part(e);
    return line;
  };
}

function atomFor(name: string): Atom {
  const braced = /^\{([^}]+)\}([ioe])$/.exec(name);
  if (braced) {
    const key = braced[1]!.toLowerCase();
    const rawKey = braced[1]!;
    switch (braced[2]) {
      case "i":
        return (e) => header(e.req.headers[key]);
      case "o":
        return (e) => header(e.res.getHeader(key));
      default:
        return () => dash(process.env[rawKey]);
    }
  }
  return ATOMS[name] ?? (() => "-");
}

export interface AccessLog {
  write(e: AccessEntry): void;
  reopen(): void;
  flush(): void;
}

export function createAccessLog(file: string, format: string): AccessLog {
  const build = compileAccessFormat(format);
  const destination = loadPino().destination({ dest: file === "-" ? 1 : file, sync: false, mkdir: file !== "-" });
  return {
    write: (e) => {
      destination.write(`${build(e)}\n`);
    },
    reopen: () => {
      if (file !== "-") destination.reopen();
    },
    flush: () => {
      try {
        destination.flushSync();
      } catch {
        // nothing buffered, or the destination is not ready yet
      }
    },
  };
}
