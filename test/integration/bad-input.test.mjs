// Every bad input: one clear line on stderr, a non-zero exit, and no process left behind.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import net from "node:net";
import { runCli, stopAll, groupGone, freePort, tempDir, FIXTURES, ROOT, sleep } from "../helpers/harness.mjs";

after(stopAll);

async function expectFailure(args, pattern, { env } = {}) {
  const store = tempDir();
  const metricsPort = await freePort();
  const r = await runCli(["--multiproc-dir", store, "--metrics-port", String(metricsPort), ...args], { env });
  assert.notEqual(r.code, 0, `exit code for ${args.join(" ")}: stderr ${r.stderr}`);
  const lines = r.stderr
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("gpe-server:"));
  assert.equal(lines.length, 1, `exactly one error line, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  await sleep(100);
  assert.ok(groupGone(r.pid), "no process of the server is left");
  return r;
}

const app = join(FIXTURES, "app.mjs");

describe("bad input", () => {
  it("an unknown flag", () => expectFailure(["--wrokers", "2", app], /unknown option '--wrokers'.*--workers/));
  it("a bad value", () =>
    expectFailure(["-w", "two", app], /workers: expected a whole number, auto or MIN:MAX, got "two"/));
  it("an out-of-range value", () => expectFailure(["-w", "0", app], /workers: 0 is out of range/));
  for (const [args, pattern] of [
    [["--max-memory", "12XB"], /max_memory: expected a size such as 512M, 1\.5G or a number of bytes, got "12XB"/],
    [["-w", "auto3"], /workers: expected a whole number, auto or MIN:MAX, got "auto3"/],
    [["--max-restarts", "-1"], /max_restarts: -1 is out of range \(0\.\.1000000\)/],
    [["--worker-nice", "high"], /worker_nice: expected a whole number \(0\.\.19\) or auto, got "high"/],
    [["--worker-nice", "20"], /worker_nice: 20 is out of range \(0\.\.19\)/],
  ]) {
    it(`${args.join(" ")}: exit 2, the usage error`, async () => {
      const r = await expectFailure([...args, app], pattern);
      assert.equal(r.code, 2);
    });
  }
  it("a bad worker class", () =>
    expectFailure(["-k", "fork", app], /worker_class: "fork" is not one of sync, thread, async/));
  it("a bad env value names the variable", () =>
    expectFailure([app], /workers \(from GUNICORN_WORKERS\): expected a whole number, auto or MIN:MAX/, {
      env: { GUNICORN_WORKERS: "lots" },
    }));
  it("a missing config file", () =>
    expectFailure(["-c", "/nonexistent/gpe.conf.ts", app], /config file not found: \/nonexistent\/gpe.conf.ts/));
  it("a config file with a syntax error", async () => {
    const file = join(tempDir(), "broken.conf.ts");
    writeFileSync(file, "export default { workers: 2,, };\n");
    await expectFailure(["-c", file, app], /cannot load config file .*broken\.conf\.ts/);
  });
  it("an unknown config key suggests the right one", async () => {
    const file = join(tempDir(), "typo.conf.mjs");
    writeFileSync(file, "export default { wrokers: 2 };\n");
    await expectFailure(["-c", file, app], /unknown setting "wrokers" \(did you mean "workers"\?\)/);
  });
  it("a config value of the wrong type", async () => {
    const file = join(tempDir(), "type.conf.json");
    writeFileSync(file, JSON.stringify({ max_requests: "many" }));
    await expectFailure(["-c", file, app], /max_requests: expected a whole number, got "many"/);
  });
  it("a missing app file", () => expectFailure(["-b", "127.0.0.1:0", "/nonexistent/app.js"], /app file not found/));
  it("an app that throws at import: its error said once in each line", async () => {
    const r = await expectFailure(
      ["-b", "127.0.0.1:0", join(FIXTURES, "throws-at-import.mjs")],
      /database URL is not set/,
    );
    const lines = r.stderr.split("\n").filter((l) => l.includes("database URL is not set"));
    assert.ok(lines.length >= 2, `the worker's line and the master's:\n${r.stderr}`);
    for (const line of lines.map((l) => (l.startsWith("{") ? JSON.parse(l) : { msg: l })))
      assert.equal(
        (`${line.msg} ${line.err?.message ?? ""}`.match(/database URL is not set/g) ?? []).length,
        line.err ? 2 : 1,
        `said once in the message and once in the error: ${JSON.stringify(line)}`,
      );
  });
  it("a Hono app without @hono/node-server beside it: what to install, in one line", () => {
    // hono alone in the app's node_modules, and nothing above it that has @hono/node-server.
    const dir = tempDir("gpe-hono-");
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(join(ROOT, "node_modules", "hono"), join(dir, "node_modules", "hono"));
    writeFileSync(join(dir, "app.mjs"), 'import { Hono } from "hono";\nexport default new Hono();\n');
    return expectFailure(
      ["-b", "127.0.0.1:0", join(dir, "app.mjs")],
      /is a Hono app, which runs on Node through @hono\/node-server: install it beside hono \(npm install @hono\/node-server\)/,
    );
  });
  it("an export that is not an app", () =>
    expectFailure(
      ["-b", "127.0.0.1:0", join(FIXTURES, "not-an-app.mjs")],
      /is an object with keys port, name, not an app/,
    ));
  it("--preload fails in the master, before any worker is forked", async () => {
    const r = await expectFailure(
      ["-b", "127.0.0.1:0", "--preload", join(FIXTURES, "throws-at-import.mjs")],
      /database URL is not set/,
    );
    assert.doesNotMatch(r.stderr, /Booting worker|worker failed to boot/);
  });
  it("a named export that does not exist", () =>
    expectFailure(
      ["-b", "127.0.0.1:0", `${join(FIXTURES, "factory.mjs")}:nope()`],
      /has no export named "nope" \(it exports: create\)/,
    ));
  it("a port already in use", async () => {
    const blocker = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    try {
      await expectFailure(
        ["-b", `127.0.0.1:${blocker.address().port}`, app],
        /cannot bind 127\.0\.0\.1:\d+: address already in use/,
      );
    } finally {
      blocker.close();
    }
  });
  it("the metrics port already in use", async () => {
    const blocker = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    try {
      const store = tempDir();
      const r = await runCli([
        "--multiproc-dir",
        store,
        "--metrics-bind",
        "127.0.0.1",
        "--metrics-port",
        String(blocker.address().port),
        "-b",
        "127.0.0.1:0",
        app,
      ]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /gpe-server: cannot start the metrics server on 127\.0\.0\.1:\d+: address already in use/);
    } finally {
      blocker.close();
    }
  });
  it("the metrics port equal to an app port on the same address", async () => {
    // Workers listen after the metrics server has, so they could not: this used to end in
    // "worker failed to boot", or in a crash loop when it was not the last bind.
    const port = await freePort();
    await expectFailure(
      [
        "-b",
        `127.0.0.1:${port}`,
        "-b",
        `127.0.0.2:${port}`,
        "--metrics-bind",
        "127.0.0.2",
        "--metrics-port",
        String(port),
        app,
      ],
      new RegExp(
        `the metrics port ${port} is also the app's \\(127\\.0\\.0\\.2:${port}\\): give --metrics-port another port`,
      ),
    );
  });
  it("an unparsable bind", () =>
    expectFailure(["-b", "::1:8000", app], /bind: "::1:8000" is an IPv6 address without brackets/));
  it("an unresolvable bind", () =>
    expectFailure(["-b", "no-such-host.invalid:8000", app], /cannot bind no-such-host\.invalid:8000/));
  it("a pidfile in a missing directory", () =>
    expectFailure(
      ["-b", "127.0.0.1:0", "-p", "/nonexistent/dir/gpe.pid", app],
      /cannot write pidfile \/nonexistent\/dir\/gpe\.pid: ENOENT/,
    ));
  it("a metrics directory that is a symlink", async () => {
    const dir = tempDir();
    const { symlinkSync } = await import("node:fs");
    symlinkSync(tempDir(), join(dir, "link"));
    const r = await runCli(["--multiproc-dir", join(dir, "link"), "-b", "127.0.0.1:0", app]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /gpe-server: metrics directory .* is a symbolic link; refusing to use it/);
  });
  it("--check-config reports a broken app and exits 1, a good one exits 0", async () => {
    const bad = await runCli(["--check-config", join(FIXTURES, "not-an-app.mjs")]);
    assert.equal(bad.code, 1);
    const good = await runCli(["--check-config", app]);
    assert.equal(good.code, 0);
    assert.match(good.stdout, /config OK/);
  });
});
