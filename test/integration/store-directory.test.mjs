// The metrics store directory: created private, refused when unsafe, cleaned of stale files.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chownSync, mkdirSync, writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, stopAll, request, sleep, tempDir, runCli, FIXTURES } from "../helpers/harness.mjs";

after(stopAll);

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
