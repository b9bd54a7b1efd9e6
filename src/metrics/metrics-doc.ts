// docs/metrics.md, rendered from the metrics catalogue.
import { METRICS, type MetricSpec } from "./catalogue.js";

const cell = (s: string) => s.replace(/\|/g, "\\|");

const INTRO = `# Metrics

Generated from \`src/metrics/catalogue.ts\` by \`npm run docs\`; do not edit by hand.

Served by the master on \`--metrics-port\` (9090, \`PROMETHEUS_METRICS_PORT\`) at \`/metrics\`, in the
Prometheus text format, OpenMetrics, or the protobuf format (by \`Accept\`), gzip when asked.
\`/healthz\` answers \`ok\`; \`/readyz\` answers 200 while a worker serves, 503 from the moment a
stop begins (see [deployment.md](deployment.md#kubernetes)).

**Native histograms.** A Prometheus started with \`--enable-feature=native-histograms\` asks for the
protobuf format; in it, \`gunicorn_worker_request_duration_seconds\` and
\`gunicorn_route_request_duration_seconds\` are native (sparse, exponential) histograms as well as
classic buckets, merged over workers and over workers that exited exactly as the classic ones are.
Their resolution is \`--metrics-native-schema\` (3: 8 buckets per power of two, each about 9 % wider
than the last). Query them without the \`_bucket\` suffix:
\`histogram_quantile(0.99, sum(rate(gunicorn_worker_request_duration_seconds[5m])))\`. The text
formats are as before.

**Exemplars.** A request that carries a W3C \`traceparent\` header leaves its trace id as an
exemplar on the latency bucket it landed in (\`gunicorn_worker_request_duration_seconds_bucket\`)
and on its method's request counter (\`gunicorn_worker_requests_total\`, on the series of the
status it got): the latest one per bucket and per method, per worker. They are in the OpenMetrics
exposition, which Prometheus asks for by default (store them with
\`--enable-feature=exemplar-storage\`), and in the protobuf one; the text format has no place for
them. A Prometheus 2.42 that scrapes native histograms keeps the counter's exemplars only (later
versions keep a native histogram's too). The dashboard's p99 panel shows them: from a slow point,
open its trace. Nothing is recorded for a request without the header.

\`worker_id\` is the worker's **slot**, \`worker_1\` ... \`worker_N\`. A replacement worker takes the
slot of the one it replaces, so the number of series is bounded by the worker count however many
workers come and go. Counters of a worker that exits are folded into the master's archive: a
merged counter never goes down.
`;

const GROUP_NOTES: Partial<Record<MetricSpec["group"], string>> = {
  Requests: `Recorded by workers, merged by the master. \`method\` is GET, POST, PUT, DELETE, PATCH, HEAD,
OPTIONS or \`other\`. \`endpoint\` is the route template the request matched, with the paths of
the routers it is mounted under ([how a route's name is found](#route-names)), else the path as
the client sent it; at most \`--metrics-endpoint-limit\` (100) distinct values per worker, the rest
\`other\`.`,
  Workers: "Sampled by the master, for every worker, idle or blocked.",
  Saturation: "How busy the pool is. How to read and autoscale on them: [operability.md](operability.md).",
  "The master":
    "Also prom-client's default metrics of the master process, as `gunicorn_master_process_*` and `gunicorn_master_nodejs_*`.",
  "Redis forwarding": "With `--redis`.",
  Aggregator: "Served by `gpe-server aggregate`, which also adds an `instance` label to every forwarded series.",
};

const OUTRO = `
## Route names

A route is named by its template, never by the path of one request, and with the paths of every
router it is mounted under, so that two routers with an \`/items/:id\` each are two routes:

| framework | where the template comes from |
|---|---|
| Express | the route that matched (\`req.route.path\`) after the mount paths of its routers and sub-apps (\`req.baseUrl\`), both kept as they were at the match: \`app.use("/api/v1", api)\`, \`api.use("/items", items)\`, \`items.get("/:id")\` is \`/api/v1/items/:id\`, also for an error passed on to the app's handler after the routers were left |
| Fastify | the route's URL as Fastify registered it, plugin prefixes included (\`routeOptions.url\`) |
| Koa with @koa/router | the matched layer's path, router prefixes and nested \`router.use()\` included (\`ctx._matchedRoute\`) |
| Hono | the route Hono's own router matches for the request's method and path, \`app.route()\` mount paths and \`basePath\` included; a method's route rather than the \`use()\` middleware before it |
| anything else | no template: the path as the client sent it (before any router rewrote \`req.url\`), without the query string, under the endpoint limit above; for the per-route metrics, \`route="other"\` |

## Per-route metrics

\`gunicorn_route_requests_total{method,route,status}\` and
\`gunicorn_route_request_duration_seconds{method,route}\` are the RED method per endpoint with no
code in the app: rate and errors from the counter (\`status\` is the class, \`5xx\` the errors),
duration from the histogram. \`route\` is, in this order: the app's own name for the request
(\`import { setRoute } from "gpe-server"; setRoute(req, "/orders/:id")\`), the framework's template
(above), the first \`--metrics-routes\` pattern that matches the path (\`/users/:id\`, \`/files/*\`:
for a plain handler), else \`other\`. A raw path is never a label.

They have no \`worker_id\`: the merge sums the workers (and the dead ones in the archive), and the
per-worker view is \`gunicorn_worker_request_duration_seconds\`. A label per worker would multiply
the series by the worker count for a breakdown nobody reads per route. At most
\`--metrics-endpoint-limit\` (100) routes per worker, the rest \`other\`; so the series count is at
most, for R routes (\`other\` included), M methods seen (8 at most), and B buckets of
\`--metrics-buckets\` (15 by default):

    R x M x 5 (status classes) for the counter  +  R x M x (B + 3) for the histogram

An API of 20 routes served with GET and POST: 20 x 2 x 5 + 20 x 2 x 18 = 920 series, whatever the
number of workers. \`--no-metrics-per-route\` turns them off.

The access log's \`%(r)s\`, \`%(U)s\` and \`%(q)s\` and the timeout diagnostics also name the request
as the client sent it: Express strips a mount path from \`req.url\` while it routes, and the log
used to show \`GET /\` for a request to \`/users\`.

## The app's own metrics

Metrics the app registers with prom-client (its default registry, in any worker or thread) are
merged into the same exposition: counters and histograms summed over workers; gauges by the
metric's \`aggregator\` option (\`sum\` by default, \`min\`, \`max\`, \`average\`, \`first\`, \`omit\`), or
\`aggregator: "worker"\` to keep one series per \`worker_id\`. See \`examples/custom-metrics.mjs\`.

## Freshness

Each worker writes its numbers to the store at most every \`--metrics-flush-interval\` (1 s), at a
graceful exit, and when the master asks just before a scrape (it waits 2 ms at most, so a busy
worker never delays a scrape). A worker killed with SIGKILL loses at most one interval of increments.
`;

export function renderMetricsDoc(): string {
  let out = INTRO;
  const specs: MetricSpec[] = Object.values(METRICS);
  for (const group of [...new Set(specs.map((s) => s.group))]) {
    out += `\n## ${group}\n\n${GROUP_NOTES[group] ? `${GROUP_NOTES[group]}\n\n` : ""}`;
    out += "| family | type | labels | changes when |\n|---|---|---|---|\n";
    for (const s of specs.filter((x) => x.group === group)) {
      out += `| \`${s.name}\` | ${s.type} | ${s.labels.join(", ")} | ${cell(s.when)} |\n`;
    }
  }
  return out + OUTRO;
}
