// An app with its own prom-client metrics: gpe-server merges them across workers with the rest.
// Counters and histograms are summed; a gauge's `aggregator` says how its workers combine
// ("worker" keeps one series per worker_id).
//   npx gpe-server -w 2 examples/custom-metrics.mjs && curl -s :9090/metrics | grep shop_
import client from "prom-client";

const orders = new client.Counter({ name: "shop_orders_total", help: "Orders placed.", labelNames: ["product"] });
const basket = new client.Histogram({
  name: "shop_basket_value_euros",
  help: "Basket value.",
  buckets: [5, 20, 50, 100],
});
const cacheEntries = new client.Gauge({
  name: "shop_cache_entries",
  help: "Entries in this worker's cache.",
  aggregator: "worker",
});
const cache = new Map();

export default function app(req, res) {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/order") {
    const product = url.searchParams.get("product") ?? "book";
    orders.inc({ product });
    basket.observe(Number(url.searchParams.get("value") ?? 12));
    cache.set(product, Date.now());
    cacheEntries.set(cache.size);
    res.end(`ordered ${product}\n`);
    return;
  }
  res.end("POST-free shop: try /order?product=book&value=12\n");
}
