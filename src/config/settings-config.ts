// Rows of the settings table (settings.ts), section Config: where the settings come from.
import { optionalText } from "./validators.js";
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
] as const;
