// Validators turn a raw value (a CLI string, an env string, or whatever a config file holds)
// into the typed value, or throw a SettingError that names what was wrong.

import { isIP } from "node:net";
export class SettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettingError";
  }
}

export type Validator<T> = (raw: unknown, name: string) => T;

const show = (raw: unknown): string => (typeof raw === "string" ? JSON.stringify(raw) : String(raw));

export function integer(min: number, max = Number.MAX_SAFE_INTEGER): Validator<number> {
  return (raw, name) => {
    const value = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
    if (typeof value !== "number" || !Number.isInteger(value)) {
      throw new SettingError(`${name}: expected a whole number, got ${show(raw)}`);
    }
    if (value < min || value > max) {
      throw new SettingError(`${name}: ${value} is out of range (${min}..${max})`);
    }
    return value;
  };
}

export function decimal(min: number, max = Number.MAX_VALUE): Validator<number> {
  return (raw, name) => {
    const value = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new SettingError(`${name}: expected a number, got ${show(raw)}`);
    }
    if (value < min || value > max) {
      throw new SettingError(`${name}: ${value} is out of range (${min}..${max})`);
    }
    return value;
  };
}

const TRUE_WORDS = new Set(["1", "true", "yes", "on"]);
const FALSE_WORDS = new Set(["0", "false", "no", "off", ""]);

export const boolean: Validator<boolean> = (raw, name) => {
  if (typeof raw === "boolean") return raw;
  if (typeof raw === "string") {
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  throw new SettingError(`${name}: expected true or false, got ${show(raw)}`);
};

export const text: Validator<string> = (raw, name) => {
  if (typeof raw !== "string") throw new SettingError(`${name}: expected a string, got ${show(raw)}`);
  return raw;
};

export const optionalText: Validator<string | null> = (raw, name) =>
  raw === null || raw === undefined ? null : text(raw, name);

export const redisUrl: Validator<string | null> = (raw, name) => {
  const value = optionalText(raw, name);
  if (value === null || value === "") return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SettingError(`${name}: not a URL (expected redis://host:port/db or rediss://...)`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new SettingError(`${name}: expected a redis:// or rediss:// URL, got ${url.protocol}//`);
  }
  return value;
};

/** A user or group: a name, or a numeric id (a number in a config file, digits elsewhere). */
export const userOrGroup: Validator<string | null> = (raw, name) => {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === "number" && Number.isInteger(raw) && raw >= 0) return String(raw);
  const value = text(raw, name).trim();
  if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(value) && !/^\d+$/.test(value))
    throw new SettingError(`${name}: ${show(raw)} is not a user or group name or id`);
  return value;
};

export function oneOf<T extends string>(choices: readonly T[], aliases: Record<string, T> = {}): Validator<T> {
  return (raw, name) => {
    const value = text(raw, name);
    if ((choices as readonly string[]).includes(value)) return value as T;
    if (Object.hasOwn(aliases, value)) return aliases[value] as T;
    throw new SettingError(`${name}: ${show(raw)} is not one of ${choices.join(", ")}`);
  };
}

/** A list setting: an array in a config file, a comma-separated string from env, repeated flags on the CLI. */
export function listOf<T>(item: Validator<T>): Validator<T[]> {
  return (raw, name) => {
    const items = Array.isArray(raw)
      ? raw
      : typeof raw === "string"
        ? raw
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s !== "")
        : [raw];
    return items.map((value) => item(value, name));
  };
}

/** A hook: a function taking at most `arity` arguments (gunicorn checks hooks' arity too). */
export const hookOfArity =
  (arity: number): Validator<((...args: never[]) => unknown) | null> =>
  (raw, name) => {
    if (raw === null || raw === undefined) return null;
    if (typeof raw !== "function") throw new SettingError(`${name}: expected a function, got ${typeof raw}`);
    if (raw.length > arity) {
      throw new SettingError(`${name}: the hook takes ${raw.length} arguments, but is called with ${arity}`);
    }
    return raw as (...args: never[]) => unknown;
  };

export function increasingNumbers(raw: unknown, name: string): number[] {
  const values = listOf(decimal(0))(raw, name);
  if (values.length === 0) throw new SettingError(`${name}: expected at least one bucket bound`);
  for (let i = 1; i < values.length; i++) {
    if (values[i]! <= values[i - 1]!) {
      throw new SettingError(`${name}: bucket bounds must increase (${values[i - 1]} then ${values[i]})`);
    }
  }
  return values;
}

/** Levenshtein distance, for "did you mean" suggestions on unknown keys. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

export function closest(word: string, candidates: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A size in bytes: plain bytes, or a number with K, M, G or T (powers of 1024, as PM2 reads them). 0 is off. */
export const size: Validator<number> = (raw, name) => {
  if (typeof raw === "number" && Number.isSafeInteger(raw) && raw >= 0) return raw;
  const m = typeof raw === "string" ? /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(raw) : null;
  if (!m) throw new SettingError(`${name}: expected a size such as 512M, 1.5G or a number of bytes, got ${show(raw)}`);
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
};

/** A peer allow-list: "*", addresses and CIDR networks (gunicorn's forwarded_allow_ips). */
export const addressList: Validator<string[]> = (raw, name) =>
  listOf((item, n) => {
    const value = text(item, n);
    if (value === "*" || isAddressOrNetwork(value)) return value;
    throw new SettingError(`${n}: ${show(item)} is not an IP address, a CIDR network or *`);
  })(raw, name);

function isAddressOrNetwork(value: string): boolean {
  const slash = value.indexOf("/");
  const address = slash < 0 ? value : value.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash < 0) return true;
  const bits = value.slice(slash + 1);
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** worker_nice: a gap of 0..19, or auto (10 where the master may raise itself, else none). */
export type WorkerNice = number | "auto";
export const workerNice: Validator<WorkerNice> = (raw, name) => {
  if (typeof raw === "string" && raw.trim().toLowerCase() === "auto") return "auto";
  if (typeof raw === "string" && !/^\s*\d+\s*$/.test(raw))
    throw new SettingError(`${name}: expected a whole number (0..19) or auto, got ${show(raw)}`);
  return integer(0, 19)(raw, name);
};

/** Splits GUNICORN_CMD_ARGS like a shell would (quotes and backslashes, no expansion). */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let current = "";
  let quote: string | null = null;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (c === "\\" && i + 1 < text.length) {
      current += text[++i];
      started = true;
    } else if (/\s/.test(c)) {
      if (started) out.push(current);
      current = "";
      started = false;
    } else {
      current += c;
      started = true;
    }
  }
  if (started) out.push(current);
  return out;
}

/** Command-line arguments: a string split as a shell would (quotes kept together), or an array of strings. */
export const argList: Validator<string[]> = (raw, name) => {
  if (Array.isArray(raw) && raw.every((a) => typeof a === "string")) return raw as string[];
  if (typeof raw === "string") return splitArgs(raw);
  throw new SettingError(`${name}: expected arguments as a string or an array of strings, got ${show(raw)}`);
};

/** The name of an environment variable. */
export const envName: Validator<string | null> = (raw, name) => {
  if (raw === null || raw === undefined || raw === "") return null;
  if (typeof raw === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(raw)) return raw;
  throw new SettingError(`${name}: expected the name of an environment variable, got ${show(raw)}`);
};
