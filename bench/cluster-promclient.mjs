// The competitor users build today: node:cluster with prom-client in every worker (a request
// counter and a latency histogram) and an AggregatorRegistry in the primary serving /metrics.
//   node bench/cluster-promclient.mjs PORT WORKERS METRICS_PORT [HOSTS]
import cluster from "node:cluster";
import http from "node:http";
import client from "prom-client";
import hello from "./hello.mjs";

const [port, workers, metricsPort] = process.argv.slice(2, 5).map(Number);
const hosts = (process.argv[5] ?? "127.0.0.1").split(",");
if (cluster.isPrimary) {
  const aggregator = new client.AggregatorRegistry();
  for (let i = 0; i < workers; i++) cluster.fork();
  http
    .createServer(async (_req, res) => {
      try {
        const body = await aggregator.clusterMetrics();
        res.writeHead(200, { "content-type": aggregator.contentType }).end(body);
      } catch (err) {
        res.writeHead(500).end(String(err));
      }
    })
    .listen(metricsPort, "127.0.0.1");
  process.on("SIGTERM", () => process.exit(0));
} else {
  const requests = new client.Counter({
    name: "http_requests_total",
    help: "Requests.",
    labelNames: ["method", "status"],
  });
  const duration = new client.Histogram({
    name: "http_request_duration_seconds",
    help: "Latency.",
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
  });
  const instrumented = (req, res) => {
    const start = performance.now();
    res.on("finish", () => {
      requests.inc({ method: req.method, status: res.statusCode });
      duration.observe((performance.now() - start) / 1000);
    });
    hello(req, res);
  };
  for (const host of hosts) http.createServer(instrumented).listen(port, host);
}
