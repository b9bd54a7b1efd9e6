// The one door to Node's private internals: every field or function of Node's that is not public
// API is touched here and nowhere else, and checkNodeInternals() proves at start-up that each
// still exists as expected, so a Node upgrade that changes one fails loudly instead of silently.
import type { Server, ServerResponse } from "node:http";
import { http, tls } from "./http-modules.js";
import net, { type Socket } from "node:net";

/** A bound server handle as node:net's internal constructor returns it (node:cluster uses it too). */
export type ServerHandle = { close(): void; getsockname?(out: { port?: number }): number; fd?: number };

type PrivateNet = {
  _createServerHandle(
    address: string | null,
    port: number,
    addressType: number,
    fd?: number,
    flags?: number,
  ): ServerHandle | number;
};
type PrivateSocket = Socket & {
  _handle?: { readStop(): number; reading: boolean; fd?: number } | null;
  _readableState?: { reading: boolean };
  _httpMessage?: ServerResponse | null;
};
type PrivateTlsSocket = Socket & { _parent?: Socket | null };
type ParsedSocket = Socket & { parser?: { getCurrentBuffer?(): Buffer } | null };
const HEAD_END = Buffer.from("\r\n\r\n");
type PrivateResponse = ServerResponse & { _keepAliveTimeout: number; _last: boolean; _header: string | null };

/** Binds a server handle without listening (returns an errno number on failure). */
export function createServerHandle(
  address: string | null,
  port: number,
  addressType: number,
  fd?: number,
  flags?: number,
): ServerHandle | number {
  return (net as unknown as PrivateNet)._createServerHandle(address, port, addressType, fd, flags);
}

/** The handle under a listening server (for passing it to a USR2 successor), if any. */
export function serverHandle(server: net.Server): object | null {
  return (server as net.Server & { _handle?: object | null })._handle ?? null;
}

/** The descriptor of a socket or server handle; undefined when it has none (a pipe on Windows). */
export function handleFd(handle: object | null | undefined): number | undefined {
  const fd = (handle as { fd?: number } | null | undefined)?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : undefined;
}

export function socketFd(socket: Socket): number | undefined {
  return handleFd((socket as PrivateSocket)._handle);
}

/**
 * A socket that arrives over IPC starts reading at once. Stops it in the same tick, before the
 * event loop can read anything (as pauseOnConnect does), so its bytes stay in the kernel for
 * whichever worker ends up serving it.
 */
export function stopReading(socket: Socket): void {
  const s = socket as PrivateSocket;
  if (s._handle) {
    s._handle.reading = false;
    s._handle.readStop();
  }
  // The stream still believes its first read is under way; without this, resume() never reads.
  if (s._readableState) s._readableState.reading = false;
  socket.pause();
}

/** The response being written on an HTTP server's socket (the first of any pipelined ones). */
export function currentResponse(socket: Socket): ServerResponse | null {
  return (socket as PrivateSocket)._httpMessage ?? null;
}

/** Sets the `Keep-Alive: timeout=N` header value that Node's own keepAliveTimeout would set. */
export function setKeepAliveHeader(res: ServerResponse, ms: number): void {
  (res as PrivateResponse)._keepAliveTimeout = ms;
}

/** This response is its connection's last: Node has begun closing the socket. */
export function isLastResponse(res: ServerResponse): boolean {
  return (res as PrivateResponse)._last;
}

/**
 * A client's half-close no longer ends the connection at once: the requests it already sent are
 * answered, then the connection closes (Node's own http server field, not an option).
 */
export function answerAfterHalfClose(server: Server): void {
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
}

/** Length of the head Node wrote for a response (0 before it is written). */
export function headLength(res: ServerResponse): number {
  return (res as PrivateResponse)._header?.length ?? 0;
}

/** The TCP socket a server's TLS socket was made from (Node keeps it as the TLS socket's _parent). */
export function tlsParent(socket: Socket): Socket | null {
  return (socket as PrivateTlsSocket)._parent ?? null;
}

/**
 * Called from a request handler: the chunk the socket's HTTP parser is reading holds more than one
 * request head (the client pipelines), or the parser cannot say. Either way, this connection is
 * not one to close after this response: a request behind it would go unanswered.
 */
export function pipelined(socket: Socket): boolean {
  const read = (socket as ParsedSocket).parser?.getCurrentBuffer;
  if (typeof read !== "function") return true;
  const chunk = read.call((socket as ParsedSocket).parser);
  const first = chunk.indexOf(HEAD_END);
  return first >= 0 && chunk.indexOf(HEAD_END, first + 4) >= 0;
}

/** Thrown at start-up when this Node no longer has an internal the server relies on. */
export class NodeInternalsError extends Error {
  override name = "NodeInternalsError";
}

/** What is wrong with this Node's internals, as short phrases; empty when all is as expected. */
export function internalsProblems(): string[] {
  const problems: string[] = [];
  if (typeof (net as unknown as Partial<PrivateNet>)._createServerHandle !== "function")
    problems.push("net._createServerHandle is gone");
  const socket = new net.Socket() as PrivateSocket;
  if (!("_handle" in socket)) problems.push("net.Socket has no _handle");
  if (typeof socket._readableState?.reading !== "boolean")
    problems.push("net.Socket's _readableState.reading is not a boolean");
  const res = new http.ServerResponse(new http.IncomingMessage(socket)) as PrivateResponse;
  for (const field of ["_keepAliveTimeout", "_last", "_header"] as const) {
    if (!(field in res)) problems.push(`http.ServerResponse has no ${field}`);
  }
  res.assignSocket(socket);
  if (socket._httpMessage !== res) problems.push("an assigned response is not the socket's _httpMessage");
  res.detachSocket(socket);
  socket.destroy();
  if (!("_handle" in new net.Server())) problems.push("net.Server has no _handle");
  const raw = new net.Socket();
  const secure = new (tls().TLSSocket)(raw);
  if (tlsParent(secure) !== raw) problems.push("tls.TLSSocket has no _parent");
  secure.destroy();
  raw.destroy();
  if ((http.createServer() as { httpAllowHalfOpen?: unknown }).httpAllowHalfOpen !== false)
    problems.push("http.Server has no httpAllowHalfOpen");
  return problems;
}

/** Fails with one line naming the Node version when an internal has changed. */
export function checkNodeInternals(problems: string[] = internalsProblems()): void {
  if (problems.length === 0) return;
  throw new NodeInternalsError(`gpe-server does not support Node ${process.version}: ${problems.join("; ")}`);
}

/** A listening handle received from the master has what stopReading and the queue probe use. */
export function handleProblems(handle: object): string[] {
  const h = handle as { readStop?: unknown; fd?: unknown };
  const problems: string[] = [];
  if (typeof h.readStop !== "function") problems.push("a listening handle has no readStop()");
  if (typeof h.fd !== "number") problems.push("a listening handle has no fd");
  return problems;
}
