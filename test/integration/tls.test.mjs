// TLS on the app port with gunicorn's settings: client certificates checked against --ca-certs
// (--cert-reqs), and the oldest TLS version accepted. Certificates are made with openssl.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import http2 from "node:http2";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, stopAll, runCli, waitFor, FIXTURES } from "../helpers/harness.mjs";
import { makePki } from "../helpers/pki.mjs";

after(stopAll);

let pki;
const pem = (name) => readFileSync(pki.path(name));

before(() => {
  pki = makePki();
});

/** One HTTPS GET; resolves with the status, or with the error's code when the handshake failed. */
function get(port, options = {}) {
  return new Promise((resolve) => {
    https
      .get(
        {
          host: "127.0.0.1",
          port,
          path: "/",
          ca: pem("ca.pem"),
          agent: false,
          ...options,
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode));
        },
      )
      .on("error", (err) => resolve(err.code ?? err.message));
  });
}

const serverArgs = () => ["--certfile", pki.path("server.pem"), "--keyfile", pki.path("server.key")];

describe("TLS on the app port", () => {
  for (const kind of ["async", "thread"]) {
    it(`--cert-reqs 2: a ${kind} worker serves a client with a certificate from --ca-certs, and no other`, async () => {
      const s = await startServer({
        workers: 1,
        args: ["-k", kind, ...serverArgs(), "--ca-certs", pki.path("ca.pem"), "--cert-reqs", "2"],
      });
      assert.equal(await get(s.port, { cert: pem("client.pem"), key: pem("client.key") }), 200);
      assert.notEqual(await get(s.port), 200, "a client without a certificate is refused");
    });
  }

  it("--cert-reqs 1: a certificate is optional", async () => {
    const s = await startServer({
      workers: 1,
      args: [...serverArgs(), "--ca-certs", pki.path("ca.pem"), "--cert-reqs", "1"],
    });
    assert.equal(await get(s.port), 200);
    assert.equal(await get(s.port, { cert: pem("client.pem"), key: pem("client.key") }), 200);
  });

  it("--ssl-min-version TLSv1.3 refuses a TLS 1.2 client", async () => {
    const s = await startServer({ workers: 1, args: [...serverArgs(), "--ssl-min-version", "TLSv1.3"] });
    assert.equal(await get(s.port), 200);
    assert.notEqual(await get(s.port, { maxVersion: "TLSv1.2" }), 200);
  });

  it("a self-listening https app keeps its own certificate", async () => {
    const s = await startServer({
      app: join(FIXTURES, "self-listening-https.mjs"),
      workers: 1,
      env: { TLS_CERT: pki.path("server.pem"), TLS_KEY: pki.path("server.key") },
    });
    const body = await new Promise((resolve, reject) => {
      https
        .get(
          {
            host: "127.0.0.1",
            port: s.port,
            path: "/x",
            ca: pem("ca.pem"),
            agent: false,
          },
          (res) => {
            let text = "";
            res.on("data", (c) => (text += c));
            res.on("end", () => resolve(text));
          },
        )
        .on("error", reject);
    });
    assert.equal(body, "secure true /x\n");
    assert.match(s.logs(), /the app's listen\(port 8443\) is taken over/);
  });

  it("--cert-reqs 2 without --ca-certs: one line, exit 2", async () => {
    const r = await runCli([...serverArgs(), "--cert-reqs", "2", join(FIXTURES, "app.mjs")]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      "gpe-server: cert_reqs 2 (a client certificate required) needs ca_certs to check it against\n",
    );
  });
});

/** GETs over one HTTP/2 session; resolves with each response's status and the protocol spoken. */
async function h2Gets(port, paths) {
  const session = http2.connect(`https://127.0.0.1:${port}`, {
    ca: pem("ca.pem"),
  });
  const statuses = [];
  for (const path of paths) {
    statuses.push(
      await new Promise((resolve, reject) => {
        const stream = session.request({ ":path": path });
        stream.on("response", (headers) => resolve(headers[":status"]));
        stream.on("error", reject);
        stream.resume();
      }),
    );
  }
  return { statuses, protocol: session.alpnProtocol, session };
}

describe("HTTP/2", () => {
  it("--http-protocols h2,h1: HTTP/2 by ALPN, HTTP/1.1 for the others, every request counted", async () => {
    const s = await startServer({ workers: 1, args: [...serverArgs(), "--http-protocols", "h2,h1"] });
    const { statuses, protocol, session } = await h2Gets(s.port, ["/", "/pid", "/"]);
    assert.equal(protocol, "h2");
    assert.deepEqual(statuses, [200, 200, 200]);
    assert.equal(await get(s.port), 200, "an HTTP/1.1 client is served too");
    const m = await waitFor(
      async () => {
        const m = await s.scrape();
        return m.sum("gunicorn_worker_requests_total") === 4 && m;
      },
      { what: "4 requests counted" },
    );
    assert.equal(m.sum("gunicorn_worker_requests_total", { status: "200" }), 4);
    // A graceful stop tells the open session to go away instead of waiting graceful_timeout for it.
    const t0 = Date.now();
    s.signal("SIGTERM");
    assert.equal((await s.exited).code, 0);
    assert.ok(Date.now() - t0 < 10_000, `stopped in ${Date.now() - t0} ms`);
    session.destroy();
  });

  it("without h2 the port speaks HTTP/1.1 only", async () => {
    const s = await startServer({ workers: 1, args: serverArgs() });
    const session = http2.connect(`https://127.0.0.1:${s.port}`, {
      ca: pem("ca.pem"),
    });
    const err = await new Promise((resolve) => session.once("error", resolve));
    assert.match(String(err.code ?? err.message), /ERR_SSL|ECONNRESET|ERR_HTTP2|EPROTO/);
    session.destroy();
  });

  for (const [args, message] of [
    [["--http-protocols", "h3"], 'gpe-server: http_protocols: "h3" is not one of h1, h2\n'],
    [["--http-protocols", "h2,h1"], "gpe-server: http_protocols h2 needs TLS: give certfile and keyfile\n"],
    [
      ["--http-protocols", "h2", "-k", "sync", "TLS"],
      "gpe-server: http_protocols h2 is served by the async worker, not sync\n",
    ],
  ]) {
    it(`refuses ${args.join(" ")}: one line, exit 2`, async () => {
      const full = args.at(-1) === "TLS" ? [...args.slice(0, -1), ...serverArgs()] : args;
      const r = await runCli([...full, join(FIXTURES, "app.mjs")]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, message);
    });
  }
});
