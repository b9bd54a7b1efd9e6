// Every app in examples/ runs under gpe-server as a user would start it, answers, and shows up in
// the metrics (route templates in the endpoint label for Express and Fastify).
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { startServer, stopAll, request, waitFor, tempDir, ROOT } from "../helpers/harness.mjs";

after(stopAll);

const example = (name) => join(ROOT, "examples", name);

async function scrapeUntil(s, check, what) {
  return waitFor(
    async () => {
      const m = await s.scrape();
      return check(m) && m;
    },
    { what },
  );
}

describe("examples", () => {
  it("hello.js: a plain node:http handler", async () => {
    const s = await startServer({ workers: 2, app: example("hello.js") });
    const res = await request(s.url("/"));
    assert.equal(res.status, 200);
    assert.match(res.body, /^Hello from worker \d+/);
    await scrapeUntil(s, (m) => m.sum("gunicorn_worker_requests_total", { status: "200" }) === 1, "1 request counted");
  });

  it("express-app.mjs: its error handler answers, the failure carries the route template", async () => {
    const s = await startServer({ workers: 1, app: example("express-app.mjs") });
    assert.deepEqual(JSON.parse((await request(s.url("/users/7"))).body), { id: "7" });
    assert.equal((await request(s.url("/users/0"))).status, 404);
    assert.equal((await request(s.url("/users/oops%ZZ"))).status, 400, "Express's own 400 for a bad escape");
    assert.equal((await request(s.url("/users/crash"))).status, 500);
    const m = await scrapeUntil(s, (m) => m.sum("gunicorn_worker_requests_total") === 4, "4 requests counted");
    assert.equal(m.sum("gunicorn_worker_requests_total", { status: "404" }), 1);
    // The UserNotFound the app answered itself (404) is not a failure; the TypeError it passed on is,
    // under the route template, not the path.
    assert.equal(m.sum("gunicorn_worker_failed_requests_total"), 1);
    assert.equal(
      m.sum("gunicorn_worker_failed_requests_total", {
        endpoint: "/users/:id",
        error_type: "TypeError",
        method: "GET",
      }),
      1,
    );
  });

  it("fastify-app.mjs: a thrown error is counted under the route template", async () => {
    const s = await startServer({ workers: 1, app: example("fastify-app.mjs"), args: ["-k", "async"] });
    assert.equal(JSON.parse((await request(s.url("/"))).body).hello, "fastify");
    assert.equal((await request(s.url("/items/none"))).status, 500);
    const m = await scrapeUntil(s, (m) => m.sum("gunicorn_worker_failed_requests_total") === 1, "the failure counted");
    assert.equal(
      m.sum("gunicorn_worker_failed_requests_total", { endpoint: "/items/:sku", error_type: "OutOfStock" }),
      1,
    );
  });

  it("hono-app.mjs: a sub-app's routes carry its mount path, and a thrown error is counted there", async () => {
    const s = await startServer({ workers: 1, app: example("hono-app.mjs") });
    const item = await request(s.url("/api/v1/items/7"));
    assert.deepEqual(JSON.parse(item.body), { sku: "7" });
    assert.equal(item.headers["x-served-by"], "hono", "the app's middleware ran");
    assert.equal((await request(s.url("/api/v1/items/none"))).status, 500);
    const m = await scrapeUntil(s, (m) => m.sum("gunicorn_route_requests_total") === 2, "both requests counted");
    assert.equal(m.sum("gunicorn_route_requests_total", { route: "/api/v1/items/:sku", status: "2xx" }), 1);
    assert.equal(m.sum("gunicorn_route_requests_total", { route: "/api/v1/items/:sku", status: "5xx" }), 1);
    assert.equal(m.sum("gunicorn_worker_failed_requests_total", { endpoint: "/api/v1/items/:sku" }), 1);
  });

  it("koa-app.mjs: routes and 405s from @koa/router", async () => {
    const s = await startServer({ workers: 1, app: example("koa-app.mjs"), args: ["-k", "async"] });
    assert.deepEqual(JSON.parse((await request(s.url("/orders/9"))).body), { id: "9" });
    assert.equal((await request(s.url("/orders/9"), { method: "DELETE" })).status, 405);
    await scrapeUntil(
      s,
      (m) => m.sum("gunicorn_worker_requests_total", { method: "DELETE", status: "405" }) === 1,
      "the 405 counted",
    );
  });

  it("factory-app.mjs:create(): one resource per worker, released at exit", async () => {
    const s = await startServer({ workers: 2, app: `${example("factory-app.mjs")}:create()` });
    const first = JSON.parse((await request(s.url("/a"))).body);
    assert.ok(existsSync(join(first.journal, "journal.log")), "the worker's journal is open");
    await scrapeUntil(s, (m) => m.sum("gunicorn_worker_requests_total") === 1, "the request counted");
    s.signal("SIGTERM");
    assert.equal((await s.exited).code, 0);
    assert.equal(existsSync(first.journal), false, "the worker removed its journal at exit");
  });

  it("typescript-app.ts: loaded without a build step", async () => {
    const s = await startServer({ workers: 1, app: example("typescript-app.ts") });
    assert.deepEqual(JSON.parse((await request(s.url("/typed"))).body).path, "/typed");
    await scrapeUntil(
      s,
      (m) => m.sum("gunicorn_worker_requests_total", { status: "200" }) === 1,
      "the request counted",
    );
  });

  it("custom-metrics.mjs: the app's prom-client metrics merged across workers", async () => {
    const s = await startServer({ workers: 2, app: example("custom-metrics.mjs") });
    for (const product of ["book", "book", "pen"]) await request(s.url(`/order?product=${product}&value=30`));
    const m = await scrapeUntil(s, (m) => m.sum("shop_orders_total") === 3, "3 orders");
    assert.equal(m.sum("shop_orders_total", { product: "book" }), 2);
    assert.equal(m.sum("shop_basket_value_euros_count"), 3);
    assert.equal(m.sum("shop_basket_value_euros_bucket", { le: "50" }), 3);
    assert.ok(
      m.find("shop_cache_entries").every((x) => /^worker_\d$/.test(x.labels.worker_id)),
      "one series per worker",
    );
  });

  it("systemd/gpe-server.service passes systemd-analyze verify", (t) => {
    if (spawnSync("systemd-analyze", ["--version"]).error) {
      t.skip("systemd-analyze not installed (Debian package systemd)");
      return;
    }
    // The unit names /srv/myapp; point ExecStart at a binary that exists here so only the unit itself is judged.
    const unit = readFileSync(example("systemd/gpe-server.service"), "utf8").replace(
      /^ExecStart=\S+/m,
      `ExecStart=${process.execPath}`,
    );
    const path = join(tempDir("gpe-unit-"), "myapp.service");
    writeFileSync(path, unit);
    const check = spawnSync("systemd-analyze", ["verify", path], { encoding: "utf8" });
    assert.equal(check.status, 0, check.stderr);
    assert.equal(check.stderr.trim(), "");
  });

  it("express-listen.mjs: app.listen() taken over, server.address() is gpe-server's", async () => {
    const s = await startServer({ workers: 1, app: example("express-listen.mjs") });
    assert.deepEqual(JSON.parse((await request(s.url("/orders/5"))).body), { order: "5" });
    await waitFor(() => s.logs().includes(`listening on {"address":"127.0.0.1","port":${s.port},"family":"IPv4"}`), {
      what: "the app's own listen callback with gpe-server's address",
    });
  });

  it("websocket-chat.mjs: a WebSocket is welcomed, and its close() lets a graceful stop end at once", async () => {
    const s = await startServer({ workers: 1, app: example("websocket-chat.mjs") });
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/`);
    const welcome = await new Promise((resolve, reject) => {
      ws.once("error", reject);
      ws.once("message", (data) => resolve(String(data)));
    });
    assert.match(welcome, /^welcome to worker \d+$/);
    const closedWith = new Promise((resolve) => ws.once("close", (code) => resolve(code)));
    const t0 = Date.now();
    s.signal("SIGTERM");
    assert.equal((await s.exited).code, 0);
    assert.equal(await closedWith, 1001);
    assert.ok(Date.now() - t0 < 10_000, `stopped in ${Date.now() - t0} ms, not after graceful_timeout (30 s)`);
  });
});
