// The app port's TLS, from gunicorn's settings: certificate and key, client certificates
// (ca_certs, cert_reqs), the oldest version accepted and the cipher list.
import { readFileSync } from "node:fs";
import type tls from "node:tls";
import type { WorkerSettings } from "../../config/settings.js";

export function tlsOptions(s: WorkerSettings): tls.TlsOptions | null {
  if (!s.certfile || !s.keyfile) return null;
  return {
    cert: readFileSync(s.certfile),
    key: readFileSync(s.keyfile),
    ...(s.ca_certs ? { ca: readFileSync(s.ca_certs) } : {}),
    requestCert: s.cert_reqs > 0,
    // cert_reqs 1: a certificate is asked for and checked when sent; without one the handshake goes on.
    rejectUnauthorized: s.cert_reqs === 2,
    minVersion: s.ssl_min_version,
    ...(s.ciphers ? { ciphers: s.ciphers } : {}),
  };
}
