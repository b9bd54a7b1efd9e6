// The original exporter's Redis forwarding example, in TypeScript: this host forwards its merged
// metrics to Redis, and `gpe-server aggregate` serves every host's metrics from there.
//   npx gpe-server -c examples/gunicorn_redis.conf.ts examples/hello.js
//   npx gpe-server aggregate --redis-url redis://127.0.0.1:6379/0 --metrics-port 9100
import { defineConfig } from "gpe-server";

// As in the exporter's gunicorn_redis_based.conf.py, the environment carries the metrics and
// Redis settings; gpe-server reads it after this file has run, so these are only defaults.
process.env.PROMETHEUS_MULTIPROC_DIR ??= "/tmp/prometheus_multiproc";
process.env.PROMETHEUS_METRICS_PORT ??= "9091";
process.env.PROMETHEUS_BIND_ADDRESS ??= "127.0.0.1";
process.env.GUNICORN_WORKERS ??= "2";
process.env.REDIS_ENABLED ??= "true";
process.env.REDIS_HOST ??= "127.0.0.1";
process.env.REDIS_PORT ??= "6379";
process.env.REDIS_DB ??= "0";
process.env.REDIS_KEY_PREFIX ??= "gunicorn";
process.env.REDIS_TTL_SECONDS ??= "300";
process.env.REDIS_FORWARD_INTERVAL ??= "30";
// REDIS_PASSWORD comes from the environment (or a secret manager), never from the command line.

export default defineConfig({
  bind: ["0.0.0.0:8000"],
  worker_class: "gunicorn_prometheus_exporter.PrometheusWorker",
  // Unlike the original's pid-only keys, hosts never collide: each forwards under its instance
  // name, hostname:metrics-port unless `instance` (or --instance, GPE_INSTANCE) says otherwise.
  when_ready(server) {
    server.log.info(`forwarding to Redis every ${server.settings.redis_forward_interval}s`);
  },
});
