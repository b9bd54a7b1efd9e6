// A PM2 ecosystem file as a config: one of its apps, its keys mapped to settings. The table below is
// the one place a key's meaning is written; docs/migrating-from-pm2.md shows it (generated), and a
// key it does not know, or knows to have no equivalent, is named in one warning line.
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { cpuBudget } from "./cpu-budget.js";
import { SettingError } from "./validators.js";

type App = Record<string, unknown>;

interface KeyRule {
  key: string;
  /** What the key becomes, for the migration guide. */
  becomes: string;
  /** The settings it sets (raw values, validated as any config value); null: no equivalent here. */
  map: ((value: unknown, app: App, dir: string) => Record<string, unknown>) | null;
}

/** PM2 counts these in milliseconds, gpe-server in seconds. */
const seconds = (ms: unknown): unknown => (typeof ms === "number" ? ms / 1000 : ms);

/** PM2's min_uptime: a number of milliseconds, or a string with a unit ("60s", "1m"). */
function uptimeSeconds(value: unknown): unknown {
  if (typeof value === "number") return value / 1000;
  const m = typeof value === "string" ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value) : null;
  if (!m) return value; // the setting's validator says what is wrong
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? "ms"]!;
  return Number(m[1]) * unit;
}

/** PM2's instances: a count, "max" (or 0) for every CPU, -N for every CPU but N. */
function workers(value: unknown): unknown {
  const n = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
  if (n === "max" || n === 0) return "auto";
  if (typeof n === "number" && n < 0) return Math.max(1, cpuBudget().count + n);
  return n;
}

const logFile = (value: unknown) => ({ errorlog: value, capture_output: true });

export const ECOSYSTEM_KEYS: readonly KeyRule[] = [
  { key: "name", becomes: "`proc_name`, and the name `--only` selects", map: (v) => ({ proc_name: v }) },
  { key: "script", becomes: "the APP, found from `cwd`", map: () => ({}) },
  { key: "args", becomes: "`app_args`: the app's `process.argv` after its path", map: (v) => ({ app_args: v }) },
  {
    key: "cwd",
    becomes: "`chdir`, relative to the ecosystem file's directory",
    map: (v, _app, dir) => ({ chdir: typeof v === "string" ? resolve(dir, v) : v }),
  },
  {
    key: "instances",
    becomes: '`workers`: a number; `"max"` or 0 is `auto`; -N is every CPU the process may use but N',
    map: (v) => ({ workers: workers(v) }),
  },
  {
    key: "exec_mode",
    becomes: "nothing to set: every worker serves the bound port, as in cluster mode",
    map: () => ({}),
  },
  { key: "env", becomes: "the environment of the master and every worker, over the real one", map: () => ({}) },
  { key: "env_<name>", becomes: "the same, with `--env <name>`, over `env`", map: () => ({}) },
  { key: "max_memory_restart", becomes: "`max_memory`", map: (v) => ({ max_memory: v }) },
  { key: "min_uptime", becomes: "`min_uptime`, in seconds", map: (v) => ({ min_uptime: uptimeSeconds(v) }) },
  { key: "max_restarts", becomes: "`max_restarts`", map: (v) => ({ max_restarts: v }) },
  { key: "restart_delay", becomes: "`restart_delay` (milliseconds in both)", map: (v) => ({ restart_delay: v }) },
  {
    key: "exp_backoff_restart_delay",
    becomes: "`restart_delay`: gpe-server's delay doubles after each unstable start anyway",
    map: (v) => ({ restart_delay: v }),
  },
  {
    key: "kill_timeout",
    becomes: "`graceful_timeout`, in seconds",
    map: (v) => ({ graceful_timeout: seconds(v) }),
  },
  {
    key: "listen_timeout",
    becomes: "`listen_timeout`, in seconds",
    map: (v) => ({ listen_timeout: seconds(v) }),
  },
  {
    key: "wait_ready",
    becomes: '`wait_ready`: a worker serves once the app sends `"ready"`; one that does not is a boot failure',
    map: (v) => ({ wait_ready: v }),
  },
  {
    key: "error_file",
    becomes: "`errorlog` with `capture_output`: the app's output and the server's log in one file",
    map: logFile,
  },
  {
    key: "out_file",
    becomes: "the same file as `error_file` (one file holds both; each line says which stream)",
    map: (v, app) => (app.error_file === undefined ? logFile(v) : {}),
  },
  {
    key: "log_file",
    becomes: "the same, when neither `error_file` nor `out_file` is given",
    map: (v, app) => (app.error_file === undefined && app.out_file === undefined ? logFile(v) : {}),
  },
  { key: "merge_logs", becomes: "nothing to set: the workers always write one log", map: () => ({}) },
  {
    key: "log_date_format",
    becomes: "`log_format` text: every line starts with its date and time",
    map: () => ({ log_format: "text" }),
  },
  { key: "time", becomes: "the same", map: (v) => (v ? { log_format: "text" } : {}) },
  {
    key: "watch",
    becomes: "`reload`; a list of paths is also `reload_extra_files`",
    map: (v, _app, dir) =>
      Array.isArray(v)
        ? { reload: true, reload_extra_files: v.map((p) => (typeof p === "string" ? resolve(dir, p) : p)) }
        : { reload: v },
  },
  { key: "node_args", becomes: "`node_args`: flags for the workers' Node", map: (v) => ({ node_args: v }) },
  { key: "interpreter_args", becomes: "the same", map: (v) => ({ node_args: v }) },
  { key: "instance_var", becomes: "`instance_var`", map: (v) => ({ instance_var: v }) },
  { key: "increment_var", becomes: "`increment_var`", map: (v) => ({ increment_var: v }) },
  {
    key: "interpreter",
    becomes: '`"node"` or none: nothing to set; any other runs no app here (a warning)',
    map: () => ({}),
  },
  {
    key: "ignore_watch",
    becomes: "no equivalent: `reload` watches the app's project without node_modules and dot-directories",
    map: null,
  },
  { key: "autorestart", becomes: "no equivalent: a worker that exits is always replaced", map: null },
  { key: "cron_restart", becomes: "no equivalent: send HUP from cron or a timer", map: null },
];

