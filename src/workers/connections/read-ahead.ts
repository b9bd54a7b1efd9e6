// Reading a connection's first bytes the moment a worker starts it, instead of on the event loop's
// next turn. A connection that waited unread for a sync worker to have room has its request in
// the kernel already: reading it at once lets the worker answer it in the same turn as the request
// before. So a worker that serves one connection at a time still answers a batch of them per
// turn, as a bare Node server does, and its responses wake the client once a batch rather than
// once each (docs/performance.md). The connection is closed before the loop polls again, so it
// never joins the poll set either.
import { readSync } from "node:fs";
import type { Socket } from "node:net";
import { socketFd } from "../../platform/node-internals.js";

/** One read: a longer request is read the usual way after it. */
const scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * For a paused TCP socket nothing has read yet: reads what the kernel holds and puts it in front
 * of the stream, where the HTTP server finds it when the socket resumes. The socket is
 * non-blocking (libuv accepts every connection so, and the flag belongs to the connection, which
 * keeps it when passed between processes), so this never waits: with nothing there yet it leaves
 * the socket to the event loop. The bytes read here are not in `socket.bytesRead`.
 */
export function readAhead(socket: Socket): void {
  const bytes = readKernel(socket);
  if (bytes !== null) socket.unshift(bytes);
}

/**
 * What the kernel holds for a paused TCP socket nothing has read yet, taken off it (a copy), or
 * null: nothing there yet, or bytes already in the stream, which must stay first.
 */
export function readKernel(socket: Socket): Buffer | null {
  // Bytes already in the stream (after a PROXY protocol header) come first: reading more here and
  // putting them in front would reorder them.
  if (socket.readableLength > 0) return null;
  const fd = socketFd(socket);
  if (fd === undefined) return null;
  let n: number;
  // Nothing there yet is an exception here: expected, so not worth a stack trace.
  const traceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    n = readSync(fd, scratch, 0, scratch.length, null);
  } catch {
    return null; // EAGAIN; or a reset, after which the socket's own next read finds the end
  } finally {
    Error.stackTraceLimit = traceLimit;
  }
  return n > 0 ? Buffer.from(scratch.subarray(0, n)) : null;
}
