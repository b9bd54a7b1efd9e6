// Hooks, crash-loop backoff, HTTPS, unix sockets, GUNICORN_CMD_ARGS, the store directory, limits.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import https from "node:https";
import http from "node:http";
import net from "node:net";
import {
  startServer,
  stopAll,
  request,
  waitFor,
  sleep,
  tempDir,
  runCli,
  FIXTURES,
  ROOT,
  alive,
} from "../helpers/harness.mjs";

after(stopAll);

describe("hooks", () => {
  it("run at gunicorn's moments, in master and workers; a hook that throws is logged and harmless", async () => {
    const log = join(tempDir(), "hooks.log");
    writeFileSync(log, "");
    const s = await startServer({
      workers: 1,
      args: ["-c", join(FIXTURES, "hooks.conf.mjs")],
      env: { GPE_HOOK_LOG: log },
    });
    await request(s.url("/hello"));
    s.signal("SIGTTIN");
    await waitFor(() => readFileSync(log, "utf8").includes("post_worker_init slot=2"), { what: "the second worker" });
    s.signal("SIGHUP");
    await waitFor(() => /reload complete/.test(s.logs()), { timeout: 15_000, what: "reload" });
    s.signal("SIGTERM");
    assert.equal((await s.exited).code, 0);
    const lines = readFileSync(log, "utf8").split("\n");
    for (const expected of [
      "on_starting",
      "pre_fork slot=1",
      "post_worker_init slot=1",
      "when_ready 1",
      "pre_request /hello",
      "post_request /hello 200",
      "nworkers_changed 1->2",
      "on_reload",
      "child_exit slot=1",
      "worker_exit slot=1",
      "on_exit",
    ]) {
      assert.ok(lines.includes(expected), `hook line ${JSON.stringify(expected)} in:\n${lines.join("\n")}`);
    }
    assert.ok(lines.some((l) => /^post_fork slot=1 pid=\d+$/.test(l)));
    assert.ok(lines.indexOf("on_starting") < lines.indexOf("pre_fork slot=1"));
    assert.ok(lines.indexOf("pre_request /hello") < lines.indexOf("post_request /hello 200"));
    assert.equal(lines.filter((l) => l === "on_exit").length, 1);
    assert.match(s.logs(), /hook on_reload failed: on_reload exploded/);
  });
});

describe("crash loop", () => {
  it("respawns a worker that keeps crashing after boot with a backoff, not in a tight loop", async () => {
    const s = await startServer({ workers: 1, app: join(FIXTURES, "crash-after-boot.mjs"), waitWorkers: 1 });
    const t0 = Date.now();
    const booted = () => (s.logs().match(/Booted worker/g) ?? []).length;
    // Waits for the event, then watches at least 4 s; the rate bound scales with what was watched.
    await waitFor(() => booted() >= 3, { timeout: 20_000, what: () => `3 boots (${booted()} so far)` });
    await sleep(Math.max(0, 4000 - (Date.now() - t0)));
    const boots = booted();
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(boots >= 3, `it was respawned (${boots} boots)`);
    assert.ok(boots <= 10 * (seconds / 4), `at most a few forks a second: ${boots} boots in ${seconds.toFixed(1)} s`);
    assert.ok(alive(s.pid), "the master carries on");
    assert.match(s.logs(), /crashed \d+ times in a row; next start in \d+ ms/);
    const m = await s.scrape();
    assert.ok(m.sum("gunicorn_master_worker_restarts_total", { reason: "crash" }) >= 2);
  });
});

describe("start line", () => {
  it("names gpe-server's own version, not the npm_package_version of whoever ran it", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const s = await startServer({ workers: 1, env: { npm_package_version: "9.9.9-the-users-app" } });
    assert.match(s.logs(), new RegExp(`Starting gpe-server ${version.replaceAll(".", "\\.")}"`));
    assert.doesNotMatch(s.logs(), /9\.9\.9-the-users-app/);
  });
});

describe("exit codes after boot", () => {
  it("treats a worker that exits with 3 or 4 after it was ready as a crash: respawned, the master serves on", async () => {
    const s = await startServer({ workers: 1, app: join(FIXTURES, "exit-on-request.mjs"), waitWorkers: 1 });
    for (const code of [3, 4]) {
      const [before] = s.workerPids();
      const res = await request(s.url(`/exit?code=${code}`));
      assert.equal(res.status, 200);
      await waitFor(() => !alive(before), { what: `the worker that exited with ${code} to be gone` });
      await waitFor(async () => (await request(s.url("/"))).status === 200 && s.workerPids()[0] !== before, {
        timeout: 15_000,
        what: `a replacement for the worker that exited with ${code}`,
      });
      assert.match(s.logs(), new RegExp(`Worker \\(pid:${before}, slot 1\\) exited with code ${code}`));
    }
    assert.ok(alive(s.pid), "the master carries on");
    assert.doesNotMatch(s.logs(), /failed to boot/);
    const m = await waitFor(
      async () => {
        const m = await s.scrape();
        return m.sum("gunicorn_master_worker_restarts_total", { reason: "crash" }) === 2 && m;
      },
      { what: "both exits to be counted as crashes" },
    );
    assert.equal(m.sum("gunicorn_master_worker_restarts_total", { reason: "boot_error" }), 0);
  });
});

