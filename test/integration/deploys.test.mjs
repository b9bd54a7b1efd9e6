// Deploys: release directories behind a `current` symlink (each generation keeps the release it
// resolved; a HUP resolves the symlink anew), readiness on the metrics port, and a drain that
// answers every connection the kernel already queued.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, request, sleep, startServer, stopAll, tempDir, waitFor } from "../helpers/harness.mjs";

after(stopAll);

/** releases/<name>/app.mjs for each name, each answering "<name> <its cwd>", and `current` -> the first. */
function releaseLayout(names) {
  const root = tempDir("gpe-releases-");
  for (const name of names) {
    const dir = join(root, "releases", name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "app.mjs"),
      `export default (req, res) => res.end(${JSON.stringify(name)} + " " + process.cwd());\n`,
    );
  }
  point(root, names[0]);
  return root;
}

/** `ln -sfn releases/<name> current`, atomically (a new link renamed over the old). */
function point(root, name) {
  const next = join(root, `current.${process.hrtime.bigint()}`);
  symlinkSync(join("releases", name), next);
  renameSync(next, join(root, "current"));
}

/** What `n` requests on fresh connections were answered with. */
async function answers(s, n = 8) {
  const seen = new Set();
  for (let i = 0; i < n; i++) seen.add((await request(s.url("/"), { headers: { connection: "close" } })).body);
  return [...seen];
}

describe("release directories", () => {
  it("started in current/: a replaced worker keeps its release, a HUP serves the new one", async () => {
    const root = releaseLayout(["v1", "v2"]);
    const current = join(root, "current");
    // As a shell started it: cwd through the symlink, and $PWD naming it.
    const s = await startServer({ app: "app.mjs", workers: 2, cwd: current, env: { PWD: current } });
    const v1 = `v1 ${join(root, "releases", "v1")}`;
    assert.deepEqual(await answers(s), [v1]);

    point(root, "v2");
    // A worker that dies is replaced from its generation's release, not from what current names now.
    const [victim] = s.workerPids();
    process.kill(victim, "SIGKILL");
    await waitFor(() => s.workerPids().length === 2 && !s.workerPids().includes(victim), {
      what: "a replacement worker",
    });
    await waitFor(() => (s.logs().match(/Booted worker/g) ?? []).length >= 3, { what: "the replacement to boot" });
    assert.deepEqual(await answers(s), [v1]);

    s.signal("SIGHUP");
    const v2 = `v2 ${join(root, "releases", "v2")}`;
    await waitFor(async () => (await answers(s, 4)).join() === v2, { timeout: 15_000, what: "v2 to serve" });
    await waitFor(() => /reload complete/.test(s.logs()), { what: "the reload to complete" });
    assert.deepEqual(await answers(s), [v2]);
    assert.match(s.logs(), /reload: release .*releases\/v2 \(was .*releases\/v1\)/);
  });

  it("--chdir through the symlink is resolved anew at each reload too", async () => {
    const root = releaseLayout(["v1", "v3"]);
    const s = await startServer({ app: "app.mjs", workers: 1, args: ["--chdir", join(root, "current")] });
    assert.deepEqual(await answers(s, 2), [`v1 ${join(root, "releases", "v1")}`]);
    point(root, "v3");
    s.signal("SIGHUP");
    await waitFor(async () => (await answers(s, 2)).join() === `v3 ${join(root, "releases", "v3")}`, {
      timeout: 15_000,
      what: "v3 to serve",
    });
  });
});

