// --warmup: a new worker answers requests of its own before it takes live traffic, and so before
// the worker it replaces retires: caches fill and hot code is compiled while the old worker still
// serves. The requests go through the whole worker (its engine, the app, the metrics) on a
// loopback port of its own, one after another; an answer other than 2xx, or none within the
// timeout, is a boot failure, and the master keeps the old worker.
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { Admission } from "../connections/accept-front.js";

export interface WarmUp {
  paths: readonly string[];
  /** Requests to each path. */
  count: number;
  /** The worker terminates TLS: the requests speak it too. */
  tls: boolean;
  timeoutMs: number;
}

export async function warmUp(engine: Admission, w: WarmUp): Promise<void> {
  const server = net.createServer({ pauseOnConnect: true, noDelay: true, allowHalfOpen: true }, (socket) =>
    engine.take(socket),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  try {
    for (const path of w.paths)
      for (let i = 0; i < w.count; i++) {
        const status = await get(port, path, w);
        if (status < 200 || status > 299)
          throw new Error(`warm-up GET ${path} answered ${status} (request ${i + 1} of ${w.count})`);
      }
  } finally {
    server.close();
  }
}

function get(port: number, path: string, w: WarmUp): Promise<number> {
  const client = w.tls ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(
      { host: "127.0.0.1", port, path, agent: false, timeout: w.timeoutMs, rejectUnauthorized: false },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`warm-up GET ${path} did not answer within ${w.timeoutMs / 1000} s`)),
    );
    req.on("error", (err) => reject(new Error(`warm-up GET ${path} failed: ${err.message}`)));
  });
}
