// docs/settings.md, rendered from the settings table.
import { SETTINGS } from "./settings.js";

const cell = (s: string) => s.replace(/\|/g, "\\|");

export function renderSettingsDoc(): string {
  let out =
    "# Settings\n\nGenerated from the settings table (`src/config/settings.ts`, its rows in one `settings-<section>.ts` file per section) by `npm run docs`; do not edit by hand.\n\n";
  out += "Precedence: command line (then `GUNICORN_CMD_ARGS`) > config file > environment > default. ";
  out += "Config-file keys are the names below; camelCase spellings are accepted too.\n";
  const sections = [...new Set(SETTINGS.map((s) => s.section))];
  for (const section of sections) {
    out += `\n## ${section}\n\n| name | flag | environment | default | description |\n|---|---|---|---|---|\n`;
    for (const s of SETTINGS.filter((x) => x.section === section)) {
      const flag = "flag" in s && s.flag ? `\`${s.flag}\`` : "";
      const env = "env" in s && s.env ? s.env.map((e: string) => `\`${e}\``).join(", ") : "";
      const def = s.default === null ? "" : `\`${Array.isArray(s.default) ? s.default.join(",") : String(s.default)}\``;
      out += `| \`${s.name}\` | ${cell(flag)} | ${env} | ${cell(def)} | ${cell(s.help)} |\n`;
    }
  }
  return out;
}
