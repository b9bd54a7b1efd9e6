// The docs hold together: every relative link in README, CHANGELOG and docs/ points at a file.
import { describe, it } from "node:test";
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
});