const RULES = new Map(ECOSYSTEM_KEYS.map((r) => [r.key, r]));

/** Whether a config file's export is a PM2 ecosystem (an `apps` list) rather than settings. */
export function isEcosystem(exported: object): boolean {
  return "apps" in exported;
}

/** The app of the ecosystem's apps to run: the one `only` names, or the only one. */
function chooseApp(exported: object, file: string, only: string | null): { app: App; label: string } {
  const listed = (exported as { apps: unknown }).apps;
  const apps = (Array.isArray(listed) ? listed : [listed]).filter(
    (a): a is App => a !== null && typeof a === "object" && !Array.isArray(a),
  );
  if (apps.length === 0) throw new SettingError(`${file}: apps holds no app`);
  const names = apps.map((a, i) => (typeof a.name === "string" ? a.name : String(i)));
  const index = only === null ? (apps.length === 1 ? 0 : -1) : names.indexOf(only);
  if (index < 0) {
    const list = names.map((n) => JSON.stringify(n)).join(", ");
    throw new SettingError(
      only === null
        ? `${file} has several apps: choose one with --only NAME (${list})`
        : `${file} has no app named ${JSON.stringify(only)} (its apps: ${list})`,
    );
  }
  return { app: apps[index]!, label: `${file} apps[${names[index]}]` };
}

export interface EcosystemApp {
  /** Setting name to raw value, mapped from the app's keys. */
  values: Record<string, unknown>;
  /** Setting name to the key it came from, as --print-config shows it. */
  origins: Record<string, string>;
  /** The app's script, resolved against its cwd; null when the app has none. */
  script: string | null;
  /** The environment the app declares: env, then env_<name> over it. */
  env: Record<string, string>;
  /** Keys with no equivalent here, and other things the operator should know, for one warning line. */
  unmapped: string[];
}

/** Maps the chosen app of an ecosystem file (loaded from `path`) to settings. */
export function mapEcosystem(
  exported: object,
  path: string,
  { only, envName }: { only: string | null; envName: string | null },
): EcosystemApp {
  const file = basename(path);
  const dir = dirname(path);
  const { app, label } = chooseApp(exported, file, only);
  const out: EcosystemApp = { values: {}, origins: {}, script: null, env: {}, unmapped: [] };
  for (const [key, value] of Object.entries(app)) {
    const rule = RULES.get(key) ?? (key.startsWith("env_") ? RULES.get("env_<name>") : undefined);
    if (!rule?.map) {
      out.unmapped.push(key);
      continue;
    }
    for (const [name, raw] of Object.entries(rule.map(value, app, dir))) {
      out.values[name] = raw;
      out.origins[name] = `${label}.${key}`;
    }
  }
  if (app.interpreter !== undefined && app.interpreter !== "node") out.unmapped.push(`interpreter ${app.interpreter}`);
  if (envName !== null && app[`env_${envName}`] === undefined)
    throw new SettingError(`${label} has no env_${envName} for --env ${envName}`);
  for (const block of [app.env, envName === null ? undefined : app[`env_${envName}`]]) {
    if (block === undefined) continue;
    if (block === null || typeof block !== "object") throw new SettingError(`${label}: an env block must be an object`);
    for (const [k, v] of Object.entries(block)) out.env[k] = String(v);
  }
  // A PM2 app listens on PORT itself; here the master binds it (on every interface, as listen(PORT) does).
  if (out.env.PORT !== undefined && /^\d+$/.test(out.env.PORT)) {
    out.values.bind = [`0.0.0.0:${out.env.PORT}`];
    out.origins.bind = `${label}.env.PORT`;
  }
  if (typeof app.script === "string") {
    const cwd = typeof app.cwd === "string" ? resolve(dir, app.cwd) : dir;
    out.script = isAbsolute(app.script) ? app.script : resolve(cwd, app.script);
  }
  if (app.out_file !== undefined && app.error_file !== undefined && app.out_file !== app.error_file)
    out.unmapped.push(`out_file (written to error_file ${app.error_file} with the rest)`);
  return out;
}
