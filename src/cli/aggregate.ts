// `gpe-server aggregate`: one /metrics for every host that forwards to Redis, each series with
// an `instance` label. A scrape while Redis is unreachable fails (HTTP 500) rather than serving
// stale numbers, so Prometheus's `up` tells the truth.
import type { Logger } from "pino";
import type { Settings } from "../config/settings.js";
import type { FamilyJSON } from "../metrics/family.js";
import { createRedisClient, redisTarget, watchConnection } from "../redis/connection.js";
import { FleetReader } from "../redis/fleet-reader.js";
import { mergeFleet } from "../redis/fleet.js";
import { METRICS_SECURITY_SETTINGS, type StandaloneService, type StandaloneCommand } from "./standalone.js";
import { METRICS, familyHead } from "../metrics/catalogue.js";

function createAggregator(settings: Settings, log: Logger): StandaloneService {
  const target = redisTarget(settings);
  const client = createRedisClient(settings);
  const connection = watchConnection(client, target, log, {
    firstReady: `Reading instances from Redis at ${target} (prefix "${settings.redis_key_prefix}")`,
    consequence: "scrapes fail until it is back",
  });
  client.connect().catch(() => {
    // logged by the connection watch; ioredis keeps retrying
  });
  const reader = new FleetReader(client, settings.redis_key_prefix);
  const reported = new Set<string>();
  let skipped = 0;
  return {
    async gather(): Promise<FamilyJSON[]> {
      if (!connection.connected) throw new Error(`Redis at ${target} is unreachable`);
      const { snapshots, errors } = await reader.read();
      for (const { key, reason } of errors) {
        skipped++;
        if (!reported.has(key)) {
          reported.add(key);
          log.warn(`skipping Redis key ${key}: ${reason}`);
        }
      }
      return [
        {
          ...familyHead(METRICS.aggregatorInstances),
          values: [{ labels: {}, value: snapshots.length }],
        },
        {
          ...familyHead(METRICS.aggregatorSkipped),
          values: [{ labels: {}, value: skipped }],
        },
        ...mergeFleet(snapshots),
      ];
    },
    async close() {
      connection.close();
    },
  };
}

export const aggregateCommand: StandaloneCommand = {
  name: "aggregate",
  description:
    "Serve /metrics for every gpe-server instance that forwards to Redis, each series labelled with its instance.",
  settings: [
    "config",
    "redis_url",
    "redis_host",
    "redis_port",
    "redis_db",
    "redis_key_prefix",
    "metrics_port",
    "metrics_bind",
    "errorlog",
    "loglevel",
    ...METRICS_SECURITY_SETTINGS,
  ],
  create: createAggregator,
};
