// `gpe-server logs` and `--daemon`, the two habits of a PM2 user: read a running server's logs
// (the app's output, the server's lines, the access log; followed across a rotation), and start
// it in the background with the shell back, then find it by its pidfile.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import {
  CLI,
  FIXTURES,
  adopt,
  alive,
  freePort,
  request,
  runCli,
  startServer,
  stopAll,
  tempDir,
  waitFor,
} from "../helpers/harness.mjs";

after(stopAll);

const APP = join(FIXTURES, "talking.mjs");

/** Waits until the error log file says `n` workers booted (the harness reads stderr, empty here). */
const booted = (file, n) =>
  waitFor(() => existsSync(file) && (readFileSync(file, "utf8").match(/Booted worker/g) ?? []).length >= n, {
    timeout: 20_000,
    what: () => `${n} workers to boot in ${file}`,
  });

describe("gpe-server logs", () => {
  it("prints the last lines of the error and access logs, chosen by stream, worker and format", async () => {
    const dir = tempDir("gpe-logs-");
    const pidfile = join(dir, "gpe.pid");
    const server = await startServer({
      app: APP,
      workers: 2,
      args: [
        "--error-logfile",
        join(dir, "error.log"),
        "--capture-output",
        "--access-logfile",
        join(dir, "access.log"),
        "-p",
        pidfile,
      ],
      waitWorkers: 0,
    });
    await booted(join(dir, "error.log"), 2);
    for (const path of ["/first", "/second"]) assert.equal((await request(server.url(path))).status, 200);
    const logs = async (...args) => {
      await waitFor(() => readFileSync(join(dir, "error.log"), "utf8").includes("said on stderr /second"));
      const r = await runCli(["logs", "--pid", pidfile, "--lines", "100", ...args]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const all = await logs();
    assert.match(all, /==> .*error\.log \(error log\) <==/);
    assert.match(all, /INFO \[worker_\d stdout\] said on stdout \/first/);
    assert.match(all, /WARN \[worker_\d stderr\] said on stderr \/second/);
    assert.match(all, /Booted worker/, "the server's own lines too");
    assert.match(all, /"GET \/second HTTP\/1\.1" 200/);
    const out = await logs("--out");
    assert.match(out, /said on stdout \/first/);
    assert.doesNotMatch(out, /said on stderr|Booted worker|GET \//);
    const err = await logs("--err");
    assert.match(err, /said on stderr \/first/);
    assert.doesNotMatch(err, /said on stdout/);
    const access = await logs("--access");
    assert.match(access, /"GET \/first HTTP\/1\.1" 200/);
    assert.doesNotMatch(access, /said on/);
    const json = await logs("--json", "--out", "--lines", "1");
    assert.match(JSON.parse(json.trim()).msg, /^said on stdout \/(first|second)$/);
    // Which worker said what: each line of --worker N is worker N's, and together they hold all.
    const mine = (n) => logs("--worker", String(n), "--out");
    const [one, two] = [await mine(1), await mine(2)];
    assert.doesNotMatch(one, /worker_2/);
    assert.doesNotMatch(two, /worker_1/);
    assert.equal((one.match(/said on stdout/g) ?? []).length + (two.match(/said on stdout/g) ?? []).length, 2);
    const few = await logs("--lines", "1", "--out");
    assert.equal(few.trim().split("\n").length, 1);
  });

  it("follows what is written next, across a rotation", async () => {
    const dir = tempDir("gpe-logs-");
    const pidfile = join(dir, "gpe.pid");
    const errorlog = join(dir, "error.log");
    const server = await startServer({
      app: APP,
      workers: 1,
      waitWorkers: 0,
      args: ["--error-logfile", errorlog, "--capture-output", "-p", pidfile],
    });
    await booted(errorlog, 1);
    const follower = spawn(process.execPath, [CLI, "logs", "--pid", pidfile, "--follow", "--out", "--lines", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    adopt(follower.pid);
    let seen = "";
    follower.stdout.on("data", (d) => (seen += d));
    await request(server.url("/before"));
    await waitFor(() => seen.includes("said on stdout /before"), {
      what: () => `the follower to print /before: ${seen}`,
    });
    renameSync(errorlog, `${errorlog}.1`);
    server.signal("SIGUSR1"); // logrotate's way: the master reopens its files
    await waitFor(() => existsSync(errorlog), { what: "the reopened error log" });
    await request(server.url("/after"));
    await waitFor(() => seen.includes("said on stdout /after"), {
      what: () => `the follower to print /after: ${seen}`,
    });
    assert.doesNotMatch(seen, /said on stderr/);
    follower.kill("SIGTERM");
  });

  it("says in one line, exit 1, that a master logging to its terminal has nothing to read", async () => {
    const server = await startServer({ app: APP, workers: 1 });
    const r = await runCli(["logs", "--metrics-url", `http://127.0.0.1:${server.metricsPort}`]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /writes its logs to its terminal \(errorlog -\): there is no file to read/);
  });
});

describe("--daemon", () => {
  it("gives the shell back once the workers serve; the control commands find it by its pidfile", async () => {
    const dir = tempDir("gpe-daemon-");
    const port = await freePort();
    const metricsPort = await freePort();
    const args = [
      "--daemon",
      "-w",
      "2",
      "-b",
      `127.0.0.1:${port}`,
      "--metrics-port",
      String(metricsPort),
      "--error-logfile",
      "error.log",
      "--multiproc-dir",
      join(dir, "store"),
      APP,
    ];
    const started = await runCli(args, { cwd: dir, timeout: 30_000 });
    const pidfile = join(dir, "gpe-server.pid");
    if (existsSync(pidfile)) adopt(Number(readFileSync(pidfile, "utf8")));
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /^master \d+ serves in the background \(pidfile gpe-server\.pid, log error\.log\)$/m);
    const pid = Number(readFileSync(pidfile, "utf8"));
    assert.ok(alive(pid));
    assert.equal((await request(`http://127.0.0.1:${port}/daemon`)).status, 200);
    const status = await runCli(["status", "--pid", pidfile], { cwd: dir });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /worker_2/);
    const logs = await runCli(["logs", "--pid", pidfile, "--out"], { cwd: dir });
    assert.match(logs.stdout, /said on stdout \/daemon/, "the app's output is captured in the error log");
    const workers = JSON.parse((await request(`http://127.0.0.1:${metricsPort}/status.json`)).body).workers.map(
      (w) => w.pid,
    );
    assert.equal(workers.length, 2);
    const stop = await runCli(["stop", "--pid", pidfile], { cwd: dir, timeout: 40_000 });
    assert.equal(stop.code, 0, stop.stderr);
    await waitFor(() => !alive(pid), { what: "the daemon to exit" });
    assert.ok(!existsSync(pidfile), "the pidfile goes with it");
    for (const w of workers) assert.ok(!alive(w), `worker ${w} is gone too`);
  });

  it("refuses without a log file, and reports a master that cannot start, with exit 1", async () => {
    const dir = tempDir("gpe-daemon-");
    const noLog = await runCli(["--daemon", APP], { cwd: dir });
    assert.equal(noLog.code, 2);
    assert.match(noLog.stderr, /daemon detaches from the terminal: give errorlog/);
    const broken = await runCli(
      [
        "--daemon",
        "--error-logfile",
        "error.log",
        "-b",
        `127.0.0.1:${await freePort()}`,
        "--metrics-port",
        String(await freePort()),
        join(FIXTURES, "throws-at-import.mjs"),
      ],
      { cwd: dir, timeout: 30_000 },
    );
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /the master exited before it served/);
    assert.match(broken.stderr, /throws-at-import|failed to boot|cannot load/i);
  });
});
