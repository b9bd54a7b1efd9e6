// --reload for development: an edit to the app or to what it imports replaces the workers; an
// edit that does not load is logged once and the running workers keep serving.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, stopAll, request, waitFor, tempDir, runCli, sleep } from "../helpers/harness.mjs";

after(stopAll);

function project() {
  const dir = tempDir("gpe-reload-");
  writeFileSync(join(dir, "package.json"), '{"name":"reload-fixture","type":"module"}\n');
  mkdirSync(join(dir, "lib"));
  writeFileSync(join(dir, "lib", "greet.mjs"), 'export const greeting = "one";\n');
  writeFileSync(
    join(dir, "app.mjs"),
    'import { greeting } from "./lib/greet.mjs";\nexport default (req, res) => res.end(greeting + "\\n");\n',
  );
  writeFileSync(join(dir, "notes.txt"), "a\n");
  return dir;
}

const answer = async (s) => (await request(s.url("/"))).body.trim();

describe("--reload", () => {
  it("replaces the workers after an edit of an imported file, and keeps them through a broken edit", async () => {
    const dir = project();
    const s = await startServer({ app: join(dir, "app.mjs"), workers: 2, args: ["--reload"] });
    assert.equal(await answer(s), "one");
    const before = s.workerPids();

    writeFileSync(join(dir, "lib", "greet.mjs"), 'export const greeting = "two";\n');
    await waitFor(async () => (await answer(s)) === "two", { timeout: 15_000, what: "the edit to be served" });
    await waitFor(() => s.workerPids().every((p) => !before.includes(p)), { what: "the old workers to go" });
    assert.match(s.logs(), /reload: .*lib\/greet\.mjs changed; reloading the workers/);

    const serving = s.workerPids();
    writeFileSync(join(dir, "lib", "greet.mjs"), "export const greeting = ;\n");
    await waitFor(() => /the app does not load/.test(s.logs()), { timeout: 15_000, what: "the broken edit's line" });
    // Saved again with the same mistake: still one line.
    writeFileSync(join(dir, "lib", "greet.mjs"), "export const greeting = ;\n\n");
    await sleep(1500);
    assert.equal(s.logs().match(/the app does not load/g).length, 1, "the error is logged once");
    assert.match(
      s.logs(),
      /lib\/greet\.mjs changed, but the app does not load: .*SyntaxError.*; the running workers keep serving/,
    );
    assert.equal(await answer(s), "two");
    assert.deepEqual(s.workerPids().sort(), serving.sort(), "the running workers were kept");

    writeFileSync(join(dir, "lib", "greet.mjs"), 'export const greeting = "three";\n');
    await waitFor(async () => (await answer(s)) === "three", { timeout: 15_000, what: "the fixed edit to be served" });
  });

  it("watches --reload-extra-file and ignores other files and node_modules", async () => {
    const dir = project();
    mkdirSync(join(dir, "node_modules", "dep"), { recursive: true });
    const s = await startServer({
      app: join(dir, "app.mjs"),
      workers: 1,
      args: ["--reload", "--reload-extra-file", join(dir, "notes.txt")],
    });
    writeFileSync(join(dir, "node_modules", "dep", "index.js"), "module.exports = 1;\n");
    writeFileSync(join(dir, "README.md"), "# not code\n");
    await sleep(1200);
    assert.doesNotMatch(s.logs(), /changed; reloading/);
    writeFileSync(join(dir, "notes.txt"), "b\n");
    await waitFor(() => /reload: .*notes\.txt changed; reloading the workers/.test(s.logs()), {
      timeout: 15_000,
      what: "the extra file's reload",
    });
  });

  it("is refused with --preload, in one line", async () => {
    const r = await runCli(["--reload", "--preload", "app.mjs"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^gpe-server: reload and preload_app do not go together: .*\n$/);
  });
});
