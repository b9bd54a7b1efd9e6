// --reload, for development: watch the app's project (the nearest directory with a package.json
// above the app, without node_modules and dot-directories), the config file and
// reload_extra_files; after a quiet moment, check that the app still loads in a separate process,
// then reload the workers the HUP way. An edit that does not load is logged once and the running
// workers keep serving.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync, watch, type Dirent, type FSWatcher } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { Logger } from "pino";
import { parseAppSpec } from "../app/loader.js";

/** Edits come in bursts (an editor's save, a git checkout): wait for this much quiet. */
const DEBOUNCE_MS = 300;
const SOURCE_EXTENSIONS = new Set([".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".json", ".jsx", ".tsx"]);
const SKIPPED_DIRECTORIES = new Set(["node_modules"]);

export interface DevReloadOptions {
  app: string;
  configPath: string | null;
  extraFiles: readonly string[];
  /** The CLI script, to check the changed app with --check-config in a child process. */
  cli: string;
  log: Logger;
  reload(): void;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Where a project starts: the nearest directory holding package.json, else the app's own directory. */
export function projectRoot(appFile: string): string {
  const start = dirname(resolve(appFile));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

export class DevReload {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly extra: Set<string>;
  private timer: NodeJS.Timeout | null = null;
  private changed = new Set<string>();
  private lastError: string | null = null;
  private checking = false;

  constructor(private readonly o: DevReloadOptions) {
    this.extra = new Set([...o.extraFiles, ...(o.configPath ? [o.configPath] : [])].map((f) => resolve(f)));
  }

  start(): void {
    const root = projectRoot(parseAppSpec(this.o.app).file);
    this.watchTree(root);
    for (const file of this.extra) this.watchDirectory(dirname(file), false);
    this.o.log.info(`reload: watching ${root} and ${this.extra.size} more file(s) for changes`);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /** One non-recursive watcher per directory: Linux's recursive watch would walk node_modules too. */
  private watchTree(dir: string): void {
    if (!this.watchDirectory(dir, true)) return;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries)
      if (e.isDirectory() && !e.name.startsWith(".") && !SKIPPED_DIRECTORIES.has(e.name))
        this.watchTree(join(dir, e.name));
  }

  private watchDirectory(dir: string, tree: boolean): boolean {
    if (this.watchers.has(dir)) return true;
    try {
      const watcher = watch(dir, (_event, name) => name && this.onEvent(join(dir, name.toString()), tree));
      watcher.on("error", () => this.watchers.delete(dir)); // the directory went away
      watcher.unref();
      this.watchers.set(dir, watcher);
      return true;
    } catch {
      return false;
    }
  }

  private onEvent(path: string, tree: boolean): void {
    const name = basename(path);
    if (this.extra.has(path) || (tree && !name.startsWith(".") && SOURCE_EXTENSIONS.has(extname(name)))) {
      this.note(path);
    } else if (tree && !name.startsWith(".") && !SKIPPED_DIRECTORIES.has(name) && isDirectory(path)) {
      this.watchTree(path); // a new directory in the project
    }
  }

  private note(path: string): void {
    this.changed.add(path);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.settle(), DEBOUNCE_MS);
  }

  private async settle(): Promise<void> {
    if (this.checking) {
      this.timer = setTimeout(() => void this.settle(), DEBOUNCE_MS);
      return;
    }
    const files = [...this.changed];
    this.changed.clear();
    this.checking = true;
    const error = await this.check().finally(() => (this.checking = false));
    const what = files.length === 1 ? files[0] : `${files[0]} and ${files.length - 1} more`;
    if (error === null) {
      this.lastError = null;
      this.o.log.info(`reload: ${what} changed; reloading the workers`);
      this.o.reload();
    } else if (error !== this.lastError) {
      this.lastError = error;
      this.o.log.error(
        `reload: ${what} changed, but the app does not load: ${error}; the running workers keep serving`,
      );
    }
  }

  /** Loads the app in a child process: null when it loads, else the error's line. */
  private check(): Promise<string | null> {
    const args = [this.o.cli, "--check-config", ...(this.o.configPath ? ["-c", this.o.configPath] : []), this.o.app];
    return new Promise((done) => {
      const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("error", (err) => done(err.message));
      child.on("close", (code) =>
        done(code === 0 ? null : (stderr.trim().split("\n")[0] ?? `exit ${code}`).replace(/^gpe-server: /, "")),
      );
    });
  }
}

/** --reload as the master starts it: from its options (the app, the config file, its own argv). */
export function startDevReload(
  o: { app: string; argv: string[]; resolved: { configPath: string | null } },
  extraFiles: readonly string[],
  log: Logger,
  reload: () => void,
): DevReload {
  const watcher = new DevReload({
    app: o.app,
    configPath: o.resolved.configPath,
    extraFiles,
    cli: o.argv[0]!,
    log,
    reload,
  });
  watcher.start();
  return watcher;
}
