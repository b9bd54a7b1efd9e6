// The master binds every address once, before forking, so a bad or busy address is reported at
// start, and the sockets outlive any worker (and a USR2 upgrade). The master never accepts on
// them itself: like node:cluster's shared handles, it only hands them to workers, which listen.
import net from "node:net";
import { existsSync, lstatSync, unlinkSync } from "node:fs";
import { formatBind, parseBind, socketErrorText, type BindAddress } from "../config/bind.js";
import { createServerHandle, type ServerHandle } from "../platform/node-internals.js";

export class BindError extends Error {}

export interface BoundSocket {
  bind: BindAddress;
  handle: ServerHandle;
  /** The address as bound (the real port when 0 was asked for). */
  address: string;
}

/** Binding with a real listen first surfaces errors (EADDRINUSE is otherwise deferred by libuv). */
function probe(bind: Exclude<BindAddress, { kind: "fd" }>): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(new BindError(`cannot bind ${bind.text}: ${socketErrorText(err)}`));
    });
    const options =
      bind.kind === "unix"
        ? { path: bind.path, exclusive: true }
        : { host: bind.host, port: bind.port, exclusive: true };
    server.listen(options, () => server.close(() => resolve()));
  });
}

function removeStaleUnixSocket(path: string): void {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket())
    throw new BindError(`cannot bind unix:${path}: a file that is not a socket is in the way`);
  unlinkSync(path); // a socket file left by an earlier run
}

export async function openBoundSockets(binds: readonly string[]): Promise<BoundSocket[]> {
  const listeners: BoundSocket[] = [];
  try {
    for (const text of binds) {
      const bind = parseBind(text);
      if (bind.kind === "unix") removeStaleUnixSocket(bind.path);
      if (bind.kind === "unix" || (bind.kind === "tcp" && bind.port !== 0)) await probe(bind);
      const handle =
        bind.kind === "fd"
          ? createServerHandle(null, 0, 0, bind.fd)
          : bind.kind === "unix"
            ? createServerHandle(bind.path, -1, -1)
            : createServerHandle(bind.host, bind.port, bind.family);
      if (typeof handle === "number") throw new BindError(`cannot bind ${bind.text}: error ${handle}`);
      let address = formatBind(bind);
      if (bind.kind === "tcp") {
        const out: { port?: number } = {};
        handle.getsockname?.(out);
        address = formatBind(bind, out.port ?? bind.port);
      } else if (bind.kind === "fd") {
        address = inheritedAddress(bind, handle);
      }
      listeners.push({ bind, handle, address });
    }
  } catch (err) {
    closeBoundSockets(listeners);
    if (err instanceof BindError) throw err;
    throw new BindError(`cannot bind: ${socketErrorText(err as NodeJS.ErrnoException)}`);
  }
  return listeners;
}

/** What an inherited socket is bound to, shown as "fd://3 (127.0.0.1:8000)". */
function inheritedAddress(bind: BindAddress, handle: ServerHandle): string {
  const out: { address?: string; port?: number; family?: string } = {};
  handle.getsockname?.(out);
  if (out.port === undefined) return `${bind.text} (unix socket)`;
  return `${bind.text} (${out.family === "IPv6" ? `[${out.address}]` : out.address}:${out.port})`;
}

export function closeBoundSockets(listeners: readonly BoundSocket[], { unlink = true } = {}): void {
  for (const l of listeners) {
    try {
      l.handle.close();
    } catch {
      // already closed
    }
    if (unlink && l.bind.kind === "unix") {
      try {
        unlinkSync(l.bind.path);
      } catch {
        // already gone
      }
    }
  }
}
