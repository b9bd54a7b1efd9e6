// Writes docs/settings.md from the settings table (dist/ must be built). `--check` exits 1 when
// the committed file is stale, which the unit tests use.
import { readFileSync, writeFileSync } from "node:fs";
import { renderSettingsDoc } from "../dist/config/settings-doc.js";

const path = new URL("../docs/settings.md", import.meta.url);
const text = renderSettingsDoc();
if (process.argv.includes("--check")) {
  const current = readFileSync(path, "utf8");
  if (current !== text) {
    console.error("docs/settings.md is stale: run npm run docs");
    process.exit(1);
  }
} else {
  writeFileSync(path, text);
}
