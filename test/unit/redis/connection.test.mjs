// Redis keys and connection settings.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  escapeGlob,
  instanceKey,
  instancePattern,
  reconnectDelay,
  redisTarget,
} from "../../../dist/redis/connection.js";
import { redisUrl } from "../../../dist/config/validators.js";

describe("Redis keys and connection settings", () => {
  it("matches the prefix literally when scanning", () => {
    assert.equal(instanceKey("app", "web-1:9090"), "app:gpe:instance:web-1:9090");
    assert.equal(instancePattern("a*b[1]"), "a\\*b\\[1\\]:gpe:instance:*");
    assert.equal(escapeGlob("plain"), "plain");
  });

  it("backs off reconnects from 200 ms up to 5 s", () => {
    assert.deepEqual([1, 2, 3, 6, 50].map(reconnectDelay), [200, 400, 800, 5000, 5000]);
  });

  it("describes the target without the password", () => {
    const parts = { redis_url: null, redis_host: "10.0.0.5", redis_port: 6380, redis_db: 2, redis_password: "x" };
    assert.equal(redisTarget(parts), "redis://10.0.0.5:6380/2");
    assert.equal(
      redisTarget({ ...parts, redis_url: "rediss://user:secret@cache.example:6390/1" }),
      "rediss://cache.example:6390/1",
    );
  });

  it("accepts redis:// and rediss:// URLs only, without echoing them", () => {
    assert.equal(redisUrl("rediss://:pw@h:1/0", "redis_url"), "rediss://:pw@h:1/0");
    assert.equal(redisUrl(null, "redis_url"), null);
    assert.throws(
      () => redisUrl("http://:pw@h", "redis_url"),
      (err) => /expected a redis:\/\/ or rediss:\/\//.test(err.message) && !err.message.includes("pw"),
    );
    assert.throws(() => redisUrl("not a url", "redis_url"), /not a URL/);
  });
});
