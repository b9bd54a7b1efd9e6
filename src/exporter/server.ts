// The metrics server, in the master, on its own port: /metrics, /healthz, and the status page
// (/ and /status.json). It answers from the store files, so a blocked or dead worker can delay a
// scrape by the flush wait at most.
import http from "node:http";
import https from "node:https";
import { untrustedClient, type MetricsSecurity } from "./security.js";
import { gzipSync } from "node:zlib";
import {
  formatOpenMetrics,
  formatPrometheus,
  negotiate,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
} from "../metrics/exposition.js";
import type { FamilyJSON } from "../metrics/family.js";
import { formatProtobuf, PROTOBUF_CONTENT_TYPE } from "../metrics/protobuf-exposition.js";
import { STATUS_PAGE } from "./status-page.js";
import { socketErrorText } from "../config/bind.js";
import type { Readiness } from "../contracts/pool-view.js";

export interface MetricsSource {
  /** All families, merged, ready to print. */
  gather(): Promise<FamilyJSON[]>;
  /** The pool's status for GET /status.json and the page at GET / (the master only). */
  status?(): object;
  /** GET /readyz: whether to send traffic (the master only; elsewhere /readyz is /healthz). */
  readiness?(): Readiness;
}

export class MetricsServerError extends Error {}

export type MetricsHttpServer = http.Server | https.Server;

// The fastest level: a scrape's text still shrinks about 7 times, for half the CPU of the default.
const GZIP = { level: 1 };

const OPEN: MetricsSecurity = { tls: null, authorize: null, challenge: "" };

export function createMetricsServer(
  source: MetricsSource,
  onError: (err: Error) => void,
  security: MetricsSecurity = OPEN,
): MetricsHttpServer {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/healthz") {
      // Open to liveness probes: it says nothing but "ok".
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    if (path === "/readyz") {
      // Open to readiness probes and load balancers, as /healthz.
      const r = source.readiness?.() ?? { ready: true, why: "ready" };
      res
        .writeHead(r.ready ? 200 : 503, { "content-type": "text/plain", "cache-control": "no-store" })
        .end(`${r.why}\n`);
      return;
    }
    if (untrustedClient(req)) {
      res.writeHead(403, { "content-type": "text/plain" }).end("client certificate not trusted\n");
      return;
    }
    if (security.authorize && !security.authorize(req)) {
      res
        .writeHead(401, { "content-type": "text/plain", "www-authenticate": security.challenge })
        .end("authentication required\n");
      return;
    }
    if (source.status && path === "/status.json") {
      res
        .writeHead(200, { "content-type": "application/json", "cache-control": "no-store" })
        .end(JSON.stringify(source.status()));
      return;
    }
    if (source.status && path === "/") {
      res
        .writeHead(200, {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        })
        .end(STATUS_PAGE);
      return;
    }
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    source.gather().then(
      (families) => {
        const format = negotiate(req.headers.accept);
        // Encoded once: ending with a string would measure its UTF-8 length, then encode it again.
        const body =
          format === "protobuf"
            ? formatProtobuf(families)
            : Buffer.from(format === "openmetrics" ? formatOpenMetrics(families) : formatPrometheus(families));
        const headers: http.OutgoingHttpHeaders = {
          "content-type":
            format === "protobuf"
              ? PROTOBUF_CONTENT_TYPE
              : format === "openmetrics"
                ? OPENMETRICS_CONTENT_TYPE
                : PROMETHEUS_CONTENT_TYPE,
          vary: "Accept, Accept-Encoding",
        };
        if (/\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""))) {
          headers["content-encoding"] = "gzip";
          res.writeHead(200, headers).end(gzipSync(body, GZIP));
        } else {
          res.writeHead(200, headers).end(body);
        }
      },
      (err: Error) => {
        onError(err);
        res.writeHead(500, { "content-type": "text/plain" }).end(`error collecting metrics: ${err.message}\n`);
      },
    );
  };
  return security.tls ? https.createServer(security.tls, handler) : http.createServer(handler);
}

export function listenMetrics(server: MetricsHttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      reject(new MetricsServerError(`cannot start the metrics server on ${host}:${port}: ${socketErrorText(err)}`));
    });
    server.listen({ host, port }, () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}
