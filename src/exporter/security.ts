// Who may read the metrics port: HTTPS with an optional client-certificate check (mutual TLS),
// and basic or bearer authentication. Files are read once at start, so a missing or unreadable
// one is a clear startup error, not a failed scrape later.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { ServerOptions as HttpsOptions } from "node:https";
import type { Settings } from "../config/settings.js";

export type SecuritySettings = Pick<
  Settings,
  | "metrics_certfile"
  | "metrics_keyfile"
  | "metrics_client_cafile"
  | "metrics_client_auth_required"
  | "metrics_auth"
  | "metrics_auth_file"
  | "metrics_auth_secret"
>;

export class MetricsSecurityError extends Error {}

export interface MetricsSecurity {
  /** Options for https.createServer, or null for plain HTTP. */
  tls: HttpsOptions | null;
  /** Checks a request's credentials; null when no authentication is configured. */
  authorize: ((req: IncomingMessage) => boolean) | null;
  /** The WWW-Authenticate challenge of a 401. */
  challenge: string;
}

function readSetting(name: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new MetricsSecurityError(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code})`);
  }
}

const digest = (text: string): Buffer => createHash("sha256").update(text).digest();

export function metricsSecurity(s: SecuritySettings): MetricsSecurity {
  let tls: HttpsOptions | null = null;
  if (s.metrics_certfile && s.metrics_keyfile) {
    tls = {
      cert: readSetting("metrics_certfile", s.metrics_certfile),
      key: readSetting("metrics_keyfile", s.metrics_keyfile),
    };
    if (s.metrics_client_cafile) {
      tls.ca = readSetting("metrics_client_cafile", s.metrics_client_cafile);
      // Ask every client for a certificate; one signed by another CA is always refused, and with
      // client_auth_required so is a client that presents none.
      tls.requestCert = true;
      tls.rejectUnauthorized = s.metrics_client_auth_required;
    }
  }
  if (s.metrics_auth === "none") return { tls, authorize: null, challenge: "" };
  const secret = (
    s.metrics_auth_file
      ? readSetting("metrics_auth_file", s.metrics_auth_file).toString("utf8").split(/\r?\n/)[0]!
      : (s.metrics_auth_secret ?? "")
  ).trim();
  if (secret === "") throw new MetricsSecurityError("metrics_auth: the secret is empty");
  if (s.metrics_auth === "basic" && !secret.includes(":"))
    throw new MetricsSecurityError("metrics_auth basic: the secret must be user:password");
  // Compared as digests, in constant time: neither the length nor a prefix of the secret leaks.
  const expected = digest(authorizationHeader(s.metrics_auth, secret));
  return {
    tls,
    authorize: (req) => timingSafeEqual(digest(String(req.headers.authorization ?? "")), expected),
    challenge:
      s.metrics_auth === "basic"
        ? 'Basic realm="gpe-server metrics", charset="UTF-8"'
        : 'Bearer realm="gpe-server metrics"',
  };
}

/** The Authorization header a scraper sends for this mode and secret (the server and `status` both use it). */
export function authorizationHeader(mode: "basic" | "bearer", secret: string): string {
  return mode === "basic" ? `Basic ${Buffer.from(secret).toString("base64")}` : `Bearer ${secret}`;
}

/** A presented client certificate that the CA did not sign (requestCert without rejectUnauthorized). */
export function untrustedClient(req: IncomingMessage): boolean {
  const socket = req.socket as { authorized?: boolean; getPeerCertificate?: () => object | null };
  if (typeof socket.getPeerCertificate !== "function" || socket.authorized) return false;
  const cert = socket.getPeerCertificate();
  return cert !== null && Object.keys(cert).length > 0;
}
