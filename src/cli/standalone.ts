// Shared frame of the commands that only serve metrics (`aggregate`, `exporter`): parse the
// options they take from the settings table, resolve settings, serve /metrics, stop on a signal.
import { Command, CommanderError } from "commander";
import type { Logger } from "pino";
import { addSettingOptions, commonBehaviour, givenValues } from "./program.js";
import { resolveSettings } from "../config/load.js";
import type { Settings } from "../config/settings.js";
import { createLogger } from "../logging/logger.js";
import { createMetricsServer, listenMetrics, type MetricsSource } from "../exporter/server.js";
import { metricsSecurity } from "../exporter/security.js";

export interface StandaloneService extends MetricsSource {
  /** Called once the metrics server listens, with the port it got. */
  started?(port: number): Promise<void> | void;
  close(graceful: boolean): Promise<void>;
}

export interface StandaloneCommand {
  name: string;
  description: string;
  /** Rows of the settings table this command takes as options. */
  settings: readonly string[];
  create(settings: Settings, log: Logger): StandaloneService;
}

function fail(command: string, message: string): never {
  process.stderr.write(`gpe-server ${command}: ${message}\n`);
  process.exit(1);
}

export async function runStandalone(command: StandaloneCommand, argv: string[]): Promise<void> {
  const program = commonBehaviour(
    new Command(`gpe-server ${command.name}`).description(command.description),
    `gpe-server ${command.name}`,
  );
  const attributeOf = addSettingOptions(program, command.settings);
  try {
    program.parse(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    throw err;
  }
  let settings: Settings;
  try {
    settings = (await resolveSettings({ cli: givenValues(program, attributeOf) })).settings;
  } catch (err) {
    fail(command.name, (err as Error).message);
  }
  const { log, flush } = createLogger({
    errorlog: settings.errorlog,
    loglevel: settings.loglevel,
    format: settings.log_format,
    bindings: { role: command.name },
  });
  let security: ReturnType<typeof metricsSecurity>;
  try {
    security = metricsSecurity(settings);
  } catch (err) {
    fail(command.name, (err as Error).message);
  }
  const service = command.create(settings, log);
  const server = createMetricsServer(service, (err) => log.debug({ err }, "metrics collection failed"), security);
  let port: number;
  try {
    port = await listenMetrics(server, settings.metrics_bind, settings.metrics_port);
  } catch (err) {
    await service.close(false);
    fail(command.name, (err as Error).message);
  }
  log.info(
    `Metrics at: http${settings.metrics_certfile ? "s" : ""}://${settings.metrics_bind}:${port}/metrics (${process.pid})`,
  );
  await service.started?.(port);
  let stopping = false;
  const stop = (graceful: boolean) => {
    if (stopping) process.exit(0);
    stopping = true;
    server.close();
    server.closeAllConnections();
    void service.close(graceful).finally(() => {
      log.info(`Shutting down: ${command.name}`);
      flush();
      process.exit(0);
    });
  };
  process.on("SIGTERM", () => stop(true));
  process.on("SIGINT", () => stop(false));
  process.on("SIGQUIT", () => stop(false));
}

/** The settings that secure a metrics port; every command that serves one takes them. */
export const METRICS_SECURITY_SETTINGS = [
  "metrics_certfile",
  "metrics_keyfile",
  "metrics_client_cafile",
  "metrics_client_auth_required",
  "metrics_auth",
  "metrics_auth_file",
] as const;
