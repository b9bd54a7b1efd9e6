// Each worker type's concurrency rule, checked from the intervals the app reports it ran in.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, createHash } from "node:crypto";
import net from "node:net";
import { startServer, stopAll, request, sleep } from "../helpers/harness.mjs";

after(stopAll);

const overlaps = (a, b) => a.start < b.end && b.start < a.end;
const json = async (p) => JSON.parse((await p).body);
const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** POSTs `body` to an echo route and resolves with the bytes that came back. */
const echo = async (url, body) => (await request(url, { method: "POST", body })).bytes;

/** Sends `parts` on a new connection, `gapMs` apart, and resolves with everything the server sent. */
function rawExchange(port, parts, gapMs) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks = [];
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer")));
    parts.forEach((part, i) => {
      setTimeout(() => socket.write(part), i * gapMs);
    });
  });
}

describe("sync worker", () => {
  it("never queues a request behind a busy worker while another is idle", async () => {
    const s = await startServer({ workers: 2, args: ["-k", "sync"] });
    const slow = json(request(s.url("/sleep?ms=2000")));
    await new Promise((r) => setTimeout(r, 200));
    const sleeper = (await slow.catch(() => null)) ?? null;
    void sleeper;
    for (let i = 0; i < 8; i++) {
      const t0 = Date.now();
      const res = await request(s.url("/pid"));
      assert.equal(res.status, 200);
      assert.ok(Date.now() - t0 < 1000, `request ${i} waited ${Date.now() - t0} ms behind the busy worker`);
    }
  });

  it("never leaves a burst of connections behind a long request while another worker is free", async () => {
    // The busy worker's event loop is free (the request awaits a timer), so it accepts part of the
    // burst; what it holds must go to the free worker once its request has run long.
    const s = await startServer({ workers: 2, args: ["-k", "sync"] });
    const slow = request(s.url("/sleep?ms=3000"));
    await new Promise((r) => setTimeout(r, 200));
    for (let round = 0; round < 3; round++) {
      const t0 = Date.now();
      const results = await Promise.all(
        Array.from({ length: 16 }, () =>
          request(s.url("/pid")).then((r) => ({ status: r.status, ms: Date.now() - t0 })),
        ),
      );
      for (const r of results) {
        assert.equal(r.status, 200);
        assert.ok(r.ms < 1500, `a request of the burst waited ${r.ms} ms`);
      }
    }
    assert.equal((await slow).status, 200);
  });

  it("runs one request at a time per worker and closes the connection after each response", async () => {
    const s = await startServer({ workers: 1, args: ["-k", "sync"] });
    const [a, b] = await Promise.all([json(request(s.url("/sleep?ms=300"))), json(request(s.url("/sleep?ms=300")))]);
    assert.equal(a.pid, b.pid);
    assert.ok(!overlaps(a, b), "two requests ran at once in a sync worker");
    const res = await request(s.url("/"), { headers: { connection: "keep-alive" } });
    assert.equal(res.headers.connection, "close");
  });
});

describe("sync worker reading ahead", () => {
  // A sync worker reads a connection it held the moment it starts it (read-ahead.ts): a body
  // longer than that one read, a head that arrives in two parts, a client that left or reset
  // while it waited, must all come out as if read the usual way.
  const bodies = [0, 1, 1000, 70_000, 300_000, 2_000_000].map((n) => randomBytes(n));
  for (const [what, front] of [
    ["held here", null],
    ["passed round the master", "/sleep?ms=300"],
  ]) {
    it(`serves connections ${what} whole`, async () => {
      const s = await startServer({ workers: 1, args: ["-k", "sync"] });
      const pid = (await request(s.url("/pid"))).body;
      // With one worker busy for 300 ms, what it held goes to the master after LONG_WORK_MS and
      // comes back one at a time; without it, a burst is held here and answered in a batch.
      const first = front ? request(s.url(front)) : null;
      if (first) await sleep(50);
      const gone = net.connect(s.port, "127.0.0.1", function () {
        this.end();
      });
      const reset = net.connect(s.port, "127.0.0.1", function () {
        this.resetAndDestroy();
      });
      gone.on("error", () => {});
      reset.on("error", () => {});
      const [split, ...echoed] = await Promise.all([
        rawExchange(s.port, ["GET /pid HT", "TP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"], 150),
        ...bodies.map((body) => echo(s.url("/echo"), body)),
      ]);
      if (first) assert.equal((await first).status, 200);
      assert.match(split, /^HTTP\/1\.1 200/);
      assert.ok(split.endsWith(pid), "the head that came in two parts was answered");
      echoed.forEach((back, i) => {
        assert.equal(
          sha(back),
          sha(bodies[i]),
          `the ${bodies[i].length}-byte body came back changed (${back.length} bytes)`,
        );
      });
      assert.equal((await request(s.url("/pid"))).body, pid, "the same worker goes on");
    });
  }
});

