// The baseline: node:cluster with N workers serving the same app, nothing else.
//   node bench/bare-cluster.mjs PORT WORKERS [HOSTS]   (HOSTS: loopback addresses, comma-separated)
import cluster from "node:cluster";
import http from "node:http";

import { benchHandler } from "./lib/bench-app.mjs";

const app = await benchHandler();

const [port, workers] = process.argv.slice(2, 4).map(Number);
const hosts = (process.argv[4] ?? "127.0.0.1").split(",");
if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let online = 0;
  cluster.on("listening", () => {
    if (++online === workers) console.log("ready");
  });
  process.on("SIGTERM", () => {
    for (const w of Object.values(cluster.workers)) w.kill();
    process.exit(0);
  });
} else {
  for (const host of hosts) http.createServer(app).listen(port, host);
}
