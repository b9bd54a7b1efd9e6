// USR2: a new master started on the same sockets. The old one passes each listening socket, then
// the metrics socket, over the fork IPC channel (inherit.ts is the receiving side).
import { type ChildProcess, fork } from "node:child_process";
import type { Logger } from "pino";
import type { BoundSocket } from "./bound-sockets.js";
import { Pidfile } from "./pidfile.js";

export function startSuccessor(
  argv: readonly string[],
  listeners: readonly BoundSocket[],
  metricsHandle: object | null,
): ChildProcess {
  const successor = fork(argv[0]!, argv.slice(1), {
    env: { ...process.env, GPE_INHERIT: String(listeners.length) },
    stdio: ["inherit", "inherit", "inherit", "ipc"],
    execArgv: process.execArgv,
  });
  listeners.forEach((l, index) => {
    successor.send({ cmd: "gpe:inherit", index, address: l.bind.text }, l.handle as never);
  });
  successor.send({ cmd: "gpe:inherit-metrics", present: Boolean(metricsHandle) }, metricsHandle as never);
  return successor;
}

/**
 * USR2 as the runbook has it: the pidfile moves to FILE.2, the successor starts; if it dies before
 * this master is told to stop, the pidfile comes back and this master carries on.
 */
export function upgradeMaster(o: {
  argv: readonly string[];
  listeners: readonly BoundSocket[];
  metricsHandle: object | null;
  pidfile: Pidfile | null;
  log: Logger;
  /** The successor exited; `stopping` says whether this master was on its way out anyway. */
  ended: () => { stopping: boolean };
}): ChildProcess {
  const oldPidfile = o.pidfile ? `${o.pidfile.path}.2` : null;
  if (o.pidfile && oldPidfile) o.pidfile.rename(oldPidfile);
  const successor = startSuccessor(o.argv, o.listeners, o.metricsHandle);
  successor.once("exit", (code) => {
    if (o.ended().stopping) return;
    o.log.error(`the new master (pid ${successor.pid}) exited with code ${code}; this master carries on`);
    if (o.pidfile && oldPidfile) new Pidfile(oldPidfile).rename(o.pidfile.path);
  });
  o.log.info(`started a new master with pid ${successor.pid}; send TERM to this one (${process.pid}) once it serves`);
  return successor;
}
