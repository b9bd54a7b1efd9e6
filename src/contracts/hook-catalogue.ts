// The hooks a config file may define: one row each, from which the settings table, the public
// types (src/index.ts), the validator of each hook's arity and docs/settings.md come.

/** What a hook receives, by name; src/index.ts gives each its public type. */
export type HookArg = "server" | "master" | "worker" | "forking" | "exited" | "req" | "res" | "newValue" | "oldValue";

/** What each argument gives a hook, for docs/signals-and-hooks.md (src/index.ts has the same as types). */
export const HOOK_ARGS: Record<HookArg, string> = {
  server:
    "the master: `pid`, `settings`, `app`, `log` (its pino logger) and `workers()` (each `pid`, `slot`, `age`, `state`, `startedAt`)",
  master: "the master as a worker sees it: `pid`, `settings` (without hooks) and `log` (the worker's logger)",
  worker: "the worker the hook runs in: `pid`, `ppid` (the master's), `slot`, `age`, `workerClass` and `log`",
  forking: "the worker about to be forked: `slot` and `age` (it has no pid yet)",
  exited: "the worker that exited: `pid`, `slot`, `age`, `state` and `startedAt`",
  req: "the request (`node:http` IncomingMessage)",
  res: "the response (`node:http` ServerResponse)",
  newValue: "the new worker count",
  oldValue: "the worker count before",
};

export interface HookSpec {
  name: string;
  /** Where it runs. */
  side: "master" | "worker";
  args: readonly HookArg[];
  /** The process waits for a returned promise before it goes on (otherwise it runs on at once). */
  awaited: boolean;
  when: string;
}

export const HOOKS = [
  { name: "on_starting", side: "master", args: ["server"], awaited: true, when: "before it binds and forks" },
  { name: "on_reload", side: "master", args: ["server"], awaited: true, when: "on HUP, before new workers start" },
  { name: "when_ready", side: "master", args: ["server"], awaited: false, when: "once every worker has booted" },
  {
    name: "pre_fork",
    side: "master",
    args: ["server", "forking"],
    awaited: false,
    when: "just before a worker is forked",
  },
  {
    name: "post_fork",
    side: "worker",
    args: ["master", "worker"],
    awaited: true,
    when: "just after it starts, before it loads the app",
  },
  { name: "post_worker_init", side: "worker", args: ["worker"], awaited: true, when: "after the app is loaded" },
  { name: "worker_int", side: "worker", args: ["worker"], awaited: false, when: "on INT or QUIT" },
  {
    name: "worker_abort",
    side: "worker",
    args: ["worker"],
    awaited: false,
    when: "on SIGABRT (sent when it timed out), if its event loop can still run",
  },
  {
    name: "pre_exec",
    side: "master",
    args: ["server"],
    awaited: false,
    when: "just before a new master is started by USR2",
  },
  {
    name: "pre_request",
    side: "worker",
    args: ["worker", "req"],
    awaited: false,
    when: "before the app sees a request",
  },
  {
    name: "post_request",
    side: "worker",
    args: ["worker", "req", "res"],
    awaited: false,
    when: "after the response is finished",
  },
  { name: "child_exit", side: "master", args: ["server", "exited"], awaited: false, when: "after a worker has exited" },
  {
    name: "worker_exit",
    side: "worker",
    args: ["master", "worker"],
    awaited: true,
    when: "just before it exits, after the app's close(); cut at graceful_timeout",
  },
  {
    name: "nworkers_changed",
    side: "master",
    args: ["server", "newValue", "oldValue"],
    awaited: false,
    when: "when the worker count changes",
  },
  {
    name: "on_exit",
    side: "master",
    args: ["server"],
    awaited: true,
    when: "just before it exits; cut at graceful_timeout",
  },
] as const satisfies readonly HookSpec[];

export type HookName = (typeof HOOKS)[number]["name"];
export const HOOK_NAMES: readonly HookName[] = HOOKS.map((h) => h.name);

/** One line for --help and docs/settings.md: the call as a user writes it, where and when it runs. */
export const hookHelp = (h: HookSpec): string =>
  `${h.name}(${h.args.join(", ")}): in the ${h.side}, ${h.when}.${h.awaited ? " May be async: awaited." : ""}`;
