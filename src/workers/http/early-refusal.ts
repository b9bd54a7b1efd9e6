// A 503 for a new connection before anything parses it, while the pipeline it would go to is
// shedding anyway: a thread worker's main thread answers for a thread whose queue stands, instead
// of passing the connection through the thread's message queue only for the thread to refuse it.
// The refusal reads the request's first bytes from the kernel (read-ahead.ts) and looks at the
// request line alone: an exempt path (a health check), anything that is not a plain HTTP/1
// request line, or a connection whose bytes have not arrived goes on as usual.
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { SHED_BODY } from "./error-answers.js";
import { readKernel } from "../connections/read-ahead.js";

const SPACE = 0x20;
const QUERY = 0x3f;
/** How long a refused connection may stay open for its client to close it. */
const LINGER_MS = 5000;
/** The longest request line looked at: a longer one goes on to the parser. */
const LINE_MAX = 2048;

const CANNED = Buffer.from(
  "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nretry-after: 1\r\n" +
    `content-length: ${Buffer.byteLength(SHED_BODY)}\r\nconnection: close\r\n\r\n${SHED_BODY}`,
);

/** A request refused: its method as sent, and how long it took to answer from the accept (s). */
export type Refused = (method: string, seconds: number) => void;

export class EarlyRefusal {
  constructor(
    private readonly exempt: ReadonlySet<string>,
    private readonly refused: Refused,
  ) {}

  /** Answers 503 and closes if the first request is here and not exempt; false: the caller serves it. */
  refuse(socket: Socket): boolean {
    const start = performance.now();
    const bytes = readKernel(socket);
    if (bytes === null) return false;
    const method = this.refusable(bytes);
    if (method === null) {
      socket.unshift(bytes);
      return false;
    }
    socket.on("error", () => {}); // a client gone before its answer: nothing to tell
    // Read and drop whatever else comes (a body): a close with unread bytes would reset the
    // connection, and the answer with it. The client closes after the answer; a slow one is cut.
    socket.resume();
    socket.once("end", () => socket.destroy());
    socket.setTimeout(LINGER_MS, () => socket.destroy());
    socket.end(CANNED);
    this.refused(method, (performance.now() - start) / 1000);
    return true;
  }

  /** The method of a refusable request line, or null (an exempt path, HTTP/2's preface, a PROXY header). */
  private refusable(bytes: Buffer): string | null {
    const end = Math.min(bytes.length, LINE_MAX);
    const methodEnd = bytes.indexOf(SPACE);
    if (methodEnd <= 0 || methodEnd >= end) return null;
    const method = bytes.toString("latin1", 0, methodEnd);
    if (method === "PRI" || method === "PROXY") return null;
    const targetEnd = bytes.indexOf(SPACE, methodEnd + 1);
    if (targetEnd < 0 || targetEnd >= end) return null;
    if (this.exempt.size > 0) {
      const query = bytes.indexOf(QUERY, methodEnd + 1);
      const pathEnd = query >= 0 && query < targetEnd ? query : targetEnd;
      if (this.exempt.has(bytes.toString("latin1", methodEnd + 1, pathEnd))) return null;
    }
    return method;
  }
}
