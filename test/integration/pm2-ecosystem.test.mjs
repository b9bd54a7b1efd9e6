// A PM2 user's switch: the ecosystem file as it is (JS with env_production, JSON, YAML, several
// apps with --only), env files, node flags with a preload for every worker type, and wait_ready.
// The files have the shapes of PM2's documentation; the app is a script written for PM2.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, stopAll, request, runCli, tempDir, waitFor, FIXTURES, freePort } from "../helpers/harness.mjs";

after(stopAll);

const PM2 = join(FIXTURES, "pm2");

/** A PM2 project in a directory of its own: the app, its preloads and the given files. */
function project(files) {
  const dir = tempDir("gpe-pm2-");
  for (const name of ["package.json", "server.js", "preload.cjs", "preload.mjs"])
    copyFileSync(join(PM2, name), join(dir, name));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const ecosystemJs = (port) => `module.exports = {
  apps: [
    {
      name: "api",
      script: "./server.js",
      args: "--color --level 2",
      instances: 2,
      exec_mode: "cluster",
      max_memory_restart: "300M",
      min_uptime: "5s",
      max_restarts: 10,
      restart_delay: 500,
      kill_timeout: 1600,
      instance_var: "INSTANCE_ID",
      autorestart: true,
      cron_restart: "0 0 * * *",
      env: { NODE_ENV: "development", PORT: ${port} },
      env_production: { NODE_ENV: "production" },
    },
  ],
};
`;

const json = async (server, path = "/") => JSON.parse((await request(server.url(path))).body);

/** Answers until every worker has been seen (connections are not reused: the kernel spreads them). */
async function everyWorker(server, count) {
  const byPid = new Map();
  await waitFor(
    async () => {
      const seen = await json(server);
      byPid.set(seen.pid, seen);
      return byPid.size >= count;
    },
    { timeout: 10_000, what: () => `${count} workers to answer` },
  );
  return [...byPid.values()];
}

describe("a PM2 ecosystem file as the config", () => {
  it("maps every key it knows, says where each value came from, and names the keys it left out", async () => {
    const port = await freePort();
    const dir = project({ "ecosystem.config.js": ecosystemJs(port) });
    const r = await runCli(["-c", "ecosystem.config.js", "--env", "production", "--print-config"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const line = (name) => r.stdout.split("\n").find((l) => l.startsWith(`${name} `)) ?? "";
    const from = (key) => `(config: ecosystem.config.js apps[api].${key})`;
    assert.match(line("workers"), /= 2 /);
    assert.ok(line("workers").endsWith(from("instances")), line("workers"));
    assert.match(line("max_memory"), /= 314572800 /);
    assert.ok(line("max_memory").endsWith(from("max_memory_restart")));
    assert.match(line("graceful_timeout"), /= 1\.6 /, "kill_timeout is in milliseconds");
    assert.ok(line("graceful_timeout").endsWith(from("kill_timeout")));
    assert.match(line("min_uptime"), /= 5 /);
    assert.match(line("max_restarts"), /= 10 /);
    assert.match(line("restart_delay"), /= 500 /);
    assert.match(line("app_args"), /= \["--color","--level","2"\] /);
    assert.match(line("instance_var"), /= "INSTANCE_ID" /);
    assert.match(line("bind"), new RegExp(`= \\["0\\.0\\.0\\.0:${port}"\\] `), "the app's PORT is bound by the master");
    assert.ok(line("bind").endsWith(from("env.PORT")), line("bind"));
    assert.match(line("APP"), /server\.js/);
    assert.match(line("timeout"), /\(default\)$/);
    const warnings = r.stderr.trim().split("\n");
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(warnings[0], /no equivalent here for autorestart, cron_restart/);
    // The CLI still wins, as over a gunicorn config.
    const cli = await runCli(["-c", "ecosystem.config.js", "-w", "3", "--print-config"], { cwd: dir });
    assert.match(cli.stdout, /^workers += 3 {2}\(cli\)$/m);
  });

  it("serves the app with env_production over env, its args, and its instance variable", async () => {
    // The harness binds a free port with -b, which wins over the file's PORT.
    const dir = project({ "ecosystem.config.js": ecosystemJs(3000) });
    const served = await startServer({
      app: null,
      workers: 2,
      args: ["-c", join(dir, "ecosystem.config.js"), "--env", "production"],
    });
    for (const seen of await everyWorker(served, 2)) {
      assert.equal(seen.nodeEnv, "production");
      assert.deepEqual(seen.argv, ["--color", "--level", "2"]);
      assert.equal(seen.instanceId, seen.instance, "instance_var holds NODE_APP_INSTANCE's value");
    }
  });

  it("reads a JSON ecosystem and a YAML one, with increment_var", async () => {
    const dir = project({
      "process.json": JSON.stringify({
        apps: [{ name: "json-app", script: "server.js", instances: 1, env: { GREETING: "from json" } }],
      }),
      "ecosystem.yaml": [
        "apps:",
        "  - name: yaml-app",
        "    script: ./server.js",
        "    instances: 2",
        "    increment_var: API_PORT",
        "    env:",
        "      API_PORT: 4000",
        "      GREETING: from yaml",
        "",
      ].join("\n"),
    });
    const fromJson = await startServer({ app: null, workers: 1, args: ["-c", join(dir, "process.json")] });
    assert.equal((await json(fromJson)).greeting, "from json");
    const printed = await runCli(["-c", "ecosystem.yaml", "--print-config"], { cwd: dir });
    assert.match(
      printed.stdout,
      /^increment_var += "API_PORT" {2}\(config: ecosystem\.yaml apps\[yaml-app\]\.increment_var\)$/m,
    );
    assert.match(printed.stdout, /^workers += 2 {2}\(config: ecosystem\.yaml apps\[yaml-app\]\.instances\)$/m);
    const printedJson = await runCli(["-c", "process.json", "--print-config"], { cwd: dir });
    assert.match(printedJson.stdout, /^proc_name += "json-app" {2}\(config: process\.json apps\[json-app\]\.name\)$/m);
    const fromYaml = await startServer({ app: null, workers: 2, args: ["-c", join(dir, "ecosystem.yaml")] });
    const seen = await everyWorker(fromYaml, 2);
    assert.deepEqual(
      seen.map((s) => s.greeting),
      ["from yaml", "from yaml"],
    );
    assert.deepEqual(seen.map((s) => s.apiPort).sort(), ["4000", "4001"], "each worker its own port");
  });

  it("runs the app --only names, and refuses in one line a file of several apps without it", async () => {
    const several = `module.exports = {
  apps: [
    { name: "web", script: "./server.js", env: { GREETING: "web" } },
    { name: "jobs", script: "./server.js", env: { GREETING: "jobs" } },
  ],
};
`;
    const dir = project({ "ecosystem.config.js": several });
    const none = await runCli(["-c", "ecosystem.config.js"], { cwd: dir });
    assert.equal(none.code, 2);
    assert.equal(none.stderr.trim().split("\n").length, 1, none.stderr);
    assert.match(none.stderr, /several apps: choose one with --only NAME \("web", "jobs"\)/);
    const unknown = await runCli(["-c", "ecosystem.config.js", "--only", "cron"], { cwd: dir });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no app named "cron" \(its apps: "web", "jobs"\)/);
    const jobs = await startServer({
      app: null,
      workers: 1,
      args: ["-c", join(dir, "ecosystem.config.js"), "--only", "jobs"],
    });
    assert.equal((await json(jobs)).greeting, "jobs");
  });

  it("refuses in one line, exit 2: a file that throws, an --env it lacks, --only without an ecosystem", async () => {
    const dir = project({
      "throws.config.js": 'throw new Error("cannot read secrets.json");\n',
      "env.config.json": JSON.stringify({ env_file: ["missing.env"] }),
      "ecosystem.config.js": ecosystemJs(3000),
    });
    for (const [args, pattern] of [
      [["-c", "throws.config.js"], /cannot load config file throws\.config\.js: cannot read secrets\.json/],
      [["-c", "ecosystem.config.js", "--env", "staging"], /has no env_staging for --env staging/],
      [["--only", "api", "server.js"], /--only picks from a PM2 ecosystem file/],
      [["-c", "env.config.json", "server.js"], /env_file missing\.env: cannot read it \(ENOENT\)/],
    ]) {
      const r = await runCli(args, { cwd: dir });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, pattern);
    }
    // On the command line Node itself looks for the file first (it scans every argument for
    // --env-file) and stops with its own line: still one line, naming the file, but exit 9.
    const cli = await runCli(["--env-file", "missing.env", "server.js"], { cwd: dir });
    assert.notEqual(cli.code, 0);
    assert.equal(cli.stderr.trim().split("\n").length, 1, cli.stderr);
    assert.match(cli.stderr, /missing\.env: not found/);
  });
});

describe("env files", () => {
  it("sit below the real environment, reach every worker, and are read again on HUP", async () => {
    const dir = project({ ".env": "FROM_FILE=one\nSHARED=from the file\n" });
    const server = await startServer({
      app: join(dir, "server.js"),
      workers: 2,
      args: ["--env-file", join(dir, ".env")],
      env: { SHARED: "from the real environment" },
    });
    for (const seen of await everyWorker(server, 2)) {
      assert.equal(seen.fromFile, "one");
      assert.equal(seen.shared, "from the real environment");
    }
    writeFileSync(join(dir, ".env"), "FROM_FILE=two\n");
    const booted = (server.logs().match(/Booted worker/g) ?? []).length;
    server.signal("SIGHUP");
    await waitFor(
      () => /reload complete/.test(server.logs()) && (server.logs().match(/Booted worker/g) ?? []).length >= booted + 2,
      {
        timeout: 15_000,
        what: () => `the reload; logs:\n${server.logs()}`,
      },
    );
    // An old worker may still answer on a kept-alive connection while it drains (Node 26 with a
    // busy core once gave "one" right after "reload complete"): every worker that is left says two.
    let seen = [];
    await waitFor(
      async () => {
        seen = await everyWorker(server, 2);
        return seen.every((w) => w.fromFile === "two");
      },
      { timeout: 15_000, what: () => `every worker to read the file again: ${JSON.stringify(seen)}` },
    );
  });
});

describe("node flags for the workers", () => {
  for (const [klass, flag, file] of [
    ["sync", "--require", "preload.cjs"],
    ["async", "--require", "preload.cjs"],
    ["async", "--import", "preload.mjs"],
    ["thread", "--require", "preload.cjs"],
    ["thread", "--import", "preload.mjs"],
  ]) {
    it(`${flag} runs before the app in every ${klass} worker${klass === "thread" ? " and its threads" : ""}`, async () => {
      const preload = join(PM2, file);
      const server = await startServer({
        app: join(PM2, "server.js"),
        workers: 2,
        args: ["-k", klass, ...(klass === "thread" ? ["--threads", "2"] : []), "--node-args", `${flag} ${preload}`],
      });
      for (const seen of await everyWorker(server, 2)) {
        assert.deepEqual(seen.preload, { by: flag.slice(2), mainThread: klass !== "thread" });
      }
      // The master's own Node is left as it was.
      const master = await runCli(["--node-args", `${flag} ${preload}`, "--print-config"]);
      assert.match(master.stdout, new RegExp(`^node_args +\\= \\["${flag}",`, "m"));
    });
  }
});

describe("wait_ready", () => {
  it("takes a worker into service once the app sends ready, and fails the boot of one that never does", async () => {
    const ready = await startServer({
      app: join(PM2, "server.js"),
      workers: 1,
      args: ["--wait-ready"],
      env: { SEND_READY: "1" },
    });
    assert.equal((await request(ready.url())).status, 200);
    const t0 = Date.now();
    const never = await runCli(
      [
        "--wait-ready",
        "--listen-timeout",
        "1",
        "-b",
        `127.0.0.1:${await freePort()}`,
        "--metrics-port",
        String(await freePort()),
        join(PM2, "server.js"),
      ],
      {
        timeout: 20_000,
      },
    );
    assert.equal(never.code, 1, never.stderr);
    assert.match(never.stderr, /the app did not send "ready" within listen_timeout \(1 s\)/);
    assert.ok(Date.now() - t0 < 15_000);
    const thread = await runCli(["-k", "thread", "--wait-ready", join(PM2, "server.js")]);
    assert.equal(thread.code, 2);
    assert.match(thread.stderr, /wait_ready needs a sync or async worker/);
  });
});
