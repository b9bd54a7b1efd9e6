// The app every benchmark serves, as a plain listener. GET /cpu?ms=N burns N ms of CPU (the slow
// requests of the mixed-load and thread scenarios). With BENCH_SERIES=N it also keeps N
// prom-client series of its own, to size the scrape.
import client from "prom-client";

const series = Number(process.env.BENCH_SERIES ?? 0);
if (series > 0) {
  const c = new client.Counter({ name: "bench_items_total", help: "Series to size the scrape.", labelNames: ["i"] });
  for (let i = 0; i < series; i++) c.inc({ i: String(i) });
}

function burn(ms) {
  const until = performance.now() + ms;
  let x = 0;
  while (performance.now() < until) x++;
  return x;
}

export default function hello(req, res) {
  if (req.url.length > 1 && req.url.startsWith("/cpu")) burn(Number(req.url.slice(req.url.indexOf("=") + 1)) || 100);
  res.setHeader("content-type", "text/plain");
  res.end("Hello, world\n");
}
