// The metrics port behind TLS, mutual TLS and basic or bearer authentication, with certificates
// made by openssl for the test.
import { describe, it, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, chmodSync, statSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { dirname, join } from "node:path";
import { startServer, stopAll, request, runCli, tempDir, waitFor, FIXTURES, ROOT } from "../helpers/harness.mjs";
import { makePki } from "../helpers/pki.mjs";

after(stopAll);

const HAVE_OPENSSL = !spawnSync("openssl", ["version"]).error;
let pki;

function httpsGet(port, path, { ca, cert, key, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    https
      .get({ host: "127.0.0.1", port, path, ca, cert, key, headers, agent: false }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode, body, headers: res.headers }));
      })
      .on("error", reject);
  });
}

describe("metrics port security", {
  skip: HAVE_OPENSSL ? false : "openssl not installed (apt-get install -y openssl)",
}, () => {
  before(() => {
    pki = makePki();
  });

  it("serves /metrics over HTTPS from PROMETHEUS_SSL_CERTFILE/KEYFILE and refuses plain HTTP", async () => {
    const s = await startServer({
      workers: 1,
      env: { PROMETHEUS_SSL_CERTFILE: pki.path("server.pem"), PROMETHEUS_SSL_KEYFILE: pki.path("server.key") },
    });
    assert.match(s.logs(), /Metrics at: https:\/\//);
    const res = await httpsGet(s.metricsPort, "/metrics", { ca: pki.ca });
    assert.equal(res.status, 200);
    assert.match(res.body, /^gunicorn_workers 1$/m);
    await assert.rejects(request(`http://127.0.0.1:${s.metricsPort}/metrics`, { timeout: 3000 }));
  });

  it("with a client CA and client auth required, accepts only clients whose certificate the CA signed", async () => {
    const s = await startServer({
      workers: 1,
      env: {
        PROMETHEUS_SSL_CERTFILE: pki.path("server.pem"),
        PROMETHEUS_SSL_KEYFILE: pki.path("server.key"),
        PROMETHEUS_SSL_CLIENT_CAFILE: pki.path("ca.pem"),
        PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED: "true",
      },
    });
    assert.equal((await httpsGet(s.metricsPort, "/metrics", { ca: pki.ca, ...pki.client })).status, 200);
    await assert.rejects(
      httpsGet(s.metricsPort, "/metrics", { ca: pki.ca }),
      "no client certificate: refused in the handshake",
    );
    await assert.rejects(
      httpsGet(s.metricsPort, "/metrics", { ca: pki.ca, ...pki.rogue }),
      "a certificate from another CA: refused",
    );
  });

  it("with a client CA but auth optional, still refuses a certificate the CA did not sign", async () => {
    const s = await startServer({
      workers: 1,
      args: [
        "--metrics-certfile",
        pki.path("server.pem"),
        "--metrics-keyfile",
        pki.path("server.key"),
        "--metrics-client-cafile",
        pki.path("ca.pem"),
      ],
    });
    assert.equal((await httpsGet(s.metricsPort, "/metrics", { ca: pki.ca })).status, 200, "no certificate is allowed");
    assert.equal((await httpsGet(s.metricsPort, "/metrics", { ca: pki.ca, ...pki.client })).status, 200);
    const rogue = await httpsGet(s.metricsPort, "/metrics", { ca: pki.ca, ...pki.rogue });
    assert.equal(rogue.status, 403);
  });

  it("basic auth from a file: 401 without or with wrong credentials, 200 with the right ones; /healthz stays open", async () => {
    const file = join(tempDir(), "metrics-auth");
    writeFileSync(file, "prometheus:s3cr3t\n");
    chmodSync(file, 0o600);
    const s = await startServer({ workers: 1, args: ["--metrics-auth", "basic", "--metrics-auth-file", file] });
    const url = `http://127.0.0.1:${s.metricsPort}`;
    const basic = (cred) => ({ authorization: `Basic ${Buffer.from(cred).toString("base64")}` });
    const none = await request(`${url}/metrics`);
    assert.equal(none.status, 401);
    assert.match(none.headers["www-authenticate"], /^Basic realm=/);
    assert.equal((await request(`${url}/metrics`, { headers: basic("prometheus:wrong") })).status, 401);
    assert.equal((await request(`${url}/status.json`)).status, 401, "the status JSON is protected too");
    assert.equal((await request(`${url}/`)).status, 401, "and the status page");
    const ok = await request(`${url}/metrics`, { headers: basic("prometheus:s3cr3t") });
    assert.equal(ok.status, 200);
    assert.match(ok.body, /gunicorn_workers 1/);
    assert.equal((await request(`${url}/healthz`)).status, 200);
    // gpe-server status reads the same environment the server does.
    const status = await runCli(["status", "--metrics-url", url, "--json"], {
      env: { GPE_METRICS_AUTH: "basic", GPE_METRICS_AUTH_FILE: file },
    });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).pid, s.pid);
    const refused = await runCli(["status", "--metrics-url", url]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /wants credentials/);
  });

  it("bearer auth from the environment; the secret is never accepted on the command line", async () => {
    const s = await startServer({
      workers: 1,
      args: ["--metrics-auth", "bearer"],
      env: { GPE_METRICS_AUTH_SECRET: "tok-123" },
    });
    const url = `http://127.0.0.1:${s.metricsPort}/metrics`;
    assert.equal((await request(url, { headers: { authorization: "Bearer tok-123" } })).status, 200);
    assert.equal((await request(url, { headers: { authorization: "Bearer tok-124" } })).status, 401);
    assert.equal((await request(url)).headers["www-authenticate"], 'Bearer realm="gpe-server metrics"');
    const argv = await runCli(["--metrics-auth", "bearer", "--metrics-auth-secret", "tok-123", `${FIXTURES}/app.mjs`]);
    assert.equal(argv.code, 2);
    assert.match(argv.stderr, /unknown option '--metrics-auth-secret'/);
    const noSecret = await runCli(["--metrics-auth", "basic", `${FIXTURES}/app.mjs`]);
    assert.equal(noSecret.code, 2);
    assert.match(noSecret.stderr, /metrics_auth basic needs a secret/);
  });
});

