// One place that turns the Redis settings into an ioredis client. Clients never queue commands
// while disconnected (enableOfflineQueue: false): a forward that cannot be sent fails at once and
// the next interval sends the newest snapshot, so memory stays bounded however long Redis is away.
import { Redis, type RedisOptions } from "ioredis";
import type { Settings } from "../config/settings.js";

export type RedisSettings = Pick<Settings, "redis_url" | "redis_host" | "redis_port" | "redis_db" | "redis_password">;

/** Reconnect delay after the n-th failed attempt: 100 ms doubling, capped at 5 s. */
export const reconnectDelay = (attempt: number): number => Math.min(100 * 2 ** Math.min(attempt, 16), 5000);

export function redisTarget(s: RedisSettings): string {
  if (s.redis_url) {
    const url = new URL(s.redis_url);
    return `${url.protocol}//${url.host}${url.pathname.length > 1 ? url.pathname : ""}`;
  }
  return `redis://${s.redis_host}:${s.redis_port}/${s.redis_db}`;
}

export function createRedisClient(s: RedisSettings, extra: RedisOptions = {}): Redis {
  const options: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 5000,
    connectTimeout: 5000,
    retryStrategy: reconnectDelay,
    ...extra,
  };
  if (s.redis_url) {
    const url = new URL(s.redis_url);
    if (!url.password && s.redis_password) options.password = s.redis_password;
    return new Redis(s.redis_url, options);
  }
  return new Redis({
    ...options,
    host: s.redis_host,
    port: s.redis_port,
    db: s.redis_db,
    password: s.redis_password ?? undefined,
  });
}

/** Patterns for SCAN MATCH treat *?[]\ as special; a prefix is matched literally. */
export const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, "\\$&");

/** The key one host writes its snapshot under. */
export const instanceKey = (prefix: string, instance: string): string => `${prefix}:gpe:instance:${instance}`;
export const instancePattern = (prefix: string): string => `${escapeGlob(prefix)}:gpe:instance:*`;

export interface ConnectionWatch {
  readonly connected: boolean;
}

/**
 * Tracks whether the client is ready and logs one line when Redis cannot be reached or the
 * connection is lost, and one when it is back: never one line per reconnect attempt.
 */
export function watchConnection(
  client: Redis,
  target: string,
  log: { info(msg: string): void; warn(msg: string): void },
  { onReady, firstReady, consequence }: { onReady?: () => void; firstReady: string; consequence: string },
): ConnectionWatch & { close(): void } {
  let connected = false;
  let outageLogged = false;
  let closing = false;
  const outage = (why: string) => {
    if (closing || outageLogged) return;
    outageLogged = true;
    log.warn(
      `${connected ? "lost the connection to Redis" : "cannot reach Redis"} at ${target}: ${why}; ${consequence}`,
    );
  };
  client.on("ready", () => {
    connected = true;
    log.info(outageLogged ? `Redis connection restored (${target})` : firstReady);
    outageLogged = false;
    onReady?.();
  });
  client.on("error", (err: Error) => outage(err.message));
  client.on("close", () => {
    if (connected) outage("connection closed");
    connected = false;
  });
  return {
    get connected() {
      return connected;
    },
    close() {
      closing = true;
      client.disconnect();
    },
  };
}
