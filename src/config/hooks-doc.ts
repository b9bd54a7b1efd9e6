// The hook table of docs/signals-and-hooks.md, rendered from the hook catalogue: the page keeps
// its prose around a block between two markers, and only the block is generated.
import { HOOK_ARGS, HOOKS, type HookArg } from "../contracts/hook-catalogue.js";

export const HOOKS_BEGIN =
  "<!-- hooks: generated from src/contracts/hook-catalogue.ts by npm run docs; do not edit by hand -->";
export const HOOKS_END = "<!-- end of generated hooks -->";

const cell = (s: string) => s.replace(/\|/g, "\\|");

export function renderHooksTable(): string {
  let out = "| hook | runs in | when | awaited |\n|---|---|---|---|\n";
  for (const h of HOOKS)
    out += `| \`${h.name}(${h.args.join(", ")})\` | ${h.side} | ${cell(h.when)} | ${h.awaited ? "yes: a returned promise is awaited" : "no"} |\n`;
  const used = [...new Set(HOOKS.flatMap((h) => h.args as readonly HookArg[]))];
  out += "\n| argument | what it gives |\n|---|---|\n";
  for (const arg of used) out += `| \`${arg}\` | ${cell(HOOK_ARGS[arg])} |\n`;
  return out;
}

/** `page` with its generated block replaced by the current table; throws when the markers are missing. */
export function withHooksTable(page: string): string {
  const begin = page.indexOf(HOOKS_BEGIN);
  const end = page.indexOf(HOOKS_END);
  if (begin < 0 || end < begin) throw new Error("the hooks markers are missing from the page");
  return `${page.slice(0, begin + HOOKS_BEGIN.length)}\n${renderHooksTable()}${page.slice(end)}`;
}
