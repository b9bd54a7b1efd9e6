// Resolves the settings from their four sources. Precedence: CLI (and GUNICORN_CMD_ARGS after it)
// > config file > environment > defaults. The environment is read after the config file has been
// evaluated, because a config may set process.env defaults the way the original exporter's do.
import { existsSync, readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { SETTINGS, SETTINGS_BY_NAME, defaults, type Settings } from "./settings.js";
import { SettingError, closest } from "./validators.js";
import { workerCount, workerRange } from "./cpu-budget.js";
import { activationBinds, checkDescriptor, parseBind } from "./bind.js";
import { importModule } from "./import-module.js";
import { normalizeKey } from "./keys.js";
import { isEcosystem, mapEcosystem, type EcosystemApp } from "./ecosystem.js";
import { layeredEnvironment, readEnvFiles, realEnvironment } from "./environment.js";
import { ADMISSION_DEFAULTS } from "./settings-overload.js";

export type Source = "default" | "env" | "config" | "cli";

export interface Resolved {
  settings: Settings;
  /** Where each setting's value came from, for --print-config and "was this set explicitly". */
  sources: Record<string, Source>;
  configPath: string | null;
  /** Where each setting came from, in words for --print-config: its source, or an ecosystem key. */
  origins: Record<string, string>;
  /** The app a PM2 ecosystem file names (its script, resolved); null otherwise. */
  app: string | null;
  /** The environment to run with: env files below the real one, an ecosystem app's env over it. */
  environment: NodeJS.ProcessEnv;
  /** What the operator should hear once: an ecosystem's keys with no equivalent here. */
  warnings: string[];
}

/** --sticky routes by client address: it needs addresses (TCP), and workers that take every connection. */
function checkSticky(s: Settings): void {
  if (!s.sticky) return;
  if (s.worker_class !== "async")
    throw new SettingError(
      `sticky needs the async worker: a ${s.worker_class} worker hands connections it has no room for to others`,
    );
  const unix = s.bind.find((b) => parseBind(b).kind === "unix");
  if (unix) throw new SettingError(`sticky routes by client address, which a unix socket has none of (bind ${unix})`);
}

/** The app port's TLS settings make sense together. */
/** workers_min..workers_max: both set (max defaults to the CPU budget), in order; workers starts at min. */
function adaptivePool(s: Settings): void {
  if (s.workers_min === null && s.workers_max === null) return;
  s.workers_min ??= Math.min(s.workers, s.workers_max!);
  s.workers_max ??= Math.max(s.workers_min, workerCount("auto", "workers_max"));
  if (s.workers_min > s.workers_max)
    throw new SettingError(
      `workers: the minimum ${s.workers_min} is above the maximum ${s.workers_max} (give MIN:MAX, smallest first)`,
    );
  s.workers = s.workers_min;
}

function checkTls(s: Settings): void {
  if (s.cert_reqs === 2 && s.ca_certs === null)
    throw new SettingError("cert_reqs 2 (a client certificate required) needs ca_certs to check it against");
  if ((s.cert_reqs > 0 || s.ca_certs !== null) && s.certfile === null)
    throw new SettingError("cert_reqs and ca_certs are for TLS on the app port: give certfile and keyfile");
  if (!s.http_protocols.includes("h2")) return;
  if (s.certfile === null) throw new SettingError("http_protocols h2 needs TLS: give certfile and keyfile");
  if (s.worker_class !== "async")
    throw new SettingError(`http_protocols h2 is served by the async worker, not ${s.worker_class}`);
}

const CONFIG_EXTENSIONS = new Set([".ts", ".mts", ".cts", ".js", ".mjs", ".cjs", ".json", ".yaml", ".yml"]);

export async function loadConfigFile(file: string): Promise<{ path: string; values: Record<string, unknown> }> {
  const path = resolve(file);
  if (!existsSync(path)) throw new SettingError(`config file not found: ${file}`);
  const ext = extname(path);
  if (!CONFIG_EXTENSIONS.has(ext)) {
    throw new SettingError(
      `config file ${file}: unsupported extension ${ext || "(none)"} (use .ts, .mts, .cts, .js, .mjs, .cjs, .json, or .yaml for a PM2 ecosystem file)`,
    );
  }
  let exported: unknown;
  try {
    if (ext === ".json") {
      exported = JSON.parse(readFileSync(path, "utf8"));
    } else if (ext === ".yaml" || ext === ".yml") {
      // PM2 reads YAML ecosystem files; the parser is loaded only for them.
      const { parse } = await import("yaml");
      exported = parse(readFileSync(path, "utf8"));
    } else {
      const mod = await importModule(path);
      exported = "default" in mod ? mod.default : mod;
      // CommonJS through jiti or import(): module.exports may arrive wrapped once more.
      if (exported && typeof exported === "object" && "default" in exported && Object.keys(exported).length === 1) {
        exported = (exported as { default: unknown }).default;
      }
    }
  } catch (err) {
    throw new SettingError(`cannot load config file ${file}: ${firstLine(err)}`);
  }
  if (exported === null || typeof exported !== "object" || Array.isArray(exported)) {
    throw new SettingError(
      `config file ${file}: the default export must be an object of settings, got ${exported === null ? "null" : Array.isArray(exported) ? "an array" : typeof exported}`,
    );
  }
  return { path, values: exported as Record<string, unknown> };
}

export function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (
    message
      .split("\n")
      .find((l) => l.trim() !== "")
      ?.trim() ?? message
  );
}

