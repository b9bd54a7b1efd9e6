// Apps that start their own server (`app.listen(3000)`): while the app loads, listen() on any
// net.Server is taken over, the way node:cluster hands its workers the primary's socket. Nothing
// is bound; the server is told it listens on gpe-server's address, and the worker feeds its
// "request" and "upgrade" listeners from the connections it accepts on the bind addresses.
import net from "node:net";

export interface CapturedServer {
  server: net.Server;
  /** What the app asked for, for the log: "port 3000", "127.0.0.1:3000", "unix:/tmp/s". */
  asked: string;
}

/** What listen() was given, in words. */
export function describeListen(args: unknown[]): string {
  const [first, second] = args;
  if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first)))
    return typeof second === "string" ? `${second}:${first}` : `port ${first}`;
  if (typeof first === "string") return `unix:${first}`;
  if (first && typeof first === "object") {
    const o = first as { port?: unknown; host?: unknown; path?: unknown };
    if (o.path !== undefined) return `unix:${String(o.path)}`;
    if (o.port !== undefined)
      return o.host !== undefined ? `${String(o.host)}:${String(o.port)}` : `port ${String(o.port)}`;
    return "a handle";
  }
  return "a random port";
}

/** The address a taken-over server reports: where gpe-server really listens. */
export function addressInfo(bound: string | undefined): net.AddressInfo | string | null {
  if (bound === undefined) return null;
  // An inherited socket shows as "fd://3 (127.0.0.1:8000)".
  bound = /\((.*)\)$/.exec(bound)?.[1] ?? bound;
  if (bound.startsWith("unix:")) return bound.slice(5);
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(bound);
  if (!m) return null;
  return { address: m[1]!, port: Number(m[2]), family: m[1]!.includes(":") ? "IPv6" : "IPv4" };
}

export class ListenCapture {
  readonly captured: CapturedServer[] = [];
  private readonly original = net.Server.prototype.listen;
  private wake: (() => void) | null = null;

  constructor(private readonly bound: net.AddressInfo | string | null) {}

  install(): void {
    const capture = this;
    net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
      capture.take(this, args);
      return this;
    } as typeof net.Server.prototype.listen;
  }

  restore(): void {
    net.Server.prototype.listen = this.original;
  }

  /** Resolves true once the app has listened, false after `ms`. */
  wait(ms: number): Promise<boolean> {
    if (this.captured.length > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  private take(server: net.Server, args: unknown[]): void {
    if (this.captured.some((c) => c.server === server)) return;
    this.captured.push({ server, asked: describeListen(args) });
    const bound = this.bound;
    // The server never holds a socket of its own: it reports gpe-server's, and closing it
    // (an app's shutdown code) has nothing to unbind.
    Object.defineProperty(server, "listening", { value: true, configurable: true, writable: true });
    server.address = () => bound;
    server.close = function (this: net.Server, done?: (err?: Error) => void) {
      process.nextTick(() => {
        this.emit("close");
        done?.();
      });
      return this;
    };
    const callback = args.find((a) => typeof a === "function") as (() => void) | undefined;
    if (callback) server.once("listening", callback);
    process.nextTick(() => server.emit("listening"));
    this.wake?.();
  }
}
