// The settings table: sources, precedence, names, and a clear refusal of every bad value.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveSettings } from "../../../dist/config/load.js";
import { normalizeKey } from "../../../dist/config/keys.js";
import { parseBind, sharesPort } from "../../../dist/config/bind.js";
import { closest, integer, boolean, increasingNumbers } from "../../../dist/config/validators.js";
import { splitArgs, parseCommandLine } from "../../../dist/cli/program.js";
import { renderSettingsDoc } from "../../../dist/config/settings-doc.js";

const dir = mkdtempSync(join(tmpdir(), "gpe-unit-"));

describe("settings", () => {
  it("precedence is CLI > config file > environment > default", async () => {
    const file = join(dir, "p.conf.mjs");
    writeFileSync(file, "export default { workers: 3, timeout: 11 };\n");
    const env = { GUNICORN_WORKERS: "5", PROMETHEUS_METRICS_PORT: "9100", GUNICORN_CONFIG: undefined };
    const r = await resolveSettings({ cli: { config: file, timeout: "7" }, env });
    assert.equal(r.settings.timeout, 7);
    assert.equal(r.sources.timeout, "cli");
    assert.equal(r.settings.workers, 3);
    assert.equal(r.sources.workers, "config");
    assert.equal(r.settings.metrics_port, 9100);
    assert.equal(r.sources.metrics_port, "env");
    assert.equal(r.settings.graceful_timeout, 30);
    assert.equal(r.sources.graceful_timeout, "default");
  });

  it("checks each hook's arity against the catalogue: one more argument than passed is refused", async () => {
    const ok = join(dir, "hooks-ok.conf.mjs");
    writeFileSync(ok, "export default { post_request(worker, req, res) {}, pre_fork: (server, worker) => {} };\n");
    const r = await resolveSettings({ cli: { config: ok }, env: {} });
    assert.equal(typeof r.settings.post_request, "function");
    const bad = join(dir, "hooks-bad.conf.mjs");
    writeFileSync(bad, "export default { when_ready(server, extra) {} };\n");
    await assert.rejects(
      resolveSettings({ cli: { config: bad }, env: {} }),
      /when_ready: the hook takes 2 arguments, but is called with 1/,
    );
  });

  it("reads the environment after a config file sets process.env defaults", async () => {
    const file = join(dir, "envdefault.conf.ts");
    writeFileSync(
      file,
      'process.env.GPE_UNIT_PORT_DEFAULT ??= "1"; process.env.PROMETHEUS_METRICS_PORT ??= "9311";\nexport default { workers: 2 } as const;\n',
    );
    delete process.env.PROMETHEUS_METRICS_PORT;
    const r = await resolveSettings({ cli: { config: file }, env: process.env });
    assert.equal(r.settings.metrics_port, 9311);
    delete process.env.PROMETHEUS_METRICS_PORT;
  });

  it("accepts camelCase keys and gunicorn spellings", async () => {
    assert.equal(normalizeKey("maxRequestsJitter"), "max_requests_jitter");
    assert.equal(normalizeKey("keepAlive"), "keepalive");
    assert.equal(normalizeKey("preload"), "preload_app");
    const file = join(dir, "camel.conf.json");
    writeFileSync(file, JSON.stringify({ workerClass: "PrometheusThreadWorker", maxRequests: 10 }));
    const r = await resolveSettings({ cli: { config: file }, env: {} });
    assert.equal(r.settings.worker_class, "thread");
    assert.equal(r.settings.max_requests, 10);
  });

  it("names the key, the value and a close match on errors", async () => {
    const file = join(dir, "bad.conf.json");
    writeFileSync(file, JSON.stringify({ max_request: 5 }));
    await assert.rejects(
      resolveSettings({ cli: { config: file }, env: {} }),
      /unknown setting "max_request" \(did you mean "max_requests"\?\)/,
    );
    await assert.rejects(resolveSettings({ cli: { workers: "-1" }, env: {} }), /workers: -1 is out of range/);
    await assert.rejects(
      resolveSettings({ cli: { certfile: "/x.pem" }, env: {} }),
      /certfile and keyfile must be given together/,
    );
  });

  it("validators", () => {
    assert.equal(integer(0)("12", "n"), 12);
    assert.throws(() => integer(0)("1.5", "n"), /expected a whole number/);
    assert.equal(boolean("yes", "b"), true);
    assert.equal(boolean("off", "b"), false);
    assert.throws(() => boolean("maybe", "b"), /expected true or false/);
    assert.deepEqual(increasingNumbers("0.1,0.5,1", "b"), [0.1, 0.5, 1]);
    assert.throws(() => increasingNumbers("1,0.5", "b"), /must increase/);
    assert.equal(closest("wrokers", ["workers", "threads"]), "workers");
    assert.equal(closest("zzzzzz", ["workers", "threads"]), null);
  });

  it("tells when a server on host:port would take an app bind's port", () => {
    assert.equal(sharesPort(parseBind("127.0.0.1:8000"), "127.0.0.1", 8000), true);
    assert.equal(sharesPort(parseBind("127.0.0.1:8000"), "localhost", 8000), true);
    assert.equal(sharesPort(parseBind("127.0.0.1:8000"), "0.0.0.0", 8000), true);
    assert.equal(sharesPort(parseBind("0.0.0.0:8000"), "127.0.0.1", 8000), true);
    assert.equal(sharesPort(parseBind("[::]:8000"), "127.0.0.1", 8000), true);
    assert.equal(sharesPort(parseBind("127.0.0.1:8000"), "127.0.0.2", 8000), false);
    assert.equal(sharesPort(parseBind("127.0.0.1:8000"), "127.0.0.1", 9090), false);
    assert.equal(sharesPort(parseBind("127.0.0.1:8000"), "0.0.0.0", 0), false);
    assert.equal(sharesPort(parseBind("unix:/tmp/gpe.sock"), "0.0.0.0", 8000), false);
  });

  it("parses bind addresses", () => {
    assert.deepEqual(parseBind("0.0.0.0:8000"), {
      kind: "tcp",
      host: "0.0.0.0",
      port: 8000,
      family: 4,
      text: "0.0.0.0:8000",
    });
    assert.equal(parseBind("[::1]:9000").family, 6);
    assert.equal(parseBind("[::1]:9000").host, "::1");
    assert.equal(parseBind(":8080").host, "0.0.0.0");
    assert.equal(parseBind("localhost:1").host, "127.0.0.1");
    assert.deepEqual(parseBind("unix:/tmp/gpe.sock"), {
      kind: "unix",
      path: "/tmp/gpe.sock",
      text: "unix:/tmp/gpe.sock",
    });
    assert.throws(() => parseBind("::1:80"), /without brackets/);
    assert.throws(() => parseBind("host:http"), /no valid port/);
    assert.throws(() => parseBind("host:70000"), /above 65535/);
  });

  it("splits GUNICORN_CMD_ARGS like a shell and only counts given flags", () => {
    assert.deepEqual(splitArgs(`-w 3 --access-log-format '%(h)s "%(r)s"' -b a:1`), [
      "-w",
      "3",
      "--access-log-format",
      '%(h)s "%(r)s"',
      "-b",
      "a:1",
    ]);
    const parsed = parseCommandLine(["-w", "2", "-b", "a:1", "-b", "b:2", "--no-metrics", "app.js"], "0.0.0");
    assert.deepEqual(parsed.values, { workers: "2", bind: ["a:1", "b:2"], metrics_enabled: false });
    assert.equal(parsed.app, "app.js");
    assert.deepEqual(parseCommandLine(["app.js"], "0.0.0").values, {});
  });

  it("docs/settings.md is generated from the table and up to date", () => {
    assert.equal(readFileSync(new URL("../../../docs/settings.md", import.meta.url), "utf8"), renderSettingsDoc());
  });
});

