// Small helpers the benchmark scripts (and the tests' harness) share.
import net from "node:net";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const anyFreePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const handedOut = new Set();
/**
 * A port free on loopback right now, and not one this process was given before: the kernel may
 * hand the same free port out twice in a row, and a server's app and metrics ports must differ
 * (a bench run once lost its pinned scenario to that).
 */
export async function freePort() {
  for (let i = 0; i < 100; i++) {
    const port = await anyFreePort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("freePort: no new free port in 100 tries");
}
