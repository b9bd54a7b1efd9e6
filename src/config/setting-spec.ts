// The shape of one row of the settings table (settings.ts), and the helper that keeps each row's
// name and value type for the Settings type.
import type { Validator } from "./validators.js";

export interface SettingSpec<T = unknown> {
  /** gunicorn's setting name, also the config-file key (camelCase accepted too). */
  name: string;
  section: "Config" | "Server" | "Worker" | "Overload" | "Logging" | "Security" | "Metrics" | "Redis" | "Hooks";
  /** Commander flag spelling, e.g. "-b, --bind <ADDRESS>"; absent for config-only settings. */
  flag?: string;
  /** Environment variables read (first set wins), after the config file is evaluated. */
  env?: string[];
  default: T;
  validate: Validator<T>;
  /** How the CLI collects it: a value, a boolean switch, or a repeatable value. */
  cli?: "value" | "switch" | "repeat";
  help: string;
}

export const spec = <N extends string, T>(s: SettingSpec<T> & { name: N }): SettingSpec<T> & { name: N } => s;