describe("async worker", () => {
  it("serves many requests concurrently in one process and keeps connections alive", async () => {
    const s = await startServer({ workers: 1, args: ["-k", "async"] });
    const results = await Promise.all(Array.from({ length: 5 }, () => json(request(s.url("/sleep?ms=400")))));
    assert.equal(new Set(results.map((r) => r.pid)).size, 1);
    for (const r of results.slice(1)) assert.ok(overlaps(results[0], r), "async requests should overlap");
    const res = await request(s.url("/"), { headers: { connection: "keep-alive" } });
    assert.equal(res.headers.connection, "keep-alive");
  });

  it("keeps a connection it has no room for unread, so it can go round the master and be served", async () => {
    // Async workers start reading a connection as they accept it. With its one slot taken, the
    // worker must stop the new one before a byte is read: after LONG_WORK_MS it goes to the master
    // (the only worker is busy, so the master keeps it) and comes back when the slot frees. A byte
    // read in between would be lost with the first process-local socket, and the request would hang.
    const s = await startServer({ workers: 1, args: ["-k", "async", "--worker-connections", "1"] });
    const slow = json(request(s.url("/sleep?ms=600")));
    await sleep(150);
    const fast = await request(s.url("/"), { timeout: 5000 });
    const first = await slow;
    assert.equal(fast.status, 200);
    assert.ok(Date.now() >= first.end, "the second request waited for the slot");
    const m = await s.scrape();
    assert.ok(m.sum("gunicorn_master_dispatch_wait_seconds_count") >= 1, "the connection went round the master");
  });

  it("accepts the exporter's class names as aliases", async () => {
    const s = await startServer({ workers: 1, args: ["-k", "gunicorn_prometheus_exporter.PrometheusEventletWorker"] });
    const results = await Promise.all(Array.from({ length: 3 }, () => json(request(s.url("/sleep?ms=300")))));
    assert.ok(overlaps(results[0], results[2]));
  });
});

describe("thread worker", () => {
  it("runs two CPU-bound requests of one process in parallel on two threads", async () => {
    const s = await startServer({ workers: 1, args: ["-k", "thread", "--threads", "2"] });
    const [a, b] = await Promise.all([json(request(s.url("/busy?ms=500"))), json(request(s.url("/busy?ms=500")))]);
    assert.equal(a.pid, b.pid, "one process");
    assert.notEqual(a.threadId, b.threadId, "two threads");
    assert.ok(overlaps(a, b), "the two CPU-bound requests ran at the same time");
  });

  it("runs at most `threads` requests at once", async () => {
    const s = await startServer({ workers: 1, args: ["-k", "gthread", "--threads", "1"] });
    const [a, b] = await Promise.all([json(request(s.url("/busy?ms=300"))), json(request(s.url("/busy?ms=300")))]);
    assert.ok(!overlaps(a, b), "one thread runs one request at a time");
  });

  it("streams request and response bodies both ways", async () => {
    const s = await startServer({ workers: 1, args: ["-k", "thread", "--threads", "2"] });
    const body = randomBytes(3 * 1024 * 1024);
    const back = await echo(s.url("/echo"), body);
    assert.equal(sha(back), sha(body));
  });

  it("counts requests served by threads in the process's metrics", async () => {
    const s = await startServer({ workers: 1, args: ["-k", "thread", "--threads", "2"] });
    for (let i = 0; i < 6; i++) await request(s.url("/"));
    const { waitFor } = await import("../helpers/harness.mjs");
    await waitFor(async () => (await s.scrape()).sum("gunicorn_worker_requests_total") === 6, {
      what: "6 requests counted",
    });
  });
});

/**
 * Sends one request on a raw connection that is never reused, and times how long the server
 * keeps it open after the response: the keep-alive timeout, seen from the client.
 */
