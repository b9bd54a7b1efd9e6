// Node apps as Node teams write them: the event-loop worker by default, scripts that start their
// own server, WebSockets, and sockets passed in by a launcher (systemd socket activation).
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import http from "node:http";
import { spawn } from "node:child_process";
import { join } from "node:path";
import WebSocket from "ws";
import {
  startServer,
  stopAll,
  request,
  waitFor,
  runCli,
  freePort,
  sleep,
  tempDir,
  adopt,
  FIXTURES,
  CLI,
} from "../helpers/harness.mjs";

after(stopAll);

const refused = (port) =>
  new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (err) => resolve(err.code === "ECONNREFUSED"));
  });

/** Opens a WebSocket, sends `text`, resolves with the socket and the first answer. */
function echo(url, text) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once("error", reject);
    ws.once("open", () => ws.send(text));
    ws.once("message", (data) => resolve({ ws, answer: String(data) }));
  });
}

const closed = (ws) =>
  new Promise((resolve) => {
    ws.once("close", resolve);
    ws.close();
  });

describe("defaults for Node", () => {
  it("runs the async worker with keep-alive when no worker class is given", async () => {
    const s = await startServer({ workers: 1 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise((resolve, reject) => {
        http
          .get(s.url("/"), { agent }, (res) => {
            res.resume();
            res.on("end", () => resolve({ headers: res.headers, socket: res.socket }));
          })
          .on("error", reject);
      });
    const first = await get();
    assert.equal(first.headers.connection, "keep-alive");
    const second = await get();
    assert.equal(second.socket, first.socket, "the second request reused the connection");
    agent.destroy();
    assert.match(s.logs(), /Using worker: async/);
  });
});

describe("apps that listen themselves", () => {
  it("takes over a plain http server's listen(): the asked port stays free, address() is gpe-server's", async () => {
    const asked = await freePort();
    const s = await startServer({
      app: join(FIXTURES, "self-listening.mjs"),
      workers: 2,
      env: { ASKED_PORT: String(asked) },
    });
    const body = JSON.parse((await request(s.url("/hello"))).body);
    assert.equal(body.url, "/hello");
    assert.deepEqual(body.address, { address: "127.0.0.1", port: s.port, family: "IPv4" });
    assert.ok(await refused(asked), `port ${asked} was not bound`);
    assert.match(
      s.logs(),
      new RegExp(`the app's listen\\(port ${asked}\\) is taken over: it serves on 127\\.0\\.0\\.1:${s.port}`),
    );
    const m = await waitFor(async () => {
      const m = await s.scrape();
      return m.sum("gunicorn_worker_requests_total") >= 1 && m;
    });
    assert.equal(m.sum("gunicorn_worker_requests_total", { status: "200" }), 1);
  });

  it("Express's app.listen() after an await: served, with its route template as the endpoint label", async () => {
    const s = await startServer({ app: join(FIXTURES, "self-listening-express.mjs"), workers: 1 });
    assert.deepEqual(JSON.parse((await request(s.url("/users/42"))).body).id, "42");
    assert.equal((await request(s.url("/users/43/fail"))).status, 500);
    const m = await waitFor(async () => {
      const m = await s.scrape();
      return m.sum("gunicorn_worker_failed_requests_total") >= 1 && m;
    });
    assert.equal(m.sum("gunicorn_worker_failed_requests_total", { endpoint: "/users/:id/fail" }), 1);
  });

  it("Fastify's await listen() on localhost (two servers, one handler)", async () => {
    const s = await startServer({ app: join(FIXTURES, "self-listening-fastify.mjs"), workers: 1 });
    const body = JSON.parse((await request(s.url("/items/9"))).body);
    assert.equal(body.id, "9");
    assert.equal(body.address.port, s.port);
  });

  it("keeps max_requests, reload and graceful stop working", async () => {
    const s = await startServer({
      app: join(FIXTURES, "self-listening.mjs"),
      workers: 1,
      args: ["--max-requests", "3"],
    });
    for (let i = 0; i < 7; i++) assert.equal((await request(s.url(`/r${i}`))).status, 200);
    const m = await waitFor(async () => {
      const m = await s.scrape();
      return m.sum("gunicorn_master_worker_restarts_total", { reason: "max_requests" }) >= 2 && m;
    });
    assert.ok(m);
    const before = s.workerPids();
    s.signal("SIGHUP");
    await waitFor(() => /reload complete/.test(s.logs()), { what: "the reload" });
    assert.notDeepEqual(s.workerPids(), before);
    assert.equal((await request(s.url("/after"))).status, 200);
    s.signal("SIGTERM");
    assert.equal((await s.exited).code, 0);
  });

  for (const [fixture, pattern] of [
    [
      "two-servers.mjs",
      /two-servers\.mjs listens on 2 servers \(port 3001, port 3002\); gpe-server serves one app server per worker/,
    ],
    ["never-listens.mjs", /never-listens\.mjs did not call listen\(\) within 1 s/],
  ]) {
    it(`refuses ${fixture} in one line`, async () => {
      const r = await runCli(
        ["-b", "127.0.0.1:0", "--metrics-port", "0", "--multiproc-dir", tempDir(), "-t", "1", join(FIXTURES, fixture)],
        {
          timeout: 30_000,
        },
      );
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.split("\n").filter((l) => l.startsWith("gpe-server:"));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], pattern);
    });
  }
});

