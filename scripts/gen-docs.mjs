// Writes the generated pages (docs/settings.md, docs/metrics.md) and the generated blocks of
// docs/signals-and-hooks.md and docs/migrating-from-pm2.md from their tables (dist/ must be built). `--check` changes nothing and
// exits 1 when a committed page is stale; test/unit/docs.test.mjs runs it.
import { readFileSync, writeFileSync } from "node:fs";
import { renderSettingsDoc } from "../dist/config/settings-doc.js";
import { renderMetricsDoc } from "../dist/metrics/metrics-doc.js";
import { withHooksTable } from "../dist/config/hooks-doc.js";
import { withEcosystemTable } from "../dist/config/ecosystem-doc.js";

const read = (name) => readFileSync(new URL(`../docs/${name}`, import.meta.url), "utf8");
const pages = [
  ["settings.md", () => renderSettingsDoc()],
  ["metrics.md", () => renderMetricsDoc()],
  ["signals-and-hooks.md", () => withHooksTable(read("signals-and-hooks.md"))],
  ["migrating-from-pm2.md", () => withEcosystemTable(read("migrating-from-pm2.md"))],
];
let stale = false;
for (const [name, render] of pages) {
  const text = render();
  if (!process.argv.includes("--check")) writeFileSync(new URL(`../docs/${name}`, import.meta.url), text);
  else if (read(name) !== text) {
    console.error(`docs/${name} is stale: run npm run docs`);
    stale = true;
  }
}
process.exit(stale ? 1 : 0);
