// Where the server listens and what it says when it starts: HTTPS, unix sockets, GUNICORN_CMD_ARGS.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import https from "node:https";
import http from "node:http";
import { startServer, stopAll, tempDir, runCli, FIXTURES, ROOT } from "../helpers/harness.mjs";

after(stopAll);

describe("start line", () => {
  it("names gpe-server's own version, not the npm_package_version of whoever ran it", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const s = await startServer({ workers: 1, env: { npm_package_version: "9.9.9-the-users-app" } });
    assert.match(s.logs(), new RegExp(`Starting gpe-server ${version.replaceAll(".", "\\.")}"`));
    assert.doesNotMatch(s.logs(), /9\.9\.9-the-users-app/);
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
