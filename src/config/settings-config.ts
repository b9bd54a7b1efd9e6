// Rows of the settings table (settings.ts), section Config: where the settings come from (a config
// file, a PM2 ecosystem file and which of its apps and environments, env files).
import { listOf, optionalText, text } from "./validators.js";
import { spec } from "./setting-spec.js";

export const CONFIG_SETTINGS = [
  spec({
    name: "config",
    section: "Config",
    flag: "-c, --config <FILE>",
    env: ["GUNICORN_CONFIG"],
    default: null as string | null,
    validate: optionalText,
    cli: "value",
    help: "Config file: .ts, .mts, .cts, .js, .mjs, .cjs or .json. Its default export holds settings (gunicorn names or camelCase) and hooks.",
  }),
  spec({
    name: "only",
    section: "Config",
    flag: "--only <NAME>",
    default: null as string | null,
    validate: optionalText,
    cli: "value",
    help: "With a PM2 ecosystem file as the config: the app of its apps to run, by name (as pm2 start --only). Needed when the file has several.",
  }),
  spec({
    name: "ecosystem_env",
    section: "Config",
    flag: "--env <NAME>",
    default: null as string | null,
    validate: optionalText,
    cli: "value",
    help: "With a PM2 ecosystem file as the config: also apply the app's env_NAME block over its env (as pm2 start --env NAME).",
  }),
  spec({
    name: "env_file",
    section: "Config",
    flag: "--env-file <FILE>",
    default: [] as string[],
    validate: listOf(text),
    cli: "repeat",
    help: "Environment variables from a file in the dotenv format (KEY=value lines, as node --env-file reads), for the master and every worker. A variable already in the real environment wins. Repeat for several; a later file wins. Read again on HUP.",
  }),
] as const;