function idleClose(port, path) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let head = "";
    let answeredAt = 0;
    const sentAt = Date.now();
    socket.setEncoding("latin1");
    socket.on("data", (chunk) => {
      head += chunk;
      if (!answeredAt && head.includes("\r\n\r\n")) answeredAt = Date.now();
    });
    socket.on("error", reject);
    socket.on("close", () =>
      resolve({
        head: head.toLowerCase(),
        answeredAfterMs: answeredAt - sentAt,
        closedAfterMs: Date.now() - answeredAt,
      }),
    );
    socket.setTimeout(8000, () => socket.destroy(new Error("the server never closed the idle connection")));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
  });
}

describe("keep-alive timeout", () => {
  // The sync worker keeps connections alive only when --keep-alive is given, as in gunicorn.
  for (const args of [
    ["-k", "async"],
    ["-k", "sync"],
    ["-k", "thread", "--threads", "2"],
  ]) {
    it(`closes an idle connection after --keep-alive seconds, never a busy one (${args[1]})`, async () => {
      const s = await startServer({ workers: 1, args: [...args, "--keep-alive", "1"] });
      const [quick, slow] = await Promise.all([idleClose(s.port, "/"), idleClose(s.port, "/sleep?ms=1600")]);
      for (const r of [quick, slow]) {
        assert.match(r.head, /connection: keep-alive\r\nkeep-alive: timeout=1\r\n/);
        assert.ok(
          r.closedAfterMs >= 950,
          `closed ${r.closedAfterMs} ms after the response, before the keep-alive time`,
        );
        assert.ok(r.closedAfterMs < 2500, `still open ${r.closedAfterMs} ms after the response`);
      }
      assert.ok(slow.answeredAfterMs >= 1550, `the 1.6 s request was answered after ${slow.answeredAfterMs} ms`);
    });
  }

  it("closes every connection after its response with --keep-alive 0 (gunicorn's meaning)", async () => {
    const s = await startServer({ workers: 1, args: ["-k", "async", "--keep-alive", "0"] });
    const r = await idleClose(s.port, "/");
    assert.match(r.head, /connection: close\r\n/);
    assert.ok(r.closedAfterMs < 500, `closed ${r.closedAfterMs} ms after the response`);
  });
});

/**
 * Sends one request on a raw connection, reads nothing for `pauseMs` (so the server finishes
 * while most of the body still sits in the kernel's buffers), then reads to the end. Resolves
 * with the body and whether the connection ended with a clean FIN; a reset rejects.
 */
function readAfterPause(port, request, pauseMs) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks = [];
    let ended = false;
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("end", () => (ended = true));
    socket.on("error", reject);
    socket.on("close", () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf("\r\n\r\n");
      resolve({ head: all.subarray(0, split).toString("latin1").toLowerCase(), body: all.subarray(split + 4), ended });
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error("the server never closed the connection")));
    socket.pause();
    socket.write(request);
    setTimeout(() => socket.resume(), pauseMs);
  });
}

describe("closing a connection after its last response", () => {
  // Workers close plain TCP connections without Node's half-close first (request-pipeline.ts):
  // the response must still arrive whole, followed by a FIN, not a reset.
  const N = 8 << 20;
  const pattern = Buffer.allocUnsafe(N);
  for (let i = 0; i < N; i++) pattern[i] = i % 251;
  const expected = createHash("sha256").update(pattern).digest("hex");
  for (const args of [
    ["-k", "async"],
    ["-k", "sync"],
    ["-k", "thread", "--threads", "2"],
  ]) {
    it(`delivers a body larger than the socket buffers whole, then a clean close (${args[1]})`, async () => {
      const s = await startServer({ workers: 1, args });
      const requests = [
        `GET /bytes?n=${N} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`,
        `GET /bytes?n=${N} HTTP/1.0\r\n\r\n`,
      ];
      for (const request of requests) {
        const r = await readAfterPause(s.port, request, 300);
        assert.match(r.head, /^http\/1\.[01] 200/);
        assert.match(r.head, /connection: close/);
        assert.equal(r.body.length, N, `${request.split("\r\n")[0]}: got ${r.body.length} of ${N} bytes`);
        assert.equal(createHash("sha256").update(r.body).digest("hex"), expected);
        assert.ok(r.ended, "the connection ended without a FIN");
      }
    });
  }
});
