// How a PM2 ecosystem app's keys become settings: units, counts, the app chosen, the env blocks.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { ECOSYSTEM_KEYS, isEcosystem, mapEcosystem } from "../../../dist/config/ecosystem.js";
import { readEnvFiles, layeredEnvironment } from "../../../dist/config/environment.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const map = (app, o = {}) =>
  mapEcosystem({ apps: [app] }, "/srv/api/ecosystem.config.js", { only: null, envName: null, ...o });

describe("PM2 ecosystem keys", () => {
  it("tells an ecosystem from a gunicorn-style config", () => {
    assert.equal(isEcosystem({ apps: [] }), true);
    assert.equal(isEcosystem({ workers: 2 }), false);
  });

  it("converts PM2's milliseconds and counts", () => {
    const m = map({ kill_timeout: 1600, listen_timeout: 8000, min_uptime: "1m", restart_delay: 250 }).values;
    assert.deepEqual(m, { graceful_timeout: 1.6, listen_timeout: 8, min_uptime: 60, restart_delay: 250 });
    assert.equal(map({ min_uptime: 1500 }).values.min_uptime, 1.5, "a bare number is milliseconds");
    assert.equal(map({ min_uptime: "30s" }).values.min_uptime, 30);
    assert.equal(map({ instances: "max" }).values.workers, "auto");
    assert.equal(map({ instances: 0 }).values.workers, "auto");
    assert.equal(map({ instances: "3" }).values.workers, 3);
    const cpus = availableParallelism();
    assert.ok([Math.max(1, cpus - 1), 1].includes(map({ instances: -1 }).values.workers), "every CPU but one");
  });

  it("resolves the script and cwd against the file's directory, and maps the logs to one file", () => {
    const m = map({ script: "server.js", cwd: "app", error_file: "/var/log/api.err", out_file: "/var/log/api.out" });
    assert.equal(m.script, "/srv/api/app/server.js");
    assert.equal(m.values.chdir, "/srv/api/app");
    assert.equal(m.values.errorlog, "/var/log/api.err");
    assert.equal(m.values.capture_output, true);
    assert.match(m.unmapped.join(), /out_file \(written to error_file \/var\/log\/api\.err/);
    assert.equal(map({ out_file: "/var/log/api.out" }).values.errorlog, "/var/log/api.out");
  });

  it("puts env_<name> over env, binds env.PORT, and names what has no equivalent", () => {
    const app = { env: { A: "1", PORT: 3000 }, env_production: { A: "2" }, autorestart: false, vizion: false };
    const m = map(app, { envName: "production" });
    assert.deepEqual(m.env, { A: "2", PORT: "3000" });
    assert.deepEqual(m.values.bind, ["0.0.0.0:3000"]);
    assert.equal(m.origins.bind, "ecosystem.config.js apps[0].env.PORT");
    assert.deepEqual(m.unmapped, ["autorestart", "vizion"]);
    assert.throws(() => map(app, { envName: "staging" }), /has no env_staging for --env staging/);
  });

  it("chooses the app by name, or refuses with the names", () => {
    const two = { apps: [{ name: "web" }, { name: "jobs", max_restarts: 3 }] };
    const pick = (only) => mapEcosystem(two, "/x/eco.json", { only, envName: null });
    assert.equal(pick("jobs").values.max_restarts, 3);
    assert.throws(() => pick(null), /eco\.json has several apps: choose one with --only NAME \("web", "jobs"\)/);
    assert.throws(() => pick("cron"), /no app named "cron"/);
  });

  it("has one row per key, each saying what it becomes", () => {
    const keys = ECOSYSTEM_KEYS.map((r) => r.key);
    assert.equal(new Set(keys).size, keys.length);
    for (const r of ECOSYSTEM_KEYS) assert.ok(r.becomes.length > 0, r.key);
  });
});

describe("env files", () => {
  it("read in order, a later file over an earlier one, below the real environment", () => {
    const dir = mkdtempSync(join(tmpdir(), "gpe-env-"));
    writeFileSync(join(dir, "a.env"), 'A=1\nB=from a\n# a comment\nQUOTED="x y"\n');
    writeFileSync(join(dir, "b.env"), "B=from b\n");
    const files = readEnvFiles([join(dir, "a.env"), join(dir, "b.env")]);
    assert.deepEqual(files, { A: "1", B: "from b", QUOTED: "x y" });
    assert.deepEqual(layeredEnvironment({ B: "real" }, files, { C: "app" }), {
      A: "1",
      B: "real",
      QUOTED: "x y",
      C: "app",
    });
    assert.throws(() => readEnvFiles([join(dir, "none.env")]), /env_file .*none\.env: cannot read it \(ENOENT\)/);
  });
});
