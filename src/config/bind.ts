// Parses gunicorn-style bind addresses: HOST:PORT, [IPV6]:PORT, :PORT, PORT, unix:/path.
import { SettingError } from "./validators.js";

export type BindAddress =
  | { kind: "tcp"; host: string; port: number; family: 4 | 6; text: string }
  | { kind: "unix"; path: string; text: string };

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function parseBind(text: string): BindAddress {
  const fail = (why: string): never => {
    throw new SettingError(`bind: ${JSON.stringify(text)} ${why}`);
  };
  if (text.startsWith("unix:")) {
    const path = text.slice(5);
    if (path === "") fail("has no socket path after unix:");
    return { kind: "unix", path, text };
  }
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]+)\](?::(\d*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2] ?? "8000";
  } else if (/^\d+$/.test(text)) {
    host = "127.0.0.1";
    portText = text;
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) {
      host = text;
      portText = "8000";
    } else {
      host = text.slice(0, colon) || "0.0.0.0";
      portText = text.slice(colon + 1);
      if (host.includes(":")) fail("is an IPv6 address without brackets: write [ADDR]:PORT");
    }
  }
  if (!/^\d+$/.test(portText)) fail("has no valid port (expected HOST:PORT)");
  const port = Number(portText);
  if (port > 65535) fail(`has port ${port}, above 65535`);
  if (host === "localhost") host = "127.0.0.1";
  if (host.includes(":")) return { kind: "tcp", host, port, family: 6, text };
  if (!IPV4.test(host) && !/^[A-Za-z0-9.-]+$/.test(host)) fail("has an invalid host name");
  return { kind: "tcp", host, port, family: 4, text };
}

const ERRNO_TEXT: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EACCES: "permission denied",
  EADDRNOTAVAIL: "address not available on this machine",
};

/** Why a bind or listen failed, in words (the common errno codes), for a one-line error. */
export function socketErrorText(err: NodeJS.ErrnoException): string {
  return ERRNO_TEXT[err.code ?? ""] ?? err.message;
}

const WILDCARDS = new Set(["0.0.0.0", "::", "0:0:0:0:0:0:0:0"]);

/**
 * Whether a TCP server on host:port would take this bind's port: the same port, and the same
 * host or a wildcard on either side.
 */
export function sharesPort(bind: BindAddress, host: string, port: number): boolean {
  if (bind.kind !== "tcp" || port === 0 || bind.port !== port) return false;
  const other = host === "localhost" ? "127.0.0.1" : host;
  return bind.host === other || WILDCARDS.has(bind.host) || WILDCARDS.has(other);
}

export function formatBind(bind: BindAddress, port?: number): string {
  if (bind.kind === "unix") return `unix:${bind.path}`;
  const p = port ?? bind.port;
  return bind.family === 6 ? `[${bind.host}]:${p}` : `${bind.host}:${p}`;
}
