// `gpe-server exporter --multiproc-dir DIR`: the sidecar. Serves the merged store of a directory
// that another container's gpe-server writes, without running any app; forwards it to Redis too
// when Redis is enabled. It never removes or rewrites a file in the directory.
import type { Logger } from "pino";
import type { Settings } from "../config/settings.js";
import type { FamilyJSON } from "../metrics/family.js";
import { StoreCollector } from "../exporter/collector.js";
import { storeErrorsFamily } from "../exporter/master-metrics.js";
import { RedisForwarder } from "../redis/forwarder.js";
import { METRICS_SECURITY_SETTINGS, type MetricsService, type StandaloneCommand } from "./standalone.js";
import { defaultInstance } from "../redis/instance.js";

function createExporter(settings: Settings, log: Logger): MetricsService {
  const collector = new StoreCollector(settings.multiproc_dir, process.pid, log, false);
  let forwarder: RedisForwarder | null = null;
  const gather = async (): Promise<FamilyJSON[]> => [
    ...collector.collect(),
    storeErrorsFamily(collector.errors),
    ...(forwarder?.families() ?? []),
  ];
  return {
    gather,
    started(port) {
      log.info(`Serving the metrics store in ${settings.multiproc_dir}`);
      if (!settings.redis_enabled) return;
      forwarder = new RedisForwarder(settings, settings.instance ?? defaultInstance(port), gather, log);
      forwarder.start();
    },
    async close(graceful) {
      await forwarder?.close({ finalForward: graceful });
    },
  };
}

export const exporterCommand: StandaloneCommand = {
  name: "exporter",
  description:
    "Serve /metrics from a metrics store directory written by gpe-server in another process or container (a sidecar).",
  settings: [
    "config",
    "multiproc_dir",
    "metrics_port",
    "metrics_bind",
    "errorlog",
    "loglevel",
    ...METRICS_SECURITY_SETTINGS,
    "redis_enabled",
    "redis_url",
    "redis_host",
    "redis_port",
    "redis_db",
    "redis_key_prefix",
    "redis_ttl_seconds",
    "redis_forward_interval",
    "instance",
  ],
  create: createExporter,
};
