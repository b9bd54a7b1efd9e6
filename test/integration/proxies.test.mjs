// The client behind a proxy: X-Forwarded-For and X-Forwarded-Proto from trusted peers only, and
// HAProxy's PROXY protocol v1 and v2 from a raw client. Real sockets, real access log lines.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { Duplex } from "node:stream";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, stopAll, request, waitFor, tempDir, FIXTURES } from "../helpers/harness.mjs";
import { makePki } from "../helpers/pki.mjs";

after(stopAll);

const APP = join(FIXTURES, "who-am-i.mjs");

/** Sends raw bytes on a fresh connection and resolves with everything the server answers. */
function raw(port, bytes, { host = "127.0.0.1", localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host, localAddress });
    const chunks = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer within 10 s")));
    socket.on("connect", () => {
      // In two writes with a pause: the header and the request need not arrive together.
      socket.write(bytes[0]);
      if (bytes[1]) setTimeout(() => socket.end(bytes[1]), 30);
      else socket.end();
    });
    socket.on("data", (d) => chunks.push(d));
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    socket.on("error", (err) => (err.code === "ECONNRESET" ? resolve(Buffer.concat(chunks).toString()) : reject(err)));
  });
}
/**
 * A PROXY header, then a TLS connection on the same socket and one request over it. `joined`: the
 * header goes out in one write with the ClientHello (TLS over a stream that prefixes its first write).
 */
function overTls(port, header, { joined, ca }) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let carrier = socket;
    if (joined) {
      let first = true;
      carrier = new Duplex({
        write(chunk, _enc, done) {
          socket.write(first ? Buffer.concat([header, chunk]) : chunk, done);
          first = false;
        },
        read() {
          socket.resume();
        },
        final(done) {
          socket.end();
          done();
        },
      });
      socket.on("data", (d) => carrier.push(d) || socket.pause());
      socket.on("end", () => carrier.push(null));
      socket.on("error", (err) => carrier.destroy(err));
    } else {
      socket.write(header);
    }
    const secure = tls.connect({ socket: carrier, ca, servername: undefined, checkServerIdentity: () => undefined });
    const chunks = [];
    const timer = setTimeout(() => {
      secure.destroy();
      socket.destroy();
      reject(new Error(`no answer over TLS within 10 s (joined: ${joined})`));
    }, 10_000);
    secure.on("secureConnect", () => secure.write(GET));
    secure.on("data", (d) => chunks.push(d));
    secure.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    secure.on("end", () => {
      clearTimeout(timer);
      secure.destroy();
      socket.destroy();
      resolve(bodyOf(Buffer.concat(chunks).toString("latin1")));
    });
  });
}

const GET = "GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
const bodyOf = (answer) => JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4));

function v2Header({ family = 1, command = 1, source, sourcePort, dest = "127.0.0.1", destPort = 80 }) {
  const sig = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  let body;
  if (family === 1) {
    body = Buffer.alloc(12);
    Buffer.from(source.split(".").map(Number)).copy(body, 0);
    Buffer.from(dest.split(".").map(Number)).copy(body, 4);
    body.writeUInt16BE(sourcePort, 8);
    body.writeUInt16BE(destPort, 10);
  } else {
    body = Buffer.alloc(36);
    const groups = source.split(":");
    for (const [i, g] of groups.entries()) body.writeUInt16BE(parseInt(g || "0", 16), i * 2);
    body.writeUInt16BE(sourcePort, 32);
    body.writeUInt16BE(destPort, 34);
  }
  const head = Buffer.from([0x20 | command, (family << 4) | 1, 0, 0]);
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([sig, head, body]);
}

describe("X-Forwarded-For and X-Forwarded-Proto", () => {
  it("trusts them from a peer in --forwarded-allow-ips, for the access log and req.clientAddress", async () => {
    const log = join(tempDir(), "access.log");
    const s = await startServer({
      app: APP,
      workers: 1,
      args: ["--access-logfile", log, "--access-log-format", "%(h)s %(U)s"],
    });
    const headers = { "x-forwarded-for": "203.0.113.7, 127.0.0.1", "x-forwarded-proto": "https" };
    const trusted = JSON.parse((await request(s.url("/trusted"), { headers })).body);
    assert.equal(trusted.peer, "127.0.0.1", "req.socket.remoteAddress stays the peer");
    assert.equal(trusted.client, "203.0.113.7", "the nearest untrusted hop is the client");
    assert.equal(trusted.protocol, "https");
    const plain = JSON.parse((await request(s.url("/plain"))).body);
    assert.equal(plain.client, "127.0.0.1");
    assert.equal(plain.protocol, "http");
    await waitFor(() => /\/plain/.test(readFileSync(log, "utf8")), { what: "the access log lines" });
    const lines = readFileSync(log, "utf8").trim().split("\n");
    assert.deepEqual(lines, ["203.0.113.7 /trusted", "127.0.0.1 /plain"]);
  });

  it("ignores them from a peer that is not trusted", async () => {
    const log = join(tempDir(), "access.log");
    const s = await startServer({
      app: APP,
      workers: 1,
      args: ["--forwarded-allow-ips", "10.0.0.0/8", "--access-logfile", log, "--access-log-format", "%(h)s %(U)s"],
    });
    const headers = { "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https" };
    const who = JSON.parse((await request(s.url("/spoofed"), { headers })).body);
    assert.equal(who.client, "127.0.0.1");
    assert.equal(who.protocol, "http");
    await waitFor(() => /\/spoofed/.test(readFileSync(log, "utf8")), { what: "the access log line" });
    assert.equal(readFileSync(log, "utf8").trim(), "127.0.0.1 /spoofed");
  });

  it("trusts every peer with *", async () => {
    const s = await startServer({ app: APP, workers: 1, args: ["--forwarded-allow-ips", "*"] });
    const headers = { "x-forwarded-for": "198.51.100.1, 10.1.1.1" };
    const who = JSON.parse((await request(s.url("/"), { headers })).body);
    assert.equal(who.client, "198.51.100.1");
  });
});

