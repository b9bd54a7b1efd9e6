// Per-route RED metrics with no code in the app: real Express, Fastify, Koa and Hono apps, a plain handler
// with --metrics-routes, the setRoute API; counts and histograms match what was sent, a flood of
// distinct paths stays within the series bound, and counts survive a worker's retirement.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, ROOT, request, runCli, startServer, stopAll, tempDir, waitFor } from "../helpers/harness.mjs";

after(stopAll);

const framework = (name) => `${join(FIXTURES, "frameworks.mjs")}:${name}()`;

/** Sends `paths` (each once) over `concurrency` kept-alive connections. */
async function send(s, paths, concurrency = 8) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const queue = [...paths];
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (queue.length > 0) {
          const path = queue.shift();
          await new Promise((resolve, reject) => {
            http
              .get(s.url(path), { agent }, (res) => {
                res.resume();
                res.on("end", resolve);
              })
              .on("error", reject);
          });
        }
      }),
    );
  } finally {
    agent.destroy();
  }
}

/** Scrapes until the route counter has `total` requests (workers write their files on an interval). */
async function routesOnceCounted(s, total) {
  let m;
  await waitFor(
    async () => {
      m = await s.scrape();
      return m.sum("gunicorn_route_requests_total") === total;
    },
    {
      what: () => `${total} requests in gunicorn_route_requests_total; got ${m?.sum("gunicorn_route_requests_total")}`,
    },
  );
  return m;
}

describe("per-route metrics", () => {
  for (const [name, fails] of [
    ["expressApp", true],
    ["fastifyApp", true],
    ["koaApp", false],
    ["honoApp", true],
  ])
    it(`${name}: counts and latency by route template, the unrouted as other`, async () => {
      const s = await startServer({ app: framework(name), workers: 2 });
      const ok = Array.from({ length: 20 }, (_, i) => `/items/${i}`);
      const bad = fails ? ["/items/bad", "/items/bad", "/items/bad"] : [];
      const missing = ["/nope/1", "/nope/2", "/nope/3", "/nope/4", "/nope/5"];
      await send(s, [...ok, ...bad, ...missing]);
      const m = await routesOnceCounted(s, ok.length + bad.length + missing.length);
      const count = (route, status) => m.sum("gunicorn_route_requests_total", { method: "GET", route, status });
      assert.equal(count("/items/:id", "2xx"), 20, m.text);
      assert.equal(count("/items/:id", "5xx"), bad.length);
      assert.equal(count("other", "4xx"), 5, "a path no route matched is route=other, never the path");
      assert.equal(
        m.sum("gunicorn_route_request_duration_seconds_count", { method: "GET", route: "/items/:id" }),
        ok.length + bad.length,
      );
      const inf = m.find("gunicorn_route_request_duration_seconds_bucket", { route: "/items/:id", le: "+Inf" });
      assert.equal(inf.length, 1, "one series for both workers: the merge sums them");
      assert.equal(inf[0].value, ok.length + bad.length);
      const routes = new Set(m.find("gunicorn_route_requests_total").map((x) => x.labels.route));
      assert.deepEqual([...routes].sort(), ["/items/:id", "other"]);
    });

  it("a plain handler: --metrics-routes patterns name the routes, the rest is other", async () => {
    const s = await startServer({
      app: join(FIXTURES, "app.mjs"),
      workers: 1,
      args: ["--metrics-routes", "/fail/:what", "--metrics-routes", "/bytes"],
    });
    await send(s, ["/fail/a", "/fail/b", "/bytes?n=3", "/bytes?n=4", "/", "/pid"]);
    const m = await routesOnceCounted(s, 6);
    const count = (route, status) => m.sum("gunicorn_route_requests_total", { route, status });
    assert.deepEqual([count("/fail/:what", "5xx"), count("/bytes", "2xx"), count("other", "2xx")], [2, 2, 2]);
  });

  it("setRoute(req, template) names the route where no router does", async () => {
    const dir = tempDir("gpe-routes-");
    writeFileSync(
      join(dir, "app.mjs"),
      `import { setRoute } from ${JSON.stringify(join(ROOT, "dist", "index.js"))};
export default (req, res) => {
  if (req.url.startsWith("/orders/")) setRoute(req, "/orders/:id");
  res.end("ok");
};
`,
    );
    const s = await startServer({ app: join(dir, "app.mjs"), workers: 1 });
    await send(s, ["/orders/1", "/orders/2", "/orders/3", "/"]);
    const m = await routesOnceCounted(s, 4);
    assert.equal(m.sum("gunicorn_route_requests_total", { route: "/orders/:id" }), 3);
    assert.equal(m.sum("gunicorn_route_requests_total", { route: "other" }), 1);
  });

  it("a flood of 10 000 distinct paths leaves the series within the bound", async () => {
    const express = await startServer({ app: framework("expressApp"), workers: 2 });
    const plain = await startServer({
      app: join(FIXTURES, "app.mjs"),
      workers: 1,
      args: ["--metrics-endpoint-limit", "5"],
    });
    const flood = Array.from({ length: 10_000 }, (_, i) => `/items/${i}-${Math.random().toString(36).slice(2)}`);
    await Promise.all([
      send(express, flood, 16),
      send(
        plain,
        flood.map((p) => `/x${p}`),
        16,
      ),
    ]);
    for (const [s, routes] of [
      [express, ["/items/:id"]],
      [plain, ["other"]],
    ]) {
      const m = await routesOnceCounted(s, 10_000);
      const series = m.find("gunicorn_route_requests_total");
      assert.deepEqual([...new Set(series.map((x) => x.labels.route))], routes);
      // Routes x methods x status classes, and (buckets + 3) per route and method for the histogram.
      assert.ok(series.length <= routes.length * 8 * 5, `${series.length} series`);
    }
  });

  it("counts survive a worker's retirement, and --no-metrics-per-route turns them off", async () => {
    const s = await startServer({ app: framework("expressApp"), workers: 2 });
    await send(
      s,
      Array.from({ length: 30 }, (_, i) => `/items/${i}`),
    );
    await routesOnceCounted(s, 30);
    s.signal("SIGTTOU");
    await waitFor(() => s.workerPids().length === 1, { what: "a worker to retire" });
    await send(s, ["/items/x"]);
    await routesOnceCounted(s, 31);
    const off = await startServer({ app: framework("expressApp"), workers: 1, args: ["--no-metrics-per-route"] });
    await request(off.url("/items/1"));
    let m;
    await waitFor(async () => {
      m = await off.scrape();
      return m.sum("gunicorn_worker_requests_total") >= 1;
    });
    assert.equal(m.find("gunicorn_route_requests_total").length, 0);
  });

  it("refuses a route pattern that is not a path, in one line, exit 2", async () => {
    const r = await runCli(["--metrics-routes", "users/:id", join(FIXTURES, "app.mjs")]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /metrics_routes: expected a path template starting with \/ \(\/users\/:id\), got "users\/:id"/,
    );
  });
});
