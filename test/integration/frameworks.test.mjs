// Express, Fastify, Koa and Hono apps served as they are.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, stopAll, request, waitFor, FIXTURES } from "../helpers/harness.mjs";

after(stopAll);

const app = (name) => `${join(FIXTURES, "frameworks.mjs")}:${name}()`;

describe("frameworks", () => {
  for (const [factory, framework] of [
    ["expressApp", "express"],
    ["fastifyApp", "fastify"],
    ["koaApp", "koa"],
    ["honoApp", "hono"],
  ]) {
    it(`serves a ${framework} app from a factory`, async () => {
      const s = await startServer({ workers: 1, app: app(factory) });
      const res = await request(s.url("/items/42"));
      assert.equal(res.status, 200);
      assert.deepEqual(JSON.parse(res.body), { framework, id: "42" });
      assert.equal((await request(s.url("/nope"))).status, 404);
      const m = await waitFor(async () => {
        const m = await s.scrape();
        return m.sum("gunicorn_worker_requests_total") === 2 && m;
      });
      assert.equal(m.sum("gunicorn_worker_requests_total", { status: "404" }), 1);
    });
  }

  for (const framework of ["fastify", "hono"])
    it(`counts an error ${framework} caught itself, labelled with the route template`, async () => {
      const s = await startServer({ workers: 1, app: app(`${framework}App`) });
      assert.equal((await request(s.url("/items/bad"))).status, 500);
      const m = await waitFor(async () => {
        const m = await s.scrape();
        return m.sum("gunicorn_worker_failed_requests_total") === 1 && m;
      });
      assert.equal(
        m.sum("gunicorn_worker_failed_requests_total", {
          endpoint: "/items/:id",
          error_type: "ItemError",
          method: "GET",
        }),
        1,
      );
      assert.equal(m.sum("gunicorn_worker_requests_total", { status: "500" }), 1);
    });

  it("loads a plain handler from a named export and from an async factory", async () => {
    const s = await startServer({ workers: 1, app: `${join(FIXTURES, "factory.mjs")}:create()` });
    assert.match((await request(s.url("/"))).body, /factory app opened at \d+/);
  });
});