function checkKnown(key: string, origin: string): string {
  const name = normalizeKey(key);
  if (SETTINGS_BY_NAME.has(name)) return name;
  const guess = closest(name, SETTINGS_BY_NAME.keys());
  throw new SettingError(
    `${origin}: unknown setting ${JSON.stringify(key)}${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ""}`,
  );
}

export interface ResolveInput {
  /** Raw values from the command line (and GUNICORN_CMD_ARGS), keyed by setting name. */
  cli: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

/** A detached master needs a file to log to, a pidfile to be found by, and the app's output kept. */
function daemonDefaults(s: Settings, sources: Record<string, Source>): void {
  if (s.errorlog === "-")
    throw new SettingError(
      "daemon detaches from the terminal: give errorlog (--error-logfile FILE), or its lines are lost",
    );
  if (s.die_with_parent)
    throw new SettingError(
      "daemon and die_with_parent do not go together: the process that starts a daemon exits at once",
    );
  if (s.pidfile === null) s.pidfile = "gpe-server.pid";
  if (sources.capture_output === "default") s.capture_output = true;
}

/** A setting that only means something with a PM2 ecosystem file. */
function ecosystemOnly(cli: Record<string, unknown>, ecosystem: EcosystemApp | null): void {
  if (ecosystem) return;
  for (const [name, flag] of [
    ["only", "--only"],
    ["ecosystem_env", "--env"],
  ] as const) {
    if (cli[name] !== undefined) throw new SettingError(`${flag} picks from a PM2 ecosystem file: give one with -c`);
  }
}

export async function resolveSettings({ cli, env = realEnvironment() }: ResolveInput): Promise<Resolved> {
  const settings = defaults() as Record<string, unknown>;
  const sources: Record<string, Source> = Object.fromEntries(SETTINGS.map((s) => [s.name, "default" as Source]));

  const configFile = (cli.config as string | undefined) ?? env.GUNICORN_CONFIG ?? null;
  const fileValues: Record<string, unknown> = {};
  let configPath: string | null = null;
  let ecosystem: EcosystemApp | null = null;
  if (configFile) {
    const loaded = await loadConfigFile(configFile);
    configPath = loaded.path;
    if (isEcosystem(loaded.values)) {
      const pick = (name: string) => (cli[name] === undefined ? null : String(cli[name]));
      ecosystem = mapEcosystem(loaded.values, loaded.path, { only: pick("only"), envName: pick("ecosystem_env") });
      Object.assign(fileValues, ecosystem.values);
    } else {
      for (const [key, value] of Object.entries(loaded.values)) {
        fileValues[checkKnown(key, `config file ${configFile}`)] = value;
      }
    }
  }
  ecosystemOnly(cli, ecosystem);
  // Env files come first: settings read from the environment see their variables too.
  const envFiles = SETTINGS_BY_NAME.get("env_file")!.validate(cli.env_file ?? fileValues.env_file ?? [], "env_file");
  const environment = layeredEnvironment(env, readEnvFiles(envFiles as string[]), ecosystem?.env ?? {});
  env = environment;

  const fromRange: Record<string, { raw: unknown; source: Source }> = {};
  for (const spec of SETTINGS) {
    const name = spec.name;
    let raw: unknown;
    let source: Source | null = null;
    if (name in cli && cli[name] !== undefined) {
      raw = cli[name];
      source = "cli";
    } else if (name in fileValues && fileValues[name] !== undefined) {
      raw = fileValues[name];
      source = "config";
    } else {
      for (const variable of spec.env ?? []) {
        const value = env[variable];
        if (value !== undefined && value !== "") {
          raw = value;
          source = "env";
          break;
        }
      }
    }
    const bound = fromRange[name];
    if (bound && source !== "cli" && source !== "config") ({ raw, source } = bound);
    if (source === null) continue;
    const range = name === "workers" ? workerRange(raw) : null;
    if (range) {
      // -w MIN:MAX: the bounds of an adaptive pool, where they were not given by their own names.
      raw = range[0];
      fromRange.workers_min = { raw: range[0], source };
      fromRange.workers_max = { raw: range[1], source };
    }
    const where = source === "env" ? `${name} (from ${(spec.env ?? []).find((v) => env[v])})` : name;
    settings[name] = (spec.validate as (r: unknown, n: string) => unknown)(raw, where);
    sources[name] = source;
  }
  settings.config = configPath;
  const resolved = settings as Settings;
  // Sockets a launcher passed (systemd's LISTEN_FDS) are the binds unless bind was given.
  const activated = sources.bind === "default" ? activationBinds(env) : null;
  if (activated) {
    resolved.bind = activated;
    sources.bind = "env";
  }
  for (const bind of resolved.bind) checkDescriptor(parseBind(bind));
  if ((resolved.certfile === null) !== (resolved.keyfile === null)) {
    throw new SettingError("certfile and keyfile must be given together");
  }
  checkTls(resolved);
  checkSticky(resolved);
  adaptivePool(resolved);
  if (resolved.reload_strategy === "canary" && !resolved.metrics_enabled)
    throw new SettingError("reload_strategy canary needs metrics: the canary is judged on its workers' figures");
  if (resolved.daemon) daemonDefaults(resolved, sources);
  if (resolved.admission)
    for (const [name, value] of Object.entries(ADMISSION_DEFAULTS))
      if (sources[name] === "default") (resolved as Record<string, unknown>)[name] = value;
  if (resolved.wait_ready && resolved.worker_class === "thread")
    throw new SettingError(
      'wait_ready needs a sync or async worker: the app threads of a thread worker have no process.send("ready")',
    );
  if (resolved.reload && resolved.preload_app)
    throw new SettingError(
      "reload and preload_app do not go together: the master would keep the app it imported, so new workers would not see the change",
    );
  if ((resolved.metrics_certfile === null) !== (resolved.metrics_keyfile === null)) {
    throw new SettingError("metrics_certfile and metrics_keyfile must be given together");
  }
  if (resolved.metrics_client_cafile !== null && resolved.metrics_certfile === null) {
    throw new SettingError(
      "metrics_client_cafile needs HTTPS on the metrics port: give metrics_certfile and metrics_keyfile",
    );
  }
  if (
    resolved.metrics_auth !== "none" &&
    resolved.metrics_auth_file === null &&
    resolved.metrics_auth_secret === null
  ) {
    throw new SettingError(
      `metrics_auth ${resolved.metrics_auth} needs a secret: metrics_auth_file, or GPE_METRICS_AUTH_SECRET in the environment`,
    );
  }
  if (resolved.redis_enabled && !resolved.metrics_enabled) {
    throw new SettingError("redis_enabled needs the metrics store: remove --no-metrics (or metrics_enabled = false)");
  }
  if (resolved.redis_enabled && resolved.redis_forward_interval >= resolved.redis_ttl_seconds) {
    throw new SettingError(
      `redis_forward_interval (${resolved.redis_forward_interval}) must be shorter than redis_ttl_seconds (${resolved.redis_ttl_seconds}), or a live host's key would expire between writes`,
    );
  }
  const origins: Record<string, string> = { ...sources };
  for (const [name, key] of Object.entries(ecosystem?.origins ?? {}))
    if (sources[name] === "config") origins[name] = `config: ${key}`;
  const warnings = ecosystem?.unmapped.length
    ? [`${configFile}: no equivalent here for ${ecosystem.unmapped.join(", ")} (left out)`]
    : [];
  return {
    settings: resolved,
    sources,
    configPath,
    origins,
    app: ecosystem?.script ?? null,
    environment,
    warnings,
  };
}