/** Every directory above the checkout lets other users in, so `nobody` can run the code. */
function readableByOthers(path) {
  for (let dir = path; dir !== "/"; dir = dirname(dir)) if ((statSync(dir).mode & 0o005) !== 0o005) return false;
  return true;
}

async function freePrivilegedPort() {
  for (let port = 900; port < 1000; port++) {
    const free = await new Promise((resolve) => {
      const s = net
        .createServer()
        .once("error", () => resolve(false))
        .listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error("no free port in 900..999");
}

const uidOf = (pid) =>
  readFileSync(`/proc/${pid}/status`, "utf8")
    .match(/^Uid:\s+(\d+)\s+(\d+)/m)
    .slice(1)
    .map(Number);

describe("--user and --group", () => {
  it("binds a privileged port as root, then the master and every worker run as nobody:nogroup", async (t) => {
    if (process.getuid() !== 0) return t.skip(`needs root (the test runs as uid ${process.getuid()})`);
    if (!readableByOthers(ROOT)) return t.skip(`${ROOT} is not readable by other users, so nobody could not run it`);
    const port = await freePrivilegedPort();
    const s = await startServer({
      workers: 2,
      args: ["-b", `127.0.0.1:${port}`, "--user", "nobody", "--group", "nogroup"],
    });
    assert.match(s.logs(), /Dropped privileges to nobody:nogroup \(uid 65534, gid 65534\)/);
    assert.deepEqual(uidOf(s.pid), [65534, 65534], "the master's real and effective uid");
    for (const pid of s.workerPids()) assert.deepEqual(uidOf(pid), [65534, 65534], `worker ${pid}`);
    const res = await request(`http://127.0.0.1:${port}/pid`);
    assert.equal(res.status, 200);
    assert.equal(statSync(s.dir).uid, 65534, "the store directory belongs to the new user");
    const m = await waitFor(async () => {
      const m = await s.scrape();
      return m.sum("gunicorn_worker_requests_total") === 1 && m;
    });
    assert.equal(m.sum("gunicorn_metrics_store_errors_total"), 0);
    // Reload works as the unprivileged user: the sockets are already bound.
    const before = s.workerPids();
    s.signal("SIGHUP");
    await waitFor(() => /reload complete/.test(s.logs()), { what: "the reload" });
    assert.notDeepEqual(s.workerPids().sort(), before.sort());
  });

  it("refuses an unknown user in one line", async () => {
    const r = await runCli(["--user", "no-such-user-gpe", `${FIXTURES}/app.mjs`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^gpe-server: user: no user named "no-such-user-gpe" in \/etc\/passwd\n$/);
  });
});
