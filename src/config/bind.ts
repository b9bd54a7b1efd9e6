// Parses gunicorn-style bind addresses: HOST:PORT, [IPV6]:PORT, :PORT, PORT, unix:/path.
import { fstatSync } from "node:fs";
import { SettingError } from "./validators.js";

export type BindAddress =
  | { kind: "tcp"; host: string; port: number; family: 4 | 6; text: string }
  | { kind: "unix"; path: string; text: string }
  /** A listening socket inherited open (systemd socket activation, a supervisor that binds). */
  | { kind: "fd"; fd: number; text: string };

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function parseBind(text: string): BindAddress {
  const fail = (why: string): never => {
    throw new SettingError(`bind: ${JSON.stringify(text)} ${why}`);
  };
  if (text.startsWith("fd://")) {
    const fd = /^fd:\/\/(\d+)$/.exec(text);
    if (!fd) fail("is not fd://N with N a descriptor number");
    return { kind: "fd", fd: Number(fd![1]), text };
  }
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
  if (bind.kind === "fd") return bind.text;
  const p = port ?? bind.port;
  return bind.family === 6 ? `[${bind.host}]:${p}` : `${bind.host}:${p}`;
}

/** The first descriptor systemd passes (SD_LISTEN_FDS_START). */
const LISTEN_FDS_START = 3;

/**
 * Socket activation (sd_listen_fds): the fd:// binds a launcher passed in LISTEN_FDS, if they are
 * meant for this process (LISTEN_PID), else null.
 */
export function activationBinds(env: NodeJS.ProcessEnv, pid = process.pid): string[] | null {
  const count = Number(env.LISTEN_FDS);
  if (!Number.isInteger(count) || count <= 0 || Number(env.LISTEN_PID) !== pid) return null;
  return Array.from({ length: count }, (_, i) => `fd://${LISTEN_FDS_START + i}`);
}

/** An fd:// bind must name an open socket: checked with the settings, so a typo is a usage error. */
export function checkDescriptor(bind: BindAddress): void {
  if (bind.kind !== "fd") return;
  let socket: boolean;
  try {
    socket = fstatSync(bind.fd).isSocket();
  } catch {
    throw new SettingError(`bind: ${bind.text}: descriptor ${bind.fd} is not open in this process`);
  }
  if (!socket) throw new SettingError(`bind: ${bind.text}: descriptor ${bind.fd} is not a socket`);
}
