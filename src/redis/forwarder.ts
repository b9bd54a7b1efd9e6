// Forwards this host's merged metrics to Redis: one SET with a TTL per interval, in a MULTI, under
// a key named by the instance. Only the newest snapshot exists (never a queue); while Redis is
// unreachable a forward is skipped and counted and the client reconnects with backoff.
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { metricsToJSON, type FamilyJSON } from "../metrics/family.js";
import { SimpleHistogram } from "../metrics/simple-histogram.js";
import type { Settings } from "../config/settings.js";
import { createRedisClient, instanceKey, redisTarget, watchConnection, type ConnectionWatch } from "./connection.js";
import { FLEET_FORMAT, type FleetSnapshot } from "./fleet.js";
import { METRICS, familyHead } from "../metrics/catalogue.js";

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
export const FORWARD_ERROR_REASONS = ["disconnected", "busy", "failed"] as const;
type ForwardErrorReason = (typeof FORWARD_ERROR_REASONS)[number];

export type ForwarderSettings = Pick<
  Settings,
  | "redis_url"
  | "redis_host"
  | "redis_port"
  | "redis_db"
  | "redis_password"
  | "redis_key_prefix"
  | "redis_ttl_seconds"
  | "redis_forward_interval"
>;

export class RedisForwarder {
  private readonly client: Redis;
  private readonly key: string;
  private readonly target: string;
  private readonly connection: ConnectionWatch & { close(): void };
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly errors = new Map<ForwardErrorReason, number>(FORWARD_ERROR_REASONS.map((r) => [r, 0]));
  private readonly duration = new SimpleHistogram(
    METRICS.redisDuration.name,
    METRICS.redisDuration.help,
    DURATION_BUCKETS,
  );
  private lastSuccess = 0;

  constructor(
    private readonly settings: ForwarderSettings,
    readonly instance: string,
    private readonly gather: () => Promise<FamilyJSON[]>,
    private readonly log: Logger,
  ) {
    this.key = instanceKey(settings.redis_key_prefix, instance);
    this.target = redisTarget(settings);
    this.client = createRedisClient(settings);
    this.connection = watchConnection(this.client, this.target, log, {
      firstReady: `Forwarding metrics to Redis at ${this.target} as instance "${instance}"`,
      consequence: "the app keeps serving; forwarding retries in the background",
      onReady: () => void this.forward(),
    });
  }

  start(): void {
    this.client.connect().catch(() => {
      // logged by the error handler; ioredis keeps retrying
    });
    this.timer = setInterval(() => void this.forward(), this.settings.redis_forward_interval * 1000);
    this.timer.unref();
  }

  /** Writes the current snapshot; a forward already under way (slow Redis) makes this one a no-op. */
  forward(): Promise<void> {
    if (this.inFlight) {
      this.count("busy");
      return this.inFlight;
    }
    if (!this.connection.connected) {
      this.count("disconnected");
      return Promise.resolve();
    }
    this.inFlight = this.send().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async send(): Promise<void> {
    const started = performance.now();
    try {
      const snapshot: FleetSnapshot = {
        format: FLEET_FORMAT,
        instance: this.instance,
        written: Date.now(),
        families: await this.gather(),
      };
      const results = await this.client
        .multi()
        .set(this.key, metricsToJSON(snapshot), "EX", this.settings.redis_ttl_seconds)
        .exec();
      const failed = results?.find(([err]) => err)?.[0];
      if (!results || failed) throw failed ?? new Error("transaction aborted");
      this.duration.observe((performance.now() - started) / 1000);
      this.lastSuccess = Date.now();
    } catch (err) {
      this.count("failed");
      this.log.debug({ err }, "forward to Redis failed");
    }
  }

  private count(reason: ForwardErrorReason): void {
    this.errors.set(reason, this.errors.get(reason)! + 1);
  }

  /** Stops the timer; after a graceful stop, writes once more (bounded by `waitMs`) so the last counts reach Redis. */
  async close({ finalForward, waitMs = 2000 }: { finalForward: boolean; waitMs?: number }): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (finalForward && this.connection.connected) {
      await Promise.race([this.inFlight ?? Promise.resolve(), delay(waitMs)]);
      await Promise.race([this.forward(), delay(waitMs)]);
    }
    this.connection.close();
  }

  families(): FamilyJSON[] {
    return [
      {
        ...familyHead(METRICS.redisConnected),
        values: [{ labels: {}, value: this.connection.connected ? 1 : 0 }],
      },
      {
        ...familyHead(METRICS.redisErrors),
        values: [...this.errors].map(([reason, value]) => ({ labels: { reason }, value })),
      },
      this.duration.family(),
      {
        ...familyHead(METRICS.redisLastForward),
        values: [{ labels: {}, value: this.lastSuccess / 1000 }],
      },
    ];
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