describe("WebSocket upgrades", () => {
  for (const args of [
    ["-k", "async"],
    ["-k", "sync"],
  ]) {
    it(`reach a self-listening app's WebSocketServer through a ${args[1]} worker, counted, and free the slot`, async () => {
      const s = await startServer({
        app: join(FIXTURES, "ws-echo.mjs"),
        workers: 1,
        args: [...args, "--header-timeout", "1"],
      });
      const { ws, answer } = await echo(`ws://127.0.0.1:${s.port}/chat`, "hello");
      assert.equal(answer, "echo hello");
      // A plain request beside the open WebSocket: the upgraded connection holds no request slot.
      const plain = await request(s.url("/"), { timeout: 3000 });
      assert.match(plain.body, /^plain \d+/);
      // Past --header-timeout (1 s), the upgraded connection still works: it is no longer HTTP.
      await sleep(2500);
      const again = await new Promise((resolve) => {
        ws.once("message", (data) => resolve(String(data)));
        ws.send("still there");
      });
      assert.equal(again, "echo still there");
      const open = await waitFor(
        async () => {
          const m = await s.scrape();
          return m.sum("gunicorn_worker_upgraded_connections") === 1 && m;
        },
        { what: "one upgraded connection open" },
      );
      assert.equal(open.sum("gunicorn_worker_upgrades_total"), 1);
      await closed(ws);
      await waitFor(async () => (await s.scrape()).sum("gunicorn_worker_upgraded_connections") === 0, {
        what: "no upgraded connection open",
      });
    });
  }

  it("reach an upgrade(req, socket, head) export", async () => {
    const s = await startServer({ app: join(FIXTURES, "upgrade-export.mjs"), workers: 1 });
    const socket = net.connect(s.port, "127.0.0.1");
    let got = "";
    socket.on("data", (d) => (got += d));
    socket.write("GET /x HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nping");
    await waitFor(() => got.endsWith("ping"), { what: () => `the echo; got ${JSON.stringify(got)}` });
    assert.match(got, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    socket.write("pong");
    await waitFor(() => got.endsWith("pingpong"), { what: "the second echo" });
    socket.destroy();
    assert.equal((await request(s.url("/"))).body, "plain\n");
  });

  it("reach a WebSocketServer a factory attached to the server it was given", async () => {
    const s = await startServer({ app: `${join(FIXTURES, "ws-factory.mjs")}:create()`, workers: 1 });
    const { ws, answer } = await echo(`ws://127.0.0.1:${s.port}/`, "x");
    assert.equal(answer, "echo x");
    assert.equal((await request(s.url("/"))).body, "plain\n");
    await closed(ws);
  });

  it("a graceful stop waits for an open WebSocket until graceful_timeout, then exits", async () => {
    const s = await startServer({
      app: join(FIXTURES, "ws-echo.mjs"),
      workers: 1,
      args: ["--graceful-timeout", "2"],
    });
    const { ws } = await echo(`ws://127.0.0.1:${s.port}/`, "x");
    const t0 = Date.now();
    s.signal("SIGTERM");
    const wsClosed = new Promise((resolve) => ws.once("close", resolve));
    assert.equal((await s.exited).code, 0);
    await wsClosed;
    const took = Date.now() - t0;
    assert.ok(took >= 1800 && took < 8000, `stopped after ${took} ms`);
  });

  it("the thread worker refuses an app that takes upgrades, in one line", async () => {
    const r = await runCli(
      [
        "-b",
        "127.0.0.1:0",
        "--metrics-port",
        "0",
        "--multiproc-dir",
        tempDir(),
        "-k",
        "thread",
        join(FIXTURES, "ws-echo.mjs"),
      ],
      { timeout: 30_000 },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /gpe-server: the thread worker does not pass WebSocket or other upgrades to its threads; use -k async or -k sync\n/,
    );
  });
});

/** Runs the CLI with a listening socket on descriptor 3, as systemd passes it (python3 does the dup). */
async function activated(args, { listenFds = true } = {}) {
  const port = await freePort();
  const launcher = [
    "import os, socket, sys",
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
    `s.bind(("127.0.0.1", ${port})); s.listen(128)`,
    "os.dup2(s.fileno(), 3); os.set_inheritable(3, True)",
    listenFds ? 'os.environ["LISTEN_FDS"] = "1"; os.environ["LISTEN_PID"] = str(os.getpid())' : "",
    "os.execvp(sys.argv[1], sys.argv[1:])",
  ].join("\n");
  const metricsPort = await freePort();
  const child = spawn(
    "python3",
    [
      "-c",
      launcher,
      process.execPath,
      CLI,
      "--die-with-parent",
      "--metrics-port",
      String(metricsPort),
      "--multiproc-dir",
      tempDir(),
      "-w",
      "1",
      ...args,
      join(FIXTURES, "app.mjs"),
    ],
    { detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  adopt(child.pid);
  let logs = "";
  child.stdout.on("data", (d) => (logs += d));
  child.stderr.on("data", (d) => (logs += d));
  await waitFor(() => /Booted worker/.test(logs), { timeout: 20_000, what: () => `a worker; logs:\n${logs}` });
  return { port, logs: () => logs, child };
}

describe("socket activation", () => {
  it("serves on the socket systemd passes in LISTEN_FDS when no -b is given", async () => {
    const a = await activated([]);
    assert.match((await request(`http://127.0.0.1:${a.port}/`)).body, /hello/);
    assert.match(a.logs(), new RegExp(`Listening at: fd://3 \\(127\\.0\\.0\\.1:${a.port}\\)`));
  });

  it("serves on -b fd://3 from any launcher", async () => {
    const a = await activated(["-b", "fd://3"], { listenFds: false });
    assert.match((await request(`http://127.0.0.1:${a.port}/`)).body, /hello/);
  });

  it("refuses fd:// of a descriptor that is not open: one line, exit 2", async () => {
    const r = await runCli(["-b", "fd://99", join(FIXTURES, "app.mjs")]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "gpe-server: bind: fd://99: descriptor 99 is not open in this process\n");
  });
});