describe("every setting refuses bad input", () => {
  // Values no setting should take all of: wrong types, nonsense words, out-of-range numbers.
  const CANDIDATES = [{}, [{}], 12.5, -1, 10_000_000, "not a value !", "maybe", true];

  it("each row of the table rejects some wrong value, with an error that names it", async () => {
    const { SETTINGS } = await import("../../../dist/config/settings.js");
    const accepting = [];
    for (const spec of SETTINGS) {
      let rejected = 0;
      for (const raw of CANDIDATES) {
        try {
          spec.validate(raw, spec.name);
        } catch (err) {
          rejected++;
          assert.ok(err.message.startsWith(spec.name), `${spec.name}: "${err.message}" should name the setting`);
        }
      }
      if (rejected === 0) accepting.push(spec.name);
    }
    assert.deepEqual(accepting, [], "settings that accepted every wrong value");
  });

  it("integer settings refuse values out of their range", async () => {
    const { SETTINGS } = await import("../../../dist/config/settings.js");
    const { size } = await import("../../../dist/config/validators.js");
    for (const spec of SETTINGS.filter((s) => typeof s.default === "number" && Number.isInteger(s.default))) {
      // A size in bytes has no upper bound; it refuses a negative one.
      const tooBig = spec.validate === size ? "-1" : "99999999999";
      assert.throws(() => spec.validate(tooBig, spec.name), /out of range|expected/, spec.name);
    }
  });

  it("an unknown setting name from a config file is refused with a suggestion", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gpe-unit-"));
    const file = join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ max_request: 5 }));
    await assert.rejects(
      resolveSettings({ cli: { config: file }, env: {} }),
      /unknown setting "max_request".*max_requests/,
    );
  });
});