describe("listening", () => {
  it("serves HTTPS with --certfile/--keyfile, for process and thread workers", async (t) => {
    if (spawnSync("openssl", ["version"]).error) return t.skip("openssl not installed");
    const dir = tempDir();
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    for (const kind of ["sync", "thread"]) {
      const s = await startServer({
        workers: 1,
        args: ["-k", kind, "--certfile", join(dir, "cert.pem"), "--keyfile", join(dir, "key.pem")],
      });
      const body = await new Promise((resolve, reject) => {
        https
          .get({ host: "127.0.0.1", port: s.port, path: "/", rejectUnauthorized: false, agent: false }, (res) => {
            let text = "";
            res.on("data", (c) => (text += c));
            res.on("end", () => resolve(text));
          })
          .on("error", reject);
      });
      assert.match(body, /hello from/, kind);
      assert.match(s.logs(), /Listening at: https:\/\//);
    }
  });

  it("binds a unix socket and removes it at exit", async () => {
    const path = join(tempDir(), "gpe.sock");
    const s = await startServer({ workers: 1, args: ["-b", `unix:${path}`] });
    const body = await new Promise((resolve, reject) => {
      http
        .get({ socketPath: path, path: "/", agent: false }, (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve(text));
        })
        .on("error", reject);
    });
    assert.match(body, /hello from/);
    s.signal("SIGTERM");
    await s.exited;
    assert.ok(!existsSync(path));
  });

  it("takes options from GUNICORN_CMD_ARGS, below the command line", async () => {
    const r = await runCli(["-w", "2", "--print-config", join(FIXTURES, "app.mjs")], {
      env: { GUNICORN_CMD_ARGS: "-w 3 --max-requests 50 --access-log-format '%(h)s \"%(r)s\"'" },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^workers\s+= 2\s+\(cli\)$/m);
    assert.match(r.stdout, /^max_requests\s+= 50\s+\(cli\)$/m);
    assert.match(r.stdout, /^access_log_format\s+= "%\(h\)s \\"%\(r\)s\\""/m);
  });
});

describe("the store directory", () => {
  it("removes its own stale files at start and never touches files that are not its own", async () => {
    const dir = tempDir();
    const deadPid = 4_194_000;
    writeFileSync(join(dir, `gpe_w1_${deadPid}.json`), "{}");
    writeFileSync(join(dir, `gpe_archive_${deadPid + 1}.json`), "{}");
    writeFileSync(join(dir, "counter_1234.db"), "python exporter");
    writeFileSync(join(dir, "notes.txt"), "mine");
    const s = await startServer({ workers: 1, args: ["--multiproc-dir", dir] });
    const files = readdirSync(dir);
    assert.ok(
      !files.includes(`gpe_w1_${deadPid}.json`) && !files.includes(`gpe_archive_${deadPid + 1}.json`),
      files.join(", "),
    );
    assert.ok(files.includes("counter_1234.db") && files.includes("notes.txt"));
    await request(s.url("/"));
    await sleep(300);
    const mode = execFileSync("stat", [
      "-c",
      "%a",
      join(
        dir,
        readdirSync(dir).find((f) => f.startsWith("gpe_w")),
      ),
    ])
      .toString()
      .trim();
    assert.equal(mode, "600");
  });

  it("creates the directory 0700 and refuses one owned by another user", async (t) => {
    const parent = tempDir();
    const fresh = join(parent, "fresh");
    await startServer({ workers: 1, args: ["--multiproc-dir", fresh] });
    assert.equal(execFileSync("stat", ["-c", "%a", fresh]).toString().trim(), "700");
    if (process.getuid() !== 0) return t.skip("needs root to create a directory owned by someone else");
    const foreign = join(parent, "foreign");
    mkdirSync(foreign);
    chownSync(foreign, 65534, 65534);
    const r = await runCli(["--multiproc-dir", foreign, "-b", "127.0.0.1:0", join(FIXTURES, "app.mjs")]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /gpe-server: metrics directory .* is owned by uid 65534, not by this user/);
  });
});

describe("request limits", () => {
  const raw = (port, text) =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => socket.end(text));
      let out = "";
      socket.on("data", (d) => (out += d));
      socket.on("close", () => resolve(out));
      socket.on("error", reject);
    });

  it("answers 431 for too many or too long headers and 400 for a malformed request, counting each", async () => {
    const s = await startServer({
      workers: 1,
      args: ["--limit-request-fields", "10", "--limit-request-field-size", "100"],
    });
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`x-h${i}`, "v"]));
    assert.equal((await request(s.url("/"), { headers: many })).status, 431);
    assert.equal((await request(s.url("/"), { headers: { "x-long": "y".repeat(200) } })).status, 431);
    assert.match(await raw(s.port, "THIS IS NOT HTTP\r\n\r\n"), /^HTTP\/1\.1 400 /);
    assert.equal((await request(s.url("/"))).status, 200, "the worker survived");
    const m = await waitFor(async () => {
      const m = await s.scrape();
      return m.sum("gunicorn_worker_error_handling_total") >= 3 && m;
    });
    assert.equal(m.sum("gunicorn_worker_error_handling_total", { error_type: "LimitRequestFields" }), 1);
    assert.equal(m.sum("gunicorn_worker_error_handling_total", { error_type: "LimitRequestFieldSize" }), 1);
    assert.equal(m.sum("gunicorn_worker_error_handling_total", { error_type: "BadRequest" }), 1);
  });
});
