// The app every benchmark serves, as a plain listener. With BENCH_SERIES=N it also keeps N
// prom-client series of its own, to size the scrape.
import client from "prom-client";

const series = Number(process.env.BENCH_SERIES ?? 0);
if (series > 0) {
  const c = new client.Counter({ name: "bench_items_total", help: "Series to size the scrape.", labelNames: ["i"] });
  for (let i = 0; i < series; i++) c.inc({ i: String(i) });
}

export default function hello(req, res) {
  res.setHeader("content-type", "text/plain");
  res.end("Hello, world\n");
}
