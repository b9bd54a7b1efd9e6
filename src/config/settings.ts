// The one table of settings: its rows kept one file per section, in the order `--help` and
// docs/settings.md show them (settings-config, -server, -worker, -overload, -logging, -security, -metrics and
// -redis.ts), the hooks' rows from their catalogue. The CLI parser, the config-file loader, the
// environment mapping, `--help` and docs/settings.md are all generated from it: adding a setting
// touches one row.
import { hookOfArity } from "./validators.js";
import { HOOKS, HOOK_NAMES, hookHelp, type HookName } from "../contracts/hook-catalogue.js";
import type { WorkerInit } from "../contracts/messages.js";
import { spec, type SettingSpec } from "./setting-spec.js";
import { CONFIG_SETTINGS } from "./settings-config.js";
import { SERVER_SETTINGS } from "./settings-server.js";
import { WORKER_SETTINGS } from "./settings-worker.js";
import { OVERLOAD_SETTINGS } from "./settings-overload.js";
import { REDIS_SETTINGS } from "./settings-redis.js";
import { LOGGING_SETTINGS } from "./settings-logging.js";
import { SECURITY_SETTINGS } from "./settings-security.js";
import { DEFAULT_BUCKETS, METRICS_SETTINGS } from "./settings-metrics.js";

export type { SettingSpec };

export { DEFAULT_BUCKETS };

type HookRow = (typeof HOOKS)[number];
const hookSpec = <H extends HookRow>(h: H) =>
  spec({
    name: h.name as H["name"],
    section: "Hooks",
    default: null,
    validate: hookOfArity(h.args.length),
    help: hookHelp(h),
  });

export const SETTINGS = [
  ...CONFIG_SETTINGS,
  ...SERVER_SETTINGS,
  ...WORKER_SETTINGS,
  ...OVERLOAD_SETTINGS,
  ...LOGGING_SETTINGS,
  ...SECURITY_SETTINGS,
  ...METRICS_SETTINGS,
  ...REDIS_SETTINGS,
  ...HOOKS.map(hookSpec),
] as const;

type Table = typeof SETTINGS;
type Spec = Table[number];
/** The resolved settings: one typed property per row of the table. */
export type Settings = { [S in Spec as S["name"]]: ReturnType<S["validate"]> };

export const SETTINGS_BY_NAME: ReadonlyMap<string, SettingSpec> = new Map(
  SETTINGS.map((s) => [s.name, s as SettingSpec]),
);

export { HOOK_NAMES };
/** What a worker is given of the settings: everything but the hooks (functions do not cross processes). */
export type WorkerSettings = Omit<Settings, HookName>;
export type WorkerInitData = WorkerInit<WorkerSettings>;

export function defaults(): Settings {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) out[s.name] = Array.isArray(s.default) ? [...s.default] : s.default;
  return out as Settings;
}
