// Deploys: release directories behind a `current` symlink (each generation keeps the release it
// resolved; a HUP resolves the symlink anew), readiness on the metrics port, and a drain that
// answers every connection the kernel already queued.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  FIXTURES,
  loadLoop,
  request,
  runCli,
  sleep,
  startServer,
  stopAll,
  tempDir,
  waitFor,
} from "../helpers/harness.mjs";

after(stopAll);

/**
 * releases/<name>/app.mjs for each name, and `current` -> the first. Each answers "<name> <its
 * cwd>"; /warm is its warm-up path (500 in a release named "*-bad-warm*"), and warm-ups and its
 * close() are written to $EVENTS as "warm|close <slot> <pid> <ms>".
 */
function releaseLayout(names) {
  const root = tempDir("gpe-releases-");
  for (const name of names) {
    const dir = join(root, "releases", name);
    mkdirSync(dir, { recursive: true });
    const warmStatus = name.includes("bad-warm") ? 500 : 200;
    // "-bad": every third request answers 500; "-slow": 60 ms more a request.
    const failing = /-bad($|-)/.test(name) && !name.includes("bad-warm");
    const slow = name.includes("-slow");
    writeFileSync(
      join(dir, "app.mjs"),
      `import { appendFileSync } from "node:fs";
const note = (what) =>
  process.env.EVENTS && appendFileSync(process.env.EVENTS, \`\${what} \${process.env.NODE_APP_INSTANCE} \${process.pid} \${Date.now()}\\n\`);
let n = 0;
export default async (req, res) => {
  if (req.url === "/warm") {
    note("warm");
    res.statusCode = ${warmStatus};
  } else if (${failing} && ++n % 3 === 0) {
    res.statusCode = 500;
  }
  if (${slow}) await new Promise((r) => setTimeout(r, 60));
  res.end(${JSON.stringify(name)} + " " + process.cwd());
};
export const close = () => note("close");
`,
    );
  }
  point(root, names[0]);
  return root;
}

/** A GET on `agent`; resolves with the status and whether the socket was a reused one. */
const get = (url, agent) =>
  new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode, reused: req.reusedSocket }));
    });
    req.on("error", reject);
  });

/** The events the apps wrote: [{ what, slot, pid, at }]. */
const events = (file) =>
  (existsSync(file) ? readFileSync(file, "utf8") : "")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [what, slot, pid, at] = line.split(" ");
      return { what, slot: Number(slot), pid: Number(pid), at: Number(at) };
    });

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

