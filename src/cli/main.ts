// `gpe-server [options] APP`: resolve the settings, then run the master. Every problem found
// before the master runs is one line on stderr and exit code 1. `gpe-server aggregate` and
// `gpe-server exporter` are metrics-only commands; `gpe-server status` reads a running master.
import { closeSync, writeSync } from "node:fs";
import { CommanderError } from "commander";
import { parseCommandLine, splitArgs } from "./program.js";
import { resolveSettings } from "../config/load.js";
import { SETTINGS } from "../config/settings.js";
import { SettingError } from "../config/validators.js";
import { autoWorkers } from "../config/cpu-budget.js";
import { applyEnvironment } from "../config/environment.js";
import { EXIT_USAGE } from "../contracts/exit-codes.js";
import { Arbiter } from "../arbiter/arbiter.js";
import { startDirectory } from "../arbiter/releases.js";
import { receiveInheritedSockets } from "../arbiter/inherit.js";
import { loadApp } from "../app/loader.js";
import { checkNodeInternals } from "../platform/node-internals.js";
import { VERSION } from "../platform/version.js";
import type { StandaloneCommand } from "./standalone.js";
import { daemonize, takeReadyFd } from "./daemon.js";

/** One line and a non-zero exit: 2 for a bad setting (a usage error), 1 for anything else. */
function fail(message: string, code = 1): never {
  process.stderr.write(`gpe-server: ${message}\n`);
  process.exit(code);
}

// Loaded on demand, so the master never carries what only these commands use (ioredis).
const COMMANDS: Record<string, () => Promise<StandaloneCommand>> = {
  aggregate: async () => (await import("./aggregate.js")).aggregateCommand,
  exporter: async () => (await import("./exporter.js")).exporterCommand,
};

/** `gpe-server reload | scale N | stop`: control commands for a running master (control.ts). */
const CONTROL = ["reload", "scale", "stop"];

export async function main(argv: string[]): Promise<void> {
  const command = argv[0] !== undefined ? COMMANDS[argv[0]] : undefined;
  if (command) return (await import("./standalone.js")).runStandalone(await command(), argv.slice(1));
  if (argv[0] === "status") return (await import("./status.js")).runStatus(argv.slice(1));
  if (argv[0] === "logs") return (await import("./logs.js")).runLogs(argv.slice(1));
  if (argv[0] !== undefined && CONTROL.includes(argv[0]))
    return (await import("./control.js")).runControl(argv[0], argv.slice(1));
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    const fromEnv = process.env.GUNICORN_CMD_ARGS
      ? parseCommandLine(splitArgs(process.env.GUNICORN_CMD_ARGS), VERSION)
      : null;
    parsed = parseCommandLine(argv, VERSION);
    if (fromEnv) parsed.values = { ...fromEnv.values, ...parsed.values };
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    throw err;
  }
  let resolved: Awaited<ReturnType<typeof resolveSettings>>;
  try {
    resolved = await resolveSettings({ cli: parsed.values });
  } catch (err) {
    fail((err as Error).message, err instanceof SettingError ? EXIT_USAGE : 1);
  }
  for (const warning of resolved.warnings) process.stderr.write(`gpe-server: warning: ${warning}\n`);
  const app = parsed.app ?? resolved.app ?? undefined;
  if (parsed.actions.printConfig) {
    for (const spec of SETTINGS) {
      const value = (resolved.settings as Record<string, unknown>)[spec.name];
      if (spec.section === "Hooks" && value === null) continue;
      const shown = typeof value === "function" ? "<function>" : JSON.stringify(value);
      const auto = spec.name === "workers" ? autoWorkers() : null;
      const from = auto ? `${resolved.origins[spec.name]}: auto, ${auto.why}` : resolved.origins[spec.name];
      process.stdout.write(`${spec.name.padEnd(26)} = ${shown}  (${from})\n`);
    }
    if (app)
      process.stdout.write(
        `${"APP".padEnd(26)} = ${JSON.stringify(app)}  (${parsed.app ? "cli" : "config: script"})\n`,
      );
    process.exit(0);
  }
  if (!app) fail("no APP given (usage: gpe-server [options] APP; see --help)");
  // A master started by --daemon, or by USR2, is detached already.
  const readyFd = takeReadyFd();
  if (resolved.settings.daemon && readyFd === null && !process.env.GPE_INHERIT && !parsed.actions.checkConfig) {
    try {
      process.stdout.write(`${await daemonize(argv, resolved.settings.errorlog, resolved.settings.pidfile!)}\n`);
      process.exit(0);
    } catch (err) {
      fail((err as Error).message);
    }
  }
  applyEnvironment(resolved.environment);
  // Before chdir: the directory as the operator named it, through a `current` symlink.
  const startDir = startDirectory();
  if (resolved.settings.chdir !== null) {
    try {
      process.chdir(resolved.settings.chdir);
    } catch (err) {
      fail(`chdir ${resolved.settings.chdir}: ${(err as NodeJS.ErrnoException).code ?? err}`, EXIT_USAGE);
    }
  }
  if (parsed.actions.checkConfig) {
    try {
      await loadApp(app);
    } catch (err) {
      fail((err as Error).message);
    }
    process.stdout.write("config OK\n");
    process.exit(0);
  }
  try {
    checkNodeInternals();
  } catch (err) {
    fail((err as Error).message);
  }
  const inherited = process.env.GPE_INHERIT
    ? await receiveInheritedSockets(resolved.settings.bind, Number(process.env.GPE_INHERIT))
    : undefined;
  delete process.env.GPE_INHERIT;
  const arbiter = new Arbiter({
    app,
    startDir,
    resolved,
    cli: parsed.values,
    argv: [process.argv[1]!, ...argv],
    inherited,
    // --daemon: the launching command waits for this line to give the shell back.
    onReady:
      readyFd === null
        ? undefined
        : () => {
            writeSync(readyFd, "ready\n");
            closeSync(readyFd);
          },
  });
  try {
    await arbiter.start();
  } catch (err) {
    fail((err as Error).message);
  }
}
