// --sticky: one client address, one worker slot. socket.io's long-polling (a session kept in one
// worker's memory, reached by a new HTTP request each time) works across workers only with it.
// The engine.io polling protocol is spoken by hand, one fresh connection per request.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { join } from "node:path";
import { startServer, stopAll, runCli, waitFor, FIXTURES } from "../helpers/harness.mjs";

after(stopAll);

/** One request on a fresh connection from `localAddress`. */
function poll(port, path, { method = "GET", body, localAddress = "127.0.0.1" } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path,
        method,
        localAddress,
        agent: false,
        timeout: 10_000,
        headers: { connection: "close" },
      },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode, pid: Number(res.headers["x-worker-pid"]), text }));
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    if (body) req.setHeader("content-type", "text/plain;charset=UTF-8");
    req.end(body);
  });
}

/**
 * An engine.io session: its handshake and socket.io's connect, then `rounds` round trips of a
 * "whoami" event with an acknowledgement (socket.io packet 42<id>[...], answered 43<id>[pid]).
 */
async function session(port, rounds, localAddress, { reads = true } = {}) {
  const base = "/socket.io/?EIO=4&transport=polling";
  const open = await poll(port, base, { localAddress });
  assert.equal(open.status, 200, open.text);
  const url = `${base}&sid=${JSON.parse(open.text.slice(1)).sid}`;
  // A read waits (up to pingInterval) for something to read: without `reads`, only writes are sent.
  const answers = [await poll(port, url, { method: "POST", body: "40", localAddress })];
  if (reads) answers.push(await poll(port, url, { localAddress }));
  for (let id = 1; id <= rounds; id++) {
    answers.push(await poll(port, url, { method: "POST", body: `42${id}["whoami"]`, localAddress }));
    if (reads) answers.push(await poll(port, url, { localAddress }));
  }
  return { holder: open.pid, answers };
}

describe("sticky sessions", () => {
  it("--sticky: every request of a socket.io polling session reaches the worker that holds it", async () => {
    const s = await startServer({ app: join(FIXTURES, "socketio-app.mjs"), workers: 2, args: ["--sticky"] });
    for (const localAddress of ["127.0.0.1", "127.0.0.2", "127.0.0.3"]) {
      const { holder, answers } = await session(s.port, 6, localAddress);
      for (const a of answers) {
        assert.equal(a.status, 200, a.text);
        assert.equal(a.pid, holder);
      }
      assert.match(answers.at(-1).text, new RegExp(`^436\\[${holder}\\]$`), "the last acknowledgement");
    }
  });

  it("--sticky spreads client addresses over the slots, and a replacement keeps its slot's clients", async () => {
    const s = await startServer({ workers: 2, args: ["--sticky"] });
    const pidOf = async (localAddress) => Number((await poll(s.port, "/pid", { localAddress })).text);
    const byAddress = new Map();
    for (let i = 1; i <= 12; i++) byAddress.set(`127.0.0.${i}`, await pidOf(`127.0.0.${i}`));
    assert.equal(new Set(byAddress.values()).size, 2, "twelve addresses used both workers");
    for (const [address, pid] of byAddress) assert.equal(await pidOf(address), pid, `${address} stays on its worker`);
    // Kill the worker of 127.0.0.1's slot: its replacement serves that address, the other slot is untouched.
    const first = byAddress.get("127.0.0.1");
    const other = [...byAddress].find(([, pid]) => pid !== first);
    process.kill(first, "SIGKILL");
    const replacement = await waitFor(
      async () => {
        const pid = await pidOf("127.0.0.1").catch(() => 0);
        return pid !== 0 && pid !== first && pid;
      },
      { timeout: 20_000, what: "the replacement to serve 127.0.0.1" },
    );
    assert.ok(s.workerPids().includes(replacement));
    assert.equal(await pidOf(other[0]), other[1], "the other slot's clients stay where they were");
  });

  it("without --sticky, a polling request reaching another worker is refused by socket.io", async () => {
    const s = await startServer({ app: join(FIXTURES, "socketio-app.mjs"), workers: 2 });
    const { holder, answers } = await session(s.port, 20, "127.0.0.1", { reads: false });
    // Whichever worker accepts each fresh connection answers it: only the holder knows the session.
    for (const a of answers) {
      if (a.pid === holder) assert.equal(a.status, 200, a.text);
      else assert.match(`${a.status} ${a.text}`, /^400 .*Session ID unknown/);
    }
  });

  it("refuses --sticky with a unix socket and with the sync worker, in one line", async () => {
    for (const [args, message] of [
      [
        ["--sticky", "-b", "unix:/tmp/gpe-sticky.sock"],
        /sticky routes by client address, which a unix socket has none of/,
      ],
      [["--sticky", "-k", "sync"], /sticky needs the async worker/],
    ]) {
      const r = await runCli([...args, join(FIXTURES, "app.mjs")]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    }
  });
});
