// The hook table of docs/signals-and-hooks.md, rendered from the hook catalogue: the page keeps
// its prose around a block between two markers, and only the block is generated.
import { HOOK_ARGS, HOOKS, type HookArg } from "../contracts/hook-catalogue.js";
import { blockMarkers, withBlock } from "./generated-block.js";

const MARKERS = blockMarkers("hooks", "src/contracts/hook-catalogue.ts");

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
export const withHooksTable = (page: string): string => withBlock(page, MARKERS, renderHooksTable());
