// How the commands that act on a running master (reload, scale, stop, logs) find it: by its
// pidfile, or by its metrics server. The options are the same for each.
import { type Command, CommanderError, Option } from "commander";
import { StatusError, findByPid, getJSON, metricsBase, readPidfile } from "./status.js";

export interface Master {
  pid: number;
  /** The metrics base URL, when the master serves one. */
  base: string | null;
}

export interface MasterOptions {
  pid?: string;
  metricsUrl: string;
}

/** --pid FILE, or --metrics-url URL (the default port when neither is given). */
export function addMasterOptions(program: Command): Command {
  return program
    .addOption(new Option("--pid <FILE>", "find the master by its pidfile (-p/--pid of the server)"))
    .addOption(
      new Option("--metrics-url <URL>", "or by its metrics server (base URL or /metrics URL)")
        .default(`http://127.0.0.1:${process.env.PROMETHEUS_METRICS_PORT ?? 9090}`, "http://127.0.0.1:9090")
        .conflicts("pid"),
    );
}

/** The master the options name; with `needStatus`, one whose metrics server answers. */
export async function locate(o: MasterOptions, needStatus: boolean): Promise<Master> {
  if (o.pid) {
    const pid = readPidfile(o.pid);
    let base: string | null = null;
    try {
      base = await findByPid(o.pid);
    } catch (err) {
      if (needStatus) throw err;
    }
    return { pid, base };
  }
  const base = metricsBase(o.metricsUrl);
  const status = await getJSON(`${base}/status.json`);
  return { pid: status.pid, base };
}

/**
 * Parses a command's arguments (a usage error exits 2) and runs it; a master that is gone, or does
 * not answer, is one line on stderr and exit 1.
 */
export async function runOnMaster(
  name: string,
  program: Command,
  argv: string[],
  run: () => Promise<void>,
): Promise<void> {
  try {
    program.parse(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    throw err;
  }
  try {
    await run();
  } catch (err) {
    if (!(err instanceof StatusError)) throw err;
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  }
}
