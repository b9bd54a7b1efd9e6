// This package's own version, from its package.json: npm_package_version is empty under npx and
// names the user's package under `npm start`.
import { readFileSync } from "node:fs";

export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version;
