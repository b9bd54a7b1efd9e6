// Writes the generated pages, docs/settings.md and docs/metrics.md, from their tables (dist/ must be
// built). `--check` exits 1 when a committed page is stale, which the unit tests use.
import { readFileSync, writeFileSync } from "node:fs";
import { renderSettingsDoc } from "../dist/config/settings-doc.js";
import { renderMetricsDoc } from "../dist/metrics/metrics-doc.js";

const pages = [
  ["settings.md", renderSettingsDoc()],
  ["metrics.md", renderMetricsDoc()],
];
let stale = false;
for (const [name, text] of pages) {
  const path = new URL(`../docs/${name}`, import.meta.url);
  if (!process.argv.includes("--check")) writeFileSync(path, text);
  else if (readFileSync(path, "utf8") !== text) {
    console.error(`docs/${name} is stale: run npm run docs`);
    stale = true;
  }
}
process.exit(stale ? 1 : 0);