describe("PROXY protocol", () => {
  const serve = (extra = [], workerClass = "async") =>
    startServer({
      app: APP,
      workers: 1,
      args: ["--proxy-protocol", "-k", workerClass, "--header-timeout", "2", "--access-log-format", "%(h)s", ...extra],
    });

  for (const workerClass of ["async", "sync", "thread"]) {
    it(`takes the client from a v1 and a v2 header (${workerClass} worker)`, async () => {
      const s = await serve([], workerClass);
      const v1 = bodyOf(await raw(s.port, ["PROXY TCP4 192.0.2.10 127.0.0.1 51234 80\r\n", GET]));
      assert.equal(v1.peer, "192.0.2.10");
      assert.equal(v1.peerPort, 51234);
      assert.equal(v1.client, "192.0.2.10");
      const v2 = bodyOf(
        await raw(s.port, [
          Buffer.concat([v2Header({ source: "198.51.100.23", sourcePort: 40000 }), Buffer.from(GET)]),
        ]),
      );
      assert.equal(v2.client, "198.51.100.23");
      assert.equal(v2.peerPort, 40000);
      const v6 = bodyOf(
        await raw(s.port, [v2Header({ family: 2, source: "2001:db8:0:0:0:0:0:5", sourcePort: 443 }), GET]),
      );
      assert.equal(v6.client, "2001:db8::5");
    });
  }

  it("keeps the peer for a v2 LOCAL header (a health check) and v1 UNKNOWN", async () => {
    const s = await serve();
    const local = bodyOf(
      await raw(s.port, [
        Buffer.concat([v2Header({ command: 0, source: "1.2.3.4", sourcePort: 1 }), Buffer.from(GET)]),
      ]),
    );
    assert.equal(local.client, "127.0.0.1");
    const unknown = bodyOf(await raw(s.port, ["PROXY UNKNOWN\r\n", GET]));
    assert.equal(unknown.client, "127.0.0.1");
  });

  it("closes a connection with a garbage or missing header, logs it and counts it; the app never sees it", async () => {
    const s = await serve();
    assert.equal(await raw(s.port, ["PROXY TCP4 999.1.1.1 127.0.0.1 1 80\r\n", GET]), "");
    assert.equal(await raw(s.port, [GET]), "");
    assert.equal(await raw(s.port, ["PROXY TCP4 192.0.2.1"]), "", "a header that never ends");
    await waitFor(() => /no PROXY protocol header from 127\.0\.0\.1 within 2000 ms/.test(s.logs()), {
      what: "the timeout line",
    });
    assert.match(
      s.logs(),
      /PROXY protocol header from 127\.0\.0\.1: bad v1 source address 999\.1\.1\.1; connection closed/,
    );
    assert.match(s.logs(), /PROXY protocol header from 127\.0\.0\.1: no PROXY protocol header; connection closed/);
    const m = await waitFor(
      async () => {
        const metrics = await s.scrape();
        const v = (reason) => metrics.sum("gunicorn_worker_proxy_protocol_rejected_total", { reason });
        return v("header") === 2 && v("timeout") === 1 && v("peer") === 0 && metrics;
      },
      { what: "the rejections to be counted" },
    );
    assert.equal(m.sum("gunicorn_worker_requests_total"), 0, "no request reached the app");
    // A good connection after all that is still served.
    assert.equal(bodyOf(await raw(s.port, ["PROXY TCP4 192.0.2.99 127.0.0.1 1000 80\r\n", GET])).client, "192.0.2.99");
  });

  // HAProxy and NLB in TCP mode with TLS passthrough: the header comes before the handshake, often
  // in the same packet as the ClientHello, which the worker then reads along with the header.
  for (const workerClass of ["async", "sync", "thread"]) {
    it(`reads the header in front of TLS, sent alone or with the ClientHello, many times (${workerClass} worker)`, async () => {
      const pki = makePki();
      const s = await serve(["--certfile", pki.path("server.pem"), "--keyfile", pki.path("server.key")], workerClass);
      const rounds = 40;
      const seen = [];
      for (let i = 0; i < rounds; i++) {
        const v2 = i % 2 === 1;
        const source = `192.0.2.${(i % 250) + 1}`;
        const header = v2
          ? v2Header({ source, sourcePort: 40000 + i, destPort: 443 })
          : Buffer.from(`PROXY TCP4 ${source} 127.0.0.1 ${40000 + i} 443\r\n`);
        const body = await overTls(s.port, header, { joined: i % 4 < 2, ca: pki.ca });
        seen.push(`${body.client}:${body.peerPort}/${body.protocol}`);
      }
      const expected = Array.from({ length: rounds }, (_, i) => `192.0.2.${(i % 250) + 1}:${40000 + i}/https`);
      assert.deepEqual(seen, expected);
    });
  }

  it("refuses a peer outside --proxy-allow-ips", async () => {
    const s = await serve(["--proxy-allow-ips", "10.0.0.0/8"]);
    assert.equal(await raw(s.port, ["PROXY TCP4 192.0.2.10 127.0.0.1 51234 80\r\n", GET]), "");
    await waitFor(
      () => /connection from 127\.0\.0\.1, which is not in proxy_allow_ips; connection closed/.test(s.logs()),
      {
        what: "the refusal line",
      },
    );
  });
});