describe("rolling reloads and warm-ups", () => {
  it("rolling with --warmup: each old worker retires only after its successor answered its warm-up", async () => {
    const root = releaseLayout(["v1", "v2"]);
    const current = join(root, "current");
    const log = join(root, "events.log");
    const s = await startServer({
      app: "app.mjs",
      workers: 2,
      cwd: current,
      env: { PWD: current, EVENTS: log },
      args: ["--reload-strategy", "rolling", "--warmup", "/warm", "--warmup-requests", "3"],
    });
    const before = new Set(s.workerPids());
    const load = loadLoop(s.url(""), { concurrency: 4 });
    point(root, "v2");
    s.signal("SIGHUP");
    await waitFor(() => /reload complete/.test(s.logs()), { timeout: 20_000, what: "the reload to complete" });
    await waitFor(() => events(log).filter((e) => e.what === "close").length >= 2, {
      what: "the old workers' close()",
    });
    const stats = await load.stop();
    assert.equal(stats.failed, 0, stats.errors.slice(0, 3).join("; "));

    const all = events(log);
    const warms = (pid) => all.filter((e) => e.what === "warm" && e.pid === pid).map((e) => e.at);
    const successors = [...new Set(all.filter((e) => e.what === "warm" && !before.has(e.pid)).map((e) => e.pid))];
    assert.equal(successors.length, 2, JSON.stringify(all));
    for (const pid of successors) assert.equal(warms(pid).length, 3, "3 warm-up requests each");
    for (const old of all.filter((e) => e.what === "close" && before.has(e.pid))) {
      const successor = successors.find((pid) => all.some((e) => e.pid === pid && e.slot === old.slot));
      assert.ok(old.at >= Math.max(...warms(successor)), `slot ${old.slot}: retired after its successor's warm-up`);
    }
    // One slot at a time: the second successor started its warm-up after the first had finished.
    const [first, second] = successors.sort((a, b) => Math.min(...warms(a)) - Math.min(...warms(b)));
    assert.ok(Math.min(...warms(second)) >= Math.max(...warms(first)));
    assert.deepEqual(await answers(s, 4), [`v2 ${join(root, "releases", "v2")}`]);
  });

  it("a warm-up that fails is a boot failure: the old workers keep serving", async () => {
    const root = releaseLayout(["v1", "v2-bad-warm"]);
    const current = join(root, "current");
    const s = await startServer({
      app: "app.mjs",
      workers: 2,
      cwd: current,
      env: { PWD: current },
      args: ["--reload-strategy", "rolling", "--warmup", "/warm"],
    });
    const before = s.workerPids().sort();
    point(root, "v2-bad-warm");
    s.signal("SIGHUP");
    await waitFor(() => /reload failed, keeping the running workers: warm-up GET \/warm answered 500/.test(s.logs()), {
      timeout: 15_000,
      what: "the reload to fail",
    });
    assert.deepEqual(await answers(s, 4), [`v1 ${join(root, "releases", "v1")}`]);
    await sleep(300);
    assert.deepEqual(s.workerPids().sort(), before, "the old workers are the ones serving");
  });

  it("an app's ready() export is awaited before its worker serves", async () => {
    const dir = tempDir("gpe-ready-");
    writeFileSync(
      join(dir, "app.mjs"),
      `let pool = null;
export async function ready() { await new Promise((r) => setTimeout(r, 300)); pool = "open"; }
export default (req, res) => res.end(pool ?? "not ready");
`,
    );
    const s = await startServer({ app: join(dir, "app.mjs"), workers: 1 });
    assert.equal((await request(s.url("/"))).body, "open");
  });

  it("refuses a warm-up path that is not a path, and an unknown strategy, in one line, exit 2", async () => {
    for (const [args, message, last] of [
      [["--warmup", "warm"], /warmup: expected a path starting with \/, got "warm"/],
      [["--warmup"], /--warmup <PATH>' argument missing/, "last"],
      [["--reload-strategy", "blue-green"], /reload_strategy: /],
      [["--reload-batch", "0"], /reload_batch: /],
    ]) {
      const app = join(FIXTURES, "app.mjs");
      const r = await runCli(last ? [app, ...args] : [...args, app]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  });
});

describe("canary reloads", () => {
  /** Keeps 4 clients busy on new connections; counts answers by release and status. */
  function steadyLoad(s) {
    const seen = new Map();
    const errors = [];
    let running = true;
    const loops = Array.from({ length: 4 }, async () => {
      while (running) {
        try {
          const r = await request(s.url("/"));
          const key = `${r.body.split(" ")[0]} ${r.status}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        } catch (err) {
          errors.push(err.message);
        }
      }
    });
    return {
      seen,
      stop: async () => {
        running = false;
        await Promise.all(loops);
        return { seen: Object.fromEntries(seen), errors };
      },
    };
  }

  async function canaryServer(root, extra = []) {
    const current = join(root, "current");
    return startServer({
      app: "app.mjs",
      workers: 2,
      cwd: current,
      env: { PWD: current },
      args: ["--canary-period", "30", "--canary-min-requests", "150", ...extra],
    });
  }

  const reloadCanary = (s) =>
    runCli(["reload", "--canary", "--wait", "--metrics-url", `http://127.0.0.1:${s.metricsPort}`], { timeout: 60_000 });

  it("rolls back a release that fails a share of requests: exit 1, the figure named, v1 serves on", async () => {
    const root = releaseLayout(["v1", "v2-bad"]);
    const s = await canaryServer(root);
    const load = steadyLoad(s);
    point(root, "v2-bad");
    const r = await reloadCanary(s);
    const { seen, errors } = await load.stop();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /generation 1 \(canary\) rolled back: 5xx 3\d\.\d % of \d+ requests against 0\.0 %/);
    assert.match(s.logs(), /canary rolled back: 5xx 3\d\.\d % of \d+ requests against 0\.0 %/);
    // The old generation failed nothing; the only failures are the canary's own.
    assert.deepEqual(errors, []);
    assert.equal(seen["v1 500"], undefined, JSON.stringify(seen));
    assert.ok(seen["v2-bad 500"] > 0 && seen["v2-bad 200"] > 0, JSON.stringify(seen));
    await waitFor(() => s.workerPids().length === 2, { what: "the canary worker to retire" });
    // A replacement of an old worker loads v1, not what current names.
    process.kill(s.workerPids()[0], "SIGKILL");
    await waitFor(() => (s.logs().match(/Booted worker/g) ?? []).length >= 4, { what: "a replacement" });
    assert.deepEqual(await answers(s), [`v1 ${join(root, "releases", "v1")}`]);
    const m = await s.scrape();
    assert.equal(m.sum("gunicorn_master_reloads_total", { strategy: "canary", outcome: "rolled_back" }), 1);
    assert.deepEqual(
      m.find("gunicorn_worker_generation").map((x) => x.value),
      [0, 0],
    );
  });

  it("rolls back a release that is slower, on its p95", async () => {
    const root = releaseLayout(["v1", "v4-slow"]);
    const s = await canaryServer(root);
    const load = steadyLoad(s);
    point(root, "v4-slow");
    const r = await reloadCanary(s);
    const { errors } = await load.stop();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /rolled back: p95 \d+ ms against \d+ ms \([\d.]+ x, at most 1\.5 x\)/);
    assert.deepEqual(errors, []);
  });

  it("promotes a good release: every worker serves it, nothing failed, progress printed", async () => {
    const root = releaseLayout(["v1", "v3-good"]);
    const s = await canaryServer(root, ["--canary-min-requests", "0", "--canary-period", "3"]);
    const load = steadyLoad(s);
    point(root, "v3-good");
    const r = await reloadCanary(s);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /deploy: canary of generation 1: \d+ requests, 5xx 0\.0 %, p95 \d+ ms; old generation: /);
    assert.match(r.stdout, /generation 1 \(canary\) promoted: 5xx 0\.0 % of \d+ requests against 0\.0 %, p95/);
    await waitFor(() => /reload complete/.test(s.logs()), { what: "the other slot to roll" });
    const { seen, errors } = await load.stop();
    assert.deepEqual(errors, []);
    assert.deepEqual(
      Object.keys(seen).filter((k) => !k.endsWith(" 200")),
      [],
    );
    assert.deepEqual(await answers(s), [`v3-good ${join(root, "releases", "v3-good")}`]);
    const m = await s.scrape();
    assert.equal(m.sum("gunicorn_master_reloads_total", { strategy: "canary", outcome: "promoted" }), 1);
  });

  it("gets its share of a balancer's pool of kept-alive connections, all opened before it existed", async () => {
    const root = releaseLayout(["v1", "v6"]);
    const s = await canaryServer(root, ["--canary-min-requests", "0", "--canary-period", "6", "--keep-alive", "75"]);
    // Eight pooled connections, busy before the reload: the old workers accepted every one.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    let running = true;
    const failures = [];
    const loops = Array.from({ length: 8 }, async () => {
      while (running) await get(s.url("/"), agent).catch((err) => failures.push(err.message));
    });
    try {
      await sleep(500);
      point(root, "v6");
      const r = await reloadCanary(s);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const last = r.stdout
        .split("\n")
        .filter((l) => l.startsWith("deploy: canary"))
        .at(-1);
      const [canary, old] = [...last.matchAll(/(\d+) requests/g)].map((m) => Number(m[1]));
      // A third would be its fair share of three workers; 2 of 8 connections is a quarter. Left to
      // the keep-alive balance's slack it got a tenth.
      assert.ok(canary / (canary + old) > 0.17, `the canary served ${canary} against ${old}`);
    } finally {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    }
    assert.deepEqual(failures, []);
  });

  it("an old worker that dies while a canary runs is replaced from the old release", async () => {
    const root = releaseLayout(["v1", "v7"]);
    const s = await canaryServer(root, ["--reload-strategy", "canary", "--canary-min-requests", "0"]);
    const old = s.workerPids();
    point(root, "v7");
    s.signal("SIGHUP");
    await waitFor(() => (s.logs().match(/Booted worker/g) ?? []).length >= 3, { what: "the canary worker" });
    process.kill(old[0], "SIGKILL");
    await waitFor(() => (s.logs().match(/Booted worker/g) ?? []).length >= 4, { what: "the replacement" });
    const replacement = s.workerPids().find((pid) => !old.includes(pid) && pid !== s.workerPids().at(-1));
    const cwdOf = (pid) => realpathSync(`/proc/${pid}/cwd`);
    const cwds = s.workerPids().map(cwdOf);
    // Two workers of v1 (the survivor and the replacement) and the canary of v7.
    assert.deepEqual(cwds.filter((c) => c.endsWith("v1")).length, 2, `${replacement}: ${cwds.join(", ")}`);
    assert.deepEqual(cwds.filter((c) => c.endsWith("v7")).length, 1, cwds.join(", "));
    assert.match(s.logs(), /canary: 1 worker of generation 1/);
    assert.doesNotMatch(s.logs(), /canary (promoted|rolled back)/);
  });

  it("a canary worker that crashes rolls back at once", async () => {
    const root = releaseLayout(["v1", "v5"]);
    const s = await canaryServer(root, ["--reload-strategy", "canary", "--canary-min-requests", "0"]);
    point(root, "v5");
    s.signal("SIGHUP");
    await waitFor(() => (s.logs().match(/Booted worker/g) ?? []).length >= 3, { what: "the canary worker" });
    const canary = s.workerPids().at(-1);
    process.kill(canary, "SIGKILL");
    await waitFor(() => /canary rolled back: a canary worker ended \(signal, pid \d+\)/.test(s.logs()), {
      what: "the rollback",
    });
  });

  it("refuses canary settings out of range in one line, exit 2", async () => {
    for (const [args, message] of [
      [["--canary-max-latency-ratio", "0.5"], /canary_max_latency_ratio: /],
      [["--canary-quantile", "1.5"], /canary_quantile: /],
      [["--canary-workers", "0"], /canary_workers: /],
      [["--reload-strategy", "canary", "--no-metrics"], /reload_strategy canary needs metrics/],
    ]) {
      const r = await runCli([...args, join(FIXTURES, "app.mjs")]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
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
