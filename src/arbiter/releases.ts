// Release directories (`current -> releases/N`, as Capistrano and `pm2 deploy` lay them out). The
// app path and the working directory are resolved through their symlinks anew at every reload, and
// each generation keeps the real directory it resolved: a worker that replaces one of its workers
// (after a crash, a timeout, a recycle) loads that release, never one the symlink points to since.
// The master's own working directory cannot say where it was started from: the kernel keeps the
// real directory (releases/1), not the path through `current`. The shell's $PWD keeps the path, so
// it is the base when it names the same directory.
import { realpathSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { parseAppSpec } from "../app/loader.js";

/** Where one generation's workers run and what they load. */
export interface Release {
  /** The real working directory of its workers. */
  cwd: string;
  /** APP with its file made a real absolute path (and its `:name` or `:name()` kept). */
  app: string;
}

/** The directory the server was started from as the operator named it: through its symlinks. */
export function startDirectory(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const pwd = env.PWD;
  if (pwd && isAbsolute(pwd)) {
    try {
      if (realpathSync(pwd) === realpathSync(cwd)) return pwd;
    } catch {
      // PWD names nothing any more: the real directory is all there is
    }
  }
  return cwd;
}

/**
 * Resolves APP and the working directory for a new generation: `chdir` (if set) against the start
 * directory, then the app's file against that, each through its symlinks as they are now.
 */
export function resolveRelease(app: string, chdir: string | null, start: string): Release {
  const logical = chdir === null ? start : resolve(start, chdir);
  const cwd = realOrSame(logical);
  const spec = parseAppSpec(app);
  const file = realOrSame(resolve(logical, spec.file));
  const suffix = app.slice(spec.file.length);
  return { cwd, app: `${file}${suffix}` };
}

/** The real path, or the path itself if it does not exist (the worker's load then says so). */
function realOrSame(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Whether the directory still exists: a release removed under a running generation cannot start workers. */
export function releaseExists(r: Release): boolean {
  try {
    return statSync(r.cwd).isDirectory();
  } catch {
    return false;
  }
}
