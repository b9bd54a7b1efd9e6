// The bench's scenarios load: every one that run.mjs lists is a module with a run(), its imports
// resolve, and no file of scenarios/ is left out of the list. A full bench takes 40 minutes, so a
// broken import would otherwise be found only by whoever runs it next.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers/harness.mjs";

const DIR = join(ROOT, "bench", "scenarios");
const listed = JSON.parse(
  /const ALL = (\[[^\]]*\])/.exec(readFileSync(join(ROOT, "bench", "run.mjs"), "utf8"))[1].replace(/,\s*\]/, "]"),
);

describe("bench scenarios", () => {
  it("lists every file of scenarios/ in run.mjs, and nothing else", () => {
    const files = readdirSync(DIR)
      .filter((f) => f.endsWith(".mjs"))
      .map((f) => f.replace(/\.mjs$/, ""));
    assert.deepEqual([...listed].sort(), files.sort());
  });

  for (const name of listed)
    it(`${name} loads and exports run()`, async () => {
      const module = await import(join(DIR, `${name}.mjs`));
      assert.equal(typeof module.run, "function");
    });
});
