// Small helpers the benchmark scripts share.
import net from "node:net";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A port free on loopback right now. */
export const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
