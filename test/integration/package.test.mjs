// The published package: `npm pack`, installed into an empty directory, runs. Its dependencies come
// from npm's cache where it has them and from the registry otherwise: a fresh machine's cache holds
// tarballs from `npm ci` but not the registry's metadata, which an offline install needs.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startProcess, stopAll, request, waitFor, freePort, tempDir, ROOT } from "../helpers/harness.mjs";

after(stopAll);

const npm = (args, cwd) =>
  spawnSync("npm", args, {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
    env: {
      ...process.env,
      npm_config_loglevel: "error",
      npm_config_fund: "false",
      npm_config_audit: "false",
      npm_config_update_notifier: "false",
    },
  });

describe("the npm package", () => {
  it("packs, installs in an empty directory and runs the hello example", async () => {
    const out = tempDir("gpe-pack-");
    // --ignore-scripts: dist/ is already built (pretest); rebuilding it here would race the other test files.
    const packed = npm(["pack", "--json", "--ignore-scripts", "--pack-destination", out], ROOT);
    assert.equal(packed.status, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("[")));
    const files = info.files.map((f) => f.path);
    for (const expected of [
      "bin/gpe-server.js",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/cli/main.js",
      "examples/hello.js",
      "README.md",
      "CHANGELOG.md",
      "LICENSE",
    ]) {
      assert.ok(files.includes(expected), `${expected} is in the package`);
    }
    assert.ok(!files.some((f) => f.startsWith("test/") || f.startsWith("src/")), "no tests or sources in the package");

    const app = tempDir("gpe-install-");
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    const installed = npm(["install", "--prefer-offline", "--no-package-lock", join(out, info.filename)], app);
    assert.equal(installed.status, 0, `npm install: ${installed.stderr}`);
    const bin = join(app, "node_modules", ".bin", "gpe-server");
    assert.ok(existsSync(bin));
    const version = spawnSync(bin, ["--version"], { encoding: "utf8" });
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);

    // A typed config that imports the package by name, as a user's would.
    writeFileSync(
      join(app, "gunicorn.conf.ts"),
      'import { defineConfig } from "gpe-server";\nexport default defineConfig({ workers: 1, worker_class: "sync" });\n',
    );
    const port = await freePort();
    const metricsPort = await freePort();
    const server = startProcess(
      bin,
      [
        "-c",
        "gunicorn.conf.ts",
        "-b",
        `127.0.0.1:${port}`,
        "--metrics-port",
        String(metricsPort),
        "--metrics-bind",
        "127.0.0.1",
        "--multiproc-dir",
        join(app, "metrics"),
        "node_modules/gpe-server/examples/hello.js",
      ],
      { cwd: app, env: { NO_COLOR: "1" } },
    );
    const res = await waitFor(() => request(`http://127.0.0.1:${port}/`).catch(() => null), {
      timeout: 20_000,
      what: () => `the installed server to answer; logs:\n${server.logs()}`,
    });
    assert.match(res.body, /Hello from worker/);
    const metrics = await request(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.match(metrics.body, /^gunicorn_workers 1$/m);
  });
});