describe("readiness and drain", () => {
  const readyz = async (s) => {
    const r = await request(`http://127.0.0.1:${s.metricsPort}/readyz`);
    return `${r.status} ${r.body.trim()}`;
  };

  it("/readyz turns 503 at once on TERM while the app port serves on for --drain-delay", async () => {
    const s = await startServer({ workers: 1, args: ["--drain-delay", "2"] });
    assert.equal(await readyz(s), "200 ready");
    const t0 = performance.now();
    s.signal("SIGTERM");
    let turned = 0;
    await waitFor(
      async () => {
        turned = performance.now() - t0;
        return (await readyz(s)) === "503 stopping";
      },
      { interval: 5, what: "/readyz to answer 503" },
    );
    assert.ok(turned < 100, `503 after ${turned.toFixed(0)} ms`);
    // Still serving, well into the delay.
    await sleep(1200);
    assert.equal((await request(s.url("/"))).status, 200);
    assert.equal(await readyz(s), "503 stopping");
    const { code } = await s.exited;
    assert.equal(code, 0);
    assert.ok(performance.now() - t0 >= 2000, "the stop waited for the delay");
    assert.match(s.logs(), /draining: \/readyz answers 503; still serving for 2 s \(drain_delay\)/);
  });

  it("/readyz is 503 while no worker is ready", async () => {
    const s = await startServer({
      app: join(FIXTURES, "never-listens.mjs"),
      workers: 1,
      waitWorkers: 0,
      args: ["--timeout", "30"],
    });
    await waitFor(async () => {
      try {
        return (await readyz(s)) === "503 no worker is ready";
      } catch {
        return false; // the metrics server is not up yet
      }
    });
  });

  for (const klass of ["async", "sync", "thread"])
    it(`${klass}: every connection opened as the server stops gets its answer, none is reset`, async () => {
      const s = await startServer({ workers: 2, args: ["-k", klass] });
      // 80 connections of 20 ms requests: most still wait in the kernel's accept queue (sync and
      // thread workers take one at a time) when TERM arrives.
      const sent = Array.from({ length: 80 }, () =>
        request(s.url("/sleep?ms=20")).then(
          (r) => r.status,
          (err) => err.code ?? err.message,
        ),
      );
      await sleep(5);
      s.signal("SIGTERM");
      const outcomes = await Promise.all(sent);
      const failed = outcomes.filter((o) => o !== 200);
      assert.deepEqual(failed, [], `${failed.length} of 80 failed`);
      assert.equal((await s.exited).code, 0);
    });
});

describe("idle connections behind a load balancer", () => {
  /** A GET on `agent`; resolves with the status and whether the socket was a reused one. */
  const get = (url, agent) =>
    new Promise((resolve, reject) => {
      const req = http.get(url, { agent }, (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode, reused: req.reusedSocket }));
      });
      req.on("error", reject);
    });

  it("warns of the default idle timeout behind a remote proxy, not when it is set", async () => {
    const warned = await startServer({ workers: 1, args: ["--forwarded-allow-ips", "10.0.0.0/8"] });
    await waitFor(() => /keep-alive is 2 s behind a proxy on another host/.test(warned.logs()));
    const set = await startServer({ workers: 1, args: ["--forwarded-allow-ips", "10.0.0.0/8", "--keep-alive", "65"] });
    assert.doesNotMatch(set.logs(), /keep-alive is/);
  });

  it("a balancer's pool of idle connections, reused within the server's idle timeout, loses nothing", async () => {
    // The documented cure: the server's idle timeout above the balancer's (here 3 s against 2 s).
    const s = await startServer({ workers: 2, args: ["--keep-alive", "3"] });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    try {
      const round = () => Promise.all(Array.from({ length: 8 }, () => get(s.url("/"), agent)));
      const first = await round();
      await sleep(2000);
      const second = await round();
      assert.deepEqual(
        [...first, ...second].map((r) => r.status),
        Array(16).fill(200),
      );
      // The idle connections survived the pause and carried the second round (the keep-alive
      // balance may close one or two when a worker holds more than its share).
      const reused = second.filter((r) => r.reused).length;
      assert.ok(reused >= 2, `idle connections were reused: ${JSON.stringify(second)}`);
    } finally {
      agent.destroy();
    }
  });
});
