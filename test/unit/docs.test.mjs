// The docs hold together: every relative link in README, CHANGELOG and docs/ points at a file, and
// every generated page or block matches the table it comes from.
import { describe, it } from "node:test";
import { spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("documentation", () => {
  it("has no broken relative links", () => {
    const pages = [
      "README.md",
      "CHANGELOG.md",
      ...readdirSync(join(ROOT, "docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`),
    ];
    const broken = [];
    for (const page of pages) {
      const text = readFileSync(join(ROOT, page), "utf8");
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target)) continue; // http(s), mailto
        if (!existsSync(join(ROOT, dirname(page), target))) broken.push(`${page} -> ${target}`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it("links every page in docs/ from the README", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const unlinked = readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md") && !readme.includes(`docs/${f}`));
    assert.deepEqual(unlinked, []);
  });

  it("has every generated page and block in step with its table (gen-docs --check)", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "scripts", "gen-docs.mjs"), "--check"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  });

  it("renders the hook table from the catalogue: every hook, its arguments and whether it is awaited", async () => {
    const { HOOKS } = await import("../../dist/contracts/hook-catalogue.js");
    const page = readFileSync(join(ROOT, "docs", "signals-and-hooks.md"), "utf8");
    for (const h of HOOKS) {
      const row = page.split("\n").find((l) => l.startsWith(`| \`${h.name}(`));
      assert.ok(row, `a row for ${h.name}`);
      assert.ok(row.includes(`\`${h.name}(${h.args.join(", ")})\``), row);
      assert.ok(row.includes(h.awaited ? "| yes" : "| no |"), row);
    }
  });
});
