// The original exporter's basic configuration, in TypeScript.
//   npx gpe-server -c examples/gunicorn.conf.ts examples/hello.js
import { defineConfig } from "gpe-server";

// Like the exporter's gunicorn.conf.py, defaults for the metrics environment are set here;
// gpe-server reads the environment after this file has run.
process.env.PROMETHEUS_METRICS_PORT ??= "9090";
process.env.PROMETHEUS_BIND_ADDRESS ??= "0.0.0.0";
process.env.PROMETHEUS_MULTIPROC_DIR ??= "/tmp/prometheus_multiproc";
process.env.GUNICORN_WORKERS ??= "2";

export default defineConfig({
  bind: ["127.0.0.1:8000"],
  worker_class: "gunicorn_prometheus_exporter.PrometheusWorker",
  timeout: 30,
  keepalive: 2,
  loglevel: "info",
  when_ready(server) {
    server.settings; // typed: every setting of the table
  },
  post_fork(_server, worker) {
    worker.slot; // the stable slot (1..N) that becomes worker_id="worker_<slot>"
  },
});
