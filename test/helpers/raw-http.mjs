// A raw HTTP/1.1 client for edge cases: sends exact bytes, in pieces and with pauses, then leaves
// the way the case says (reads to the end, half-closes, or hangs up), and reports what came back.
import net from "node:net";

/**
 * @param {number} port
 * @param {{ parts: (string|Buffer)[], gapMs?: number, after?: "read"|"half-close"|"hangup",
 *   hangupMs?: number, quietMs?: number, timeoutMs?: number, bodiless?: number[] }} c
 *   "read" waits for the server to close, or for quietMs without a byte once something came back.
 * @returns {Promise<{ statuses: number[], bytes: Buffer, closedByServer: boolean, timedOut: boolean }>}
 */
export function exchange(
  port,
  { parts, gapMs = 0, after = "read", hangupMs = 0, quietMs = 300, timeoutMs = 5000, bodiless = [] },
) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks = [];
    let closedByServer = false;
    let timedOut = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (quiet) clearTimeout(quiet);
      socket.destroy();
      const bytes = Buffer.concat(chunks);
      resolve({ statuses: statusesOf(bytes, bodiless), bytes, closedByServer, timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      finish();
    }, timeoutMs);
    let quiet = null;
    socket.on("data", (c) => {
      chunks.push(c);
      if (after === "hangup") return;
      if (quiet) quiet.refresh();
      else quiet = setTimeout(finish, quietMs);
    });
    socket.on("end", () => {
      closedByServer = true;
      finish();
    });
    socket.on("error", () => finish());
    socket.on("close", finish);
    socket.on("connect", async () => {
      for (let i = 0; i < parts.length && !done; i++) {
        if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        if (!done) socket.write(parts[i]);
      }
      if (done) return;
      if (after === "half-close") socket.end();
      else if (after === "hangup") setTimeout(finish, hangupMs);
    });
  });
}

/**
 * Status codes of the responses in a raw HTTP/1.x byte stream, in order (bodies skipped by length).
 * `bodiless`: indices of final responses that carry no body whatever their headers say (HEAD's).
 */
export function statusesOf(bytes, bodiless = []) {
  const text = bytes.toString("latin1");
  const out = [];
  let at = 0;
  while (at < text.length) {
    const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(text.slice(at));
    if (!m) break;
    const status = Number(m[1]);
    out.push(status);
    const headEnd = text.indexOf("\r\n\r\n", at);
    if (headEnd < 0) break;
    const head = text.slice(at, headEnd).toLowerCase();
    at = headEnd + 4;
    if (status < 200 || status === 204 || status === 304) continue;
    if (bodiless.includes(out.filter((x) => x >= 200).length - 1)) continue;
    const length = /\r\ncontent-length: *(\d+)/.exec(head);
    if (length) {
      at += Number(length[1]);
    } else if (/\r\ntransfer-encoding: *chunked/.test(head)) {
      for (;;) {
        const lineEnd = text.indexOf("\r\n", at);
        if (lineEnd < 0) return out;
        const size = parseInt(text.slice(at, lineEnd), 16);
        at = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
    } else {
      break; // a body delimited by the close: nothing can follow it
    }
  }
  return out;
}
