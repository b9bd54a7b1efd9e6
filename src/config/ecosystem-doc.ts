// The key table of docs/migrating-from-pm2.md, rendered from the ecosystem mapping (ecosystem.ts).
import { ECOSYSTEM_KEYS } from "./ecosystem.js";
import { blockMarkers, withBlock } from "./generated-block.js";

const MARKERS = blockMarkers("ecosystem keys", "src/config/ecosystem.ts");

export function renderEcosystemTable(): string {
  let out = "| PM2 key | here |\n|---|---|\n";
  for (const rule of ECOSYSTEM_KEYS) out += `| \`${rule.key}\` | ${rule.becomes.replace(/\|/g, "\\|")} |\n`;
  out += "| any other key | no equivalent: named in one warning line at start, and left out |\n";
  return out;
}

export const withEcosystemTable = (page: string): string => withBlock(page, MARKERS, renderEcosystemTable());
