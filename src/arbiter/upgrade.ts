// USR2: a new master started on the same sockets. The old one passes each listening socket, then
// the metrics socket, over the fork IPC channel (inherit.ts is the receiving side).
import { type ChildProcess, fork } from "node:child_process";
import type { Listener } from "./listeners.js";

export function startSuccessor(
  argv: readonly string[],
  listeners: readonly Listener[],
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
