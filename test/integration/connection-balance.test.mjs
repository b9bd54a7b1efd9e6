// Keep-alive connections spread over async workers however they arrive. Every worker accepts from
// the shared socket and libuv takes all that is queued in one go, so a burst of connections (a
// proxy's pool, a load generator's -c 50) used to land on whichever worker woke first and stay there.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import {
  FIXTURES,
  freePort,
  request,
  sleep,
  startProcess,
  startServer,
  stopAll,
  tempDir,
  waitFor,
} from "../helpers/harness.mjs";
import { join } from "node:path";

after(stopAll);

/**
 * `connections` clients that all connect at once, each sending keep-alive requests one after
 * another for `ms` (a closed loop, bounded in time). A response that says close is followed by a
 * new connection, as any HTTP client does. Resolves with the failures seen.
 */
function burst(url, { connections, ms }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const end = Date.now() + ms;
  const failures = [];
  const one = () =>
    new Promise((resolve) => {
      const req = http.get(url, { agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200 || failures.push(`status ${res.statusCode}`)));
      });
      req.setTimeout(5000, () => req.destroy(new Error("timed out")));
      req.on("error", (err) => resolve(failures.push(err.message)));
    });
  const loops = Array.from({ length: connections }, async () => {
    while (Date.now() < end) await one();
  });
  return Promise.all(loops).then(() => {
    agent.destroy();
    return failures;
  });
}

/**
 * The connections per worker, read every 100 ms until the fewest is at least half the most, or
 * `ms` have passed: the spread is reached within a burst and holds, and a reading taken during a
 * round of reconnections is not the steady state.
 */
async function spreadWithin(pids, port, ms) {
  const until = Date.now() + ms;
  let held = socketsPerWorker(pids, port);
  while (Math.min(...held) * 2 < Math.max(...held) && Date.now() < until) {
    await sleep(100);
    held = socketsPerWorker(pids, port);
  }
  return held;
}

/** TCP connections each worker holds on the app port now, from its open descriptors (the truth). */
function socketsPerWorker(pids, port) {
  const inodes = new Set();
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileLines("/proc/net/tcp")) {
    const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
    if (local?.endsWith(hex) && state === "01") inodes.add(inode); // 01: ESTABLISHED
  }
  return pids.map((pid) => {
    let n = 0;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1])) n++;
      } catch {
        // closed meanwhile
      }
    }
    return n;
  });
}

const readFileLines = (path) => readFileSync(path, "utf8").split("\n").slice(1).filter(Boolean);

/** A real nginx in front, its upstream pool kept alive (as the docs' example sets it up). */
async function startNginx(appPort) {
  const dir = tempDir("gpe-nginx-");
  const port = await freePort();
  writeFileSync(
    join(dir, "nginx.conf"),
    `daemon off;
${process.getuid?.() === 0 ? "user root;" : ""}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream app { server 127.0.0.1:${appPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
  );
  const nginx = startProcess("nginx", ["-p", dir, "-c", join(dir, "nginx.conf")]);
  await waitFor(
    async () => {
      try {
        return (await request(`http://127.0.0.1:${port}/`)).status === 200;
      } catch {
        return false;
      }
    },
    { what: () => `nginx to proxy; its log:\n${nginx.logs()}` },
  );
  return { port, url: (path = "/") => `http://127.0.0.1:${port}${path}` };
}

describe("an nginx upstream pool with keepalive", () => {
  it("spreads the pool's connections over the async workers under load, with no failed request", async (t) => {
    if (spawnSync("nginx", ["-v"]).error) return t.skip("nginx not installed: apt-get install -y nginx");
    const s = await startServer({ app: join(FIXTURES, "app.mjs"), workers: 2, args: ["-k", "async"] });
    const pids = s.workerPids();
    const nginx = await startNginx(s.port);
    const load = burst(nginx.url("/"), { connections: 40, ms: 3500 });
    await sleep(1200);
    const held = await spreadWithin(pids, s.port, 1800);
    const failures = await load;
    assert.deepEqual(failures, []);
    assert.ok(held.reduce((a, b) => a + b, 0) >= 4, `nginx keeps a pool open to the app port (${held})`);
    assert.ok(Math.min(...held) * 2 >= Math.max(...held), `the pool's connections per worker: ${JSON.stringify(held)}`);
  });
});

describe("keep-alive connections opened in a burst", () => {
  for (const workers of [2, 4]) {
    it(`spread over ${workers} async workers: in every run the fewest a worker holds is at least half the most`, async () => {
      const s = await startServer({ app: join(FIXTURES, "app.mjs"), workers, args: ["-k", "async"] });
      const pids = s.workerPids();
      assert.equal(pids.length, workers);
      for (let run = 1; run <= 4; run++) {
        const load = burst(s.url("/"), { connections: 50, ms: 4000 });
        await sleep(800);
        const held = await spreadWithin(pids, s.port, 1600);
        // The operator sees the same spread in gunicorn_worker_connections: each worker reports its
        // count within 10 ms of a change, later when its loop or the master's is busy, so the
        // reading is repeated for up to a second (the burst still runs).
        const gaugeAgrees = Date.now() + 1000;
        let gauge = [];
        let open = 0;
        for (;;) {
          gauge = (await s.scrape()).find("gunicorn_worker_connections").map((x) => x.value);
          open = socketsPerWorker(pids, s.port).reduce((a, b) => a + b, 0);
          if (Math.abs(gauge.reduce((a, b) => a + b, 0) - open) <= 5 || Date.now() > gaugeAgrees) break;
          await sleep(100);
        }
        const failures = await load;
        assert.deepEqual(failures, [], `run ${run}: no request failed`);
        const total = held.reduce((a, b) => a + b, 0);
        // A few may be between a close (the balance asked) and their reconnect when sampled: with a
        // busy core beside the suite, 43 once (Node 26).
        assert.ok(total >= 40 && total <= 50, `run ${run}: the 50 connections are open (${held})`);
        assert.ok(
          Math.min(...held) * 2 >= Math.max(...held),
          `run ${run}: connections per worker ${JSON.stringify(held)}`,
        );
        assert.equal(gauge.length, workers);
        assert.ok(
          Math.abs(gauge.reduce((a, b) => a + b, 0) - open) <= 5,
          `run ${run}: gauge ${gauge} against ${open} open`,
        );
        await sleep(300); // the agent's connections close before the next burst
      }
    });
  }
});
