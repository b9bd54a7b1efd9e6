// `gpe-server reload | scale N | stop`: act on a running master found by its pidfile or its metrics
// URL, wait until the master has done it, and say what changed. Signals do the acting (HUP, TERM,
// TTIN/TTOU one step at a time); /status.json is how the command sees the result.
import { Command, InvalidArgumentError, Option } from "commander";
import { commonBehaviour } from "./program.js";
import { alive } from "../platform/proc.js";
import { StatusError, deployLines, getJSON } from "./status.js";
import { requestReload } from "../arbiter/reload-request.js";
import { addMasterOptions, locate, runOnMaster, type Master, type MasterOptions } from "./find-master.js";
import type { StatusJSON } from "../exporter/status-board.js";

const POLL_MS = 100;

interface ControlOptions extends MasterOptions {
  timeout: number;
  /** reload: this reload is a canary, whatever the master's reload_strategy. */
  canary?: boolean;
  /** reload: wait for a canary's verdict. */
  wait?: boolean;
}

const ACTIONS: Record<
  string,
  { summary: string; args?: string; run(m: Master, o: ControlOptions, arg?: string): Promise<string> }
> = {
  reload: { summary: "reload the app: new workers start, the old ones finish their requests (HUP)", run: reload },
  scale: { summary: "run exactly N workers (TTIN/TTOU, one step at a time)", args: "<N>", run: scale },
  stop: { summary: "stop gracefully and wait for the master to exit (TERM)", run: stop },
};

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new StatusError(
      code === "ESRCH" ? `master ${pid} is gone` : `cannot signal master ${pid} (${code}): run as its user`,
    );
  }
}

/** Polls until `done` gives a value, or fails with `late` after the timeout. */
async function until<T>(seconds: number, late: string, done: () => Promise<T | null> | T | null): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await done();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new StatusError(late);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const status = (m: Master): Promise<StatusJSON> => getJSON(`${m.base}/status.json`, 2000);
const serving = (s: StatusJSON) => s.workers.filter((w) => w.state === "running");
const pids = (s: StatusJSON) => serving(s).map((w) => w.pid);

async function stop(m: Master, o: ControlOptions): Promise<string> {
  const started = Date.now();
  signal(m.pid, "SIGTERM");
  await until(o.timeout, `master ${m.pid} still runs ${o.timeout} s after TERM`, () => (alive(m.pid) ? null : true));
  return `stopped master ${m.pid} in ${((Date.now() - started) / 1000).toFixed(1)} s`;
}

async function reload(m: Master, o: ControlOptions): Promise<string> {
  if (!m.base) {
    if (o.canary)
      throw new StatusError(`a canary reload needs master ${m.pid}'s metrics port: it is judged on its metrics`);
    signal(m.pid, "SIGHUP");
    return `sent HUP to master ${m.pid}: reloading (no metrics port to watch it finish)`;
  }
  const first = await status(m);
  if (first.deploy === undefined) {
    if (o.canary) throw new StatusError(`master ${m.pid} is of a version without canary reloads`);
  } else if (o.canary || o.wait) {
    return await deploy(m, o, first);
  }
  const before = new Set(pids(first));
  signal(m.pid, "SIGHUP");
  const after = await until(
    o.timeout,
    `master ${m.pid} has not finished reloading after ${o.timeout} s (a new worker failing to boot keeps the old ones: see its error log)`,
    async () => {
      const s = await status(m);
      // The master's reload_strategy is canary: its verdict may take minutes.
      if (s.deploy?.inProgress?.phase === "canary") return "canary";
      const now = s.workers.map((w) => w.pid);
      const fresh = pids(s);
      return now.every((p) => !before.has(p)) && fresh.length >= s.summary.target ? fresh : null;
    },
  );
  if (after === "canary")
    return `master ${m.pid}: a canary started (reload_strategy canary); gpe-server status shows it, reload --wait follows it`;
  return `reloaded master ${m.pid}: workers ${[...before].join(", ")} -> ${after.join(", ")}`;
}

