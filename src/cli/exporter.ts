// `gpe-server exporter --multiproc-dir DIR`: the sidecar. Serves the merged store of a directory
// that another container's gpe-server writes, without running any app; forwards it to Redis too
// when Redis is enabled. It never removes or rewrites a file in the directory.
import type { Logger } from "pino";
import type { Settings } from "../config/settings.js";
import { StoreService } from "../exporter/store-service.js";
import { METRICS_SECURITY_SETTINGS, type StandaloneService, type StandaloneCommand } from "./standalone.js";

function createExporter(settings: Settings, log: Logger): StandaloneService {
  const store = new StoreService(settings, log, false);
  const gather = async () => store.families();
  return {
    gather,
    async started(port) {
      log.info(`Serving the metrics store in ${settings.multiproc_dir}`);
      await store.startForwarding(port, gather);
    },
    close: (graceful) => store.stopForwarding(graceful),
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
