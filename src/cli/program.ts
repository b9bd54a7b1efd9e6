// The command line, generated from the settings table.
import { Command, Option } from "commander";
import { SETTINGS } from "../config/settings.js";
import { splitArgs } from "../config/validators.js";

export { splitArgs };

export interface ParsedCommandLine {
  /** Raw values of settings given on the command line, keyed by setting name. */
  values: Record<string, unknown>;
  app: string | undefined;
  actions: { checkConfig: boolean; printConfig: boolean };
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function buildProgram(version: string): { program: Command; attributeOf: Map<string, string> } {
  const program = new Command("gpe-server")
    .usage("[options] APP")
    .description(
      "Pre-fork HTTP server for Node.js apps, with Prometheus metrics built in.\nAPP is path/to/app.js, path/to/app.js:name or path/to/app.js:factory().",
    )
    .argument("[APP]", "the app module")
    .version(version, "-v, --version", "print the version and exit");
  commonBehaviour(program, "gpe-server");
  program.addHelpText(
    "after",
    "\nOther commands (each has --help):\n  gpe-server aggregate   serve /metrics for every instance that forwards to Redis\n  gpe-server exporter    serve /metrics from a store directory, without an app (a sidecar)\n  gpe-server status      each worker's state, load and restarts, from a running master\n  gpe-server reload      reload a running master's app (HUP), waiting until the new workers serve\n  gpe-server scale N     run exactly N workers\n  gpe-server stop        stop a running master gracefully (TERM) and wait for it to exit\n  gpe-server logs        a running master's error and access logs (--follow, --worker N, --out, --err)\n",
  );
  const attributeOf = addSettingOptions(program);
  program
    .addOption(
      new Option("--check-config", "check the configuration and the app, print what is wrong, exit 0 or 1").helpGroup(
        "Config:",
      ),
    )
    .addOption(new Option("--print-config", "print the resolved settings and exit").helpGroup("Config:"));
  return { program, attributeOf };
}

/** Adds one option per setting row that has a flag (all rows, or only those named). */
export function addSettingOptions(program: Command, only?: readonly string[]): Map<string, string> {
  const attributeOf = new Map<string, string>();
  for (const spec of SETTINGS) {
    if (!("flag" in spec) || !spec.flag) continue;
    if (only && !only.includes(spec.name)) continue;
    const option = new Option(spec.flag, `${spec.help}${helpSuffix(spec)}`).helpGroup(`${spec.section}:`);
    if (spec.cli === "repeat") option.argParser(collect);
    program.addOption(option);
    attributeOf.set(option.attributeName(), spec.name);
  }
  return attributeOf;
}

/** " [default: X] [env: A, B]" after a setting's help, as gunicorn's --help shows them. */
function helpSuffix(spec: { default: unknown; env?: string[]; cli?: string }): string {
  const d = spec.default;
  const shown = Array.isArray(d) ? d.join(",") : d === null || d === "" || d === false ? null : String(d);
  const parts = [
    shown === null ? "" : ` [default: ${shown}]`,
    spec.env?.length ? ` [env: ${spec.env.join(", ")}]` : "",
  ];
  return parts.join("");
}

/** The values of settings actually given on the command line, keyed by setting name. */
export function givenValues(program: Command, attributeOf: ReadonlyMap<string, string>): Record<string, unknown> {
  const opts = program.opts();
  const values: Record<string, unknown> = {};
  for (const [attribute, name] of attributeOf) {
    if (program.getOptionValueSource(attribute) === "cli") values[name] = opts[attribute];
  }
  return values;
}

/** Commander settings every gpe-server command shares: one-line errors, exit codes, no extras. */
export function commonBehaviour(program: Command, name: string): Command {
  return program
    .helpOption("-h, --help", "show this help and exit")
    .allowExcessArguments(false)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      outputError: (text, write) =>
        write(
          `${name}: ${text
            .replace(/^error: /, "")
            .trim()
            .replace(/\s*\n\s*/g, " ")}\n`,
        ),
    });
}

/** Parses argv; only values actually given count, so lower-precedence sources can fill the rest. */
export function parseCommandLine(argv: readonly string[], version: string, { from = "user" } = {}): ParsedCommandLine {
  const { program, attributeOf } = buildProgram(version);
  program.parse(argv as string[], { from: from as "user" });
  const opts = program.opts();
  return {
    values: givenValues(program, attributeOf),
    app: program.args[0],
    actions: { checkConfig: Boolean(opts.checkConfig), printConfig: Boolean(opts.printConfig) },
  };
}