/**
 * A reload followed through the master's deploy status: its progress on stdout, and its end as the
 * result (a rolled-back canary or a failed boot is an error: exit 1).
 */
async function deploy(m: Master, o: ControlOptions, first: StatusJSON): Promise<string> {
  const seq = first.deploy!.last?.seq ?? 0;
  if (o.canary) requestReload(m.pid, "canary");
  signal(m.pid, "SIGHUP");
  let shown = "";
  let deadline = Date.now() + o.timeout * 1000;
  for (;;) {
    const s = await status(m);
    const d = s.deploy!;
    if (d.last && d.last.seq > seq) {
      const { generation, strategy, outcome, why } = d.last;
      const line = `master ${m.pid}: generation ${generation} (${strategy}) ${outcome.replace("_", " ")}: ${why}`;
      if (outcome === "promoted") return line;
      throw new StatusError(line);
    }
    const progress = deployLines(d).find((l) => l.startsWith("deploy:"));
    if (progress) {
      if (!o.wait && d.inProgress?.phase === "canary")
        return `master ${m.pid}: canary of generation ${d.inProgress.generation} started (--wait follows it to its verdict)`;
      // A canary has its period: the timeout counts from the end of it.
      const left = d.inProgress?.secondsLeft;
      if (left !== null && left !== undefined) deadline = Math.max(deadline, Date.now() + (left + o.timeout) * 1000);
      if (progress !== shown) process.stdout.write(`${progress}\n`);
      shown = progress;
    }
    if (Date.now() > deadline) throw new StatusError(`master ${m.pid} has not finished reloading after ${o.timeout} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function scale(m: Master, o: ControlOptions, arg?: string): Promise<string> {
  const wanted = Number(arg);
  const { target: from, min, max } = (await status(m)).summary;
  if (min !== null && max !== null && (wanted < min || wanted > max))
    throw new StatusError(
      `master ${m.pid} runs an adaptive pool of ${min} to ${max} workers: ${wanted} is outside it (change workers_min and workers_max, then reload)`,
    );
  for (let target = from; target !== wanted; ) {
    const next = target + (wanted > target ? 1 : -1);
    signal(m.pid, wanted > target ? "SIGTTIN" : "SIGTTOU");
    target = await until(5, `master ${m.pid} did not move from ${target} workers`, async () => {
      const t = (await status(m)).summary.target;
      return t === next ? t : null;
    });
  }
  const final = await until(
    o.timeout,
    `master ${m.pid} does not run ${wanted} workers after ${o.timeout} s`,
    async () => {
      const s = await status(m);
      return s.workers.length === wanted && serving(s).length === wanted ? pids(s) : null;
    },
  );
  return from === wanted
    ? `master ${m.pid} already runs ${wanted} workers (${final.join(", ")})`
    : `scaled master ${m.pid} from ${from} to ${wanted} workers (${final.join(", ")})`;
}

function workerCount(value: string): string {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1024)
    throw new InvalidArgumentError("expected a number of workers from 1 to 1024");
  return value;
}

export async function runControl(action: string, argv: string[]): Promise<void> {
  const spec = ACTIONS[action]!;
  const name = `gpe-server ${action}`;
  const program = commonBehaviour(new Command(name), name).description(`${spec.summary}.`);
  if (spec.args) program.argument(spec.args, "how many workers", workerCount);
  addMasterOptions(program).addOption(
    new Option("--timeout <SECONDS>", "how long to wait for the master to finish").default(60).argParser((v) => {
      if (!(Number(v) > 0)) throw new InvalidArgumentError("expected seconds");
      return Number(v);
    }),
  );
  if (action === "reload")
    program
      .addOption(new Option("--canary", "make this reload a canary, whatever the master's reload_strategy"))
      .addOption(
        new Option(
          "--wait",
          "follow a canary to its verdict: its figures as they come, exit 0 when promoted, 1 when rolled back",
        ),
      );
  await runOnMaster(name, program, argv, async () => {
    const o = program.opts<ControlOptions>();
    const master = await locate(o, action === "scale");
    process.stdout.write(`${await spec.run(master, o, program.args[0])}\n`);
  });
}
