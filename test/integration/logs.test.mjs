// The app's own output captured into the error log, log rotation by size, and the text format.
// Real workers printing real bursts; every line is counted.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, stopAll, request, waitFor, tempDir, sleep, FIXTURES } from "../helpers/harness.mjs";

after(stopAll);

/** Every line of a log and its rotated files, oldest first. */
function allLines(file) {
  const dir = join(file, "..");
  const base = file.split("/").pop();
  const rotated = readdirSync(dir)
    .filter((f) => f.startsWith(`${base}.`))
    .map((f) => Number(f.slice(base.length + 1)))
    .sort((a, b) => b - a);
  const files = [...rotated.map((n) => `${file}.${n}`), file].filter((f) => existsSync(f));
  return {
    files,
    lines: files.flatMap((f) =>
      readFileSync(f, "utf8")
        .split("\n")
        .filter((l) => l !== ""),
    ),
  };
}

describe("--capture-output", () => {
  it("puts each worker's stdout and stderr in the error log, a whole line per entry, tagged with its worker", async () => {
    const dir = tempDir();
    const errorlog = join(dir, "error.log");
    const s = await startServer({
      app: join(FIXTURES, "chatty.mjs"),
      workers: 2,
      args: ["--capture-output", "--error-logfile", errorlog, "--log-max-size", "256K", "--log-keep", "50"],
      waitWorkers: 0,
    });
    await waitFor(() => s.workerPids().length === 2, { timeout: 20_000, what: "2 workers" });
    const pids = s.workerPids();
    assert.equal(pids.length, 2);
    const captured = () =>
      allLines(errorlog)
        .lines.map((l) => JSON.parse(l))
        .filter((e) => e.stream);
    // 2 × (512 + 64) lines of about 1 KB: a burst of 1.1 MB, rotated on the way.
    await waitFor(() => captured().length >= 2 * (512 + 64 + 1), { timeout: 20_000, what: "every captured line" });
    await waitFor(() => allLines(errorlog).files.length >= 2, { what: "the error log to be rotated" });
    await request(s.url("/after"));
    await waitFor(() => captured().some((e) => e.msg.endsWith("request /after")), { what: "the request line" });
    s.signal("SIGTERM"); // stopped, so that no rotation moves the files while they are read
    await s.exited;
    const entries = captured();
    const seen = new Set();
    for (const e of entries) {
      const m = /^(worker_\d) (\d+) (out|err|partial|request) ?(\d+)? ?(.*)$/.exec(e.msg);
      assert.ok(m, `a cut or merged line: ${e.msg.slice(0, 80)}`);
      assert.equal(e.worker_id, m[1], "the tag names the worker that printed the line");
      assert.equal(String(e.pid), m[2]);
      assert.equal(e.role, "worker");
      if (m[3] === "out" || m[3] === "err") {
        assert.equal(m[5], "x".repeat(1000), "the line is whole");
        assert.equal(e.stream, m[3] === "out" ? "stdout" : "stderr");
        assert.equal(e.level, m[3] === "out" ? 30 : 40);
        const key = `${m[1]} ${m[3]} ${m[4]}`;
        assert.ok(!seen.has(key), `${key} twice`);
        seen.add(key);
      }
      if (m[3] === "partial") assert.equal(e.msg, `${m[1]} ${m[2]} partial line joined`);
    }
    assert.equal(seen.size, 2 * (512 + 64), "no line lost");
    assert.deepEqual(new Set(entries.map((e) => e.pid)), new Set(pids));
  });

  it("leaves the output alone without the flag", async () => {
    const s = await startServer({ app: join(FIXTURES, "chatty.mjs"), workers: 1 });
    await waitFor(() => /worker_1 \d+ out 511 x+\n/.test(s.logs()), { what: "the app's own stdout" });
    assert.doesNotMatch(s.logs(), /"stream":"stdout"/);
  });
});

describe("--log-max-size and --log-keep", () => {
  const burst = async (s, n, round) => {
    for (let i = 0; i < n; i += 20)
      await Promise.all(Array.from({ length: 20 }, (_, j) => request(s.url(`/r${round}-${i + j}`))));
  };

  it("rotates the access log by size with no line lost or split", async () => {
    const accesslog = join(tempDir(), "access.log");
    const s = await startServer({
      workers: 2,
      args: [
        "--access-logfile",
        accesslog,
        "--access-log-format",
        "%(U)s %(s)s",
        "--log-max-size",
        "1K",
        "--log-keep",
        "100",
      ],
    });
    for (let round = 0; round < 6; round++) {
      await burst(s, 200, round);
      await sleep(600);
    }
    // Stopped first, so that no rotation moves the files while they are read.
    s.signal("SIGTERM");
    await s.exited;
    const { files, lines } = allLines(accesslog);
    assert.ok(files.length >= 4, `rotated into ${files.length} files`);
    assert.equal(lines.length, 1200);
    for (const line of lines) assert.match(line, /^\/r\d-\d+ 200$/);
    assert.equal(new Set(lines).size, 1200, "each request once");
  });

  it("keeps --log-keep rotated files and deletes older ones", async () => {
    const accesslog = join(tempDir(), "access.log");
    const s = await startServer({
      workers: 1,
      args: ["--access-logfile", accesslog, "--log-max-size", "4K", "--log-keep", "2"],
    });
    for (let round = 0; round < 5; round++) {
      await burst(s, 100, round);
      await sleep(600);
    }
    assert.ok(existsSync(`${accesslog}.1`) && existsSync(`${accesslog}.2`));
    assert.ok(!existsSync(`${accesslog}.3`), "an older generation was kept");
    assert.match(s.logs(), /rotated .*access\.log \(log_max_size 4096 bytes, keeping 2\)/);
  });

  it("refuses a size that is not one, in one line", async () => {
    const { runCli } = await import("../helpers/harness.mjs");
    const r = await runCli(["--log-max-size", "big", "app.js"]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'gpe-server: log_max_size: expected a size such as 512M, 1.5G or a number of bytes, got "big"\n',
    );
  });
});

describe("--log-format", () => {
  it("text: one readable line per entry, with a date and time", async () => {
    const s = await startServer({ workers: 1, args: ["--log-format", "text"] });
    assert.match(
      s.logs(),
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] INFO \(\d+\): Booted worker with pid: \d+ \(slot 1\) \{"role":"master"\}$/m,
    );
  });

  it("json by default off a terminal", async () => {
    const s = await startServer({ workers: 1 });
    const line = s
      .logs()
      .split("\n")
      .find((l) => l.includes("Booted worker"));
    assert.equal(JSON.parse(line).msg.startsWith("Booted worker"), true);
  });
});
