// Logs and labels name what the client asked: the request line as received (routers rewrite
// req.url while routing), and route templates with the paths their routers are mounted at.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, request, startServer, stopAll, tempDir, waitFor } from "../helpers/harness.mjs";

after(stopAll);

const ROUTERS = join(FIXTURES, "mounted-routers.mjs");

/** The failures counted under each endpoint label, once `total` have reached the store. */
async function failuresByEndpoint(s, total) {
  const m = await waitFor(
    async () => {
      const m = await s.scrape();
      return m.sum("gunicorn_worker_failed_requests_total") === total && m;
    },
    { what: `${total} failures counted` },
  );
  const out = {};
  for (const x of m.find("gunicorn_worker_failed_requests_total")) out[x.labels.endpoint] = x.value;
  return out;
}

describe("the request as the client sent it", () => {
  for (const workerClass of ["sync", "async", "thread"]) {
    it(`express-generator's app (bin/www listens itself), ${workerClass} worker: access log lines and route labels`, async () => {
      const log = join(tempDir(), "access.log");
      const s = await startServer({
        app: join(FIXTURES, "mounted-www.mjs"),
        workers: 1,
        args: ["-k", workerClass, "--access-logfile", log, "--access-log-format", '"%(r)s" %(s)s %(U)s ?%(q)s'],
      });
      const sent = ["/users", "/users/7?tab=posts", "/api/v1/items/7?x=1", "/api/v1/items/bad?why=1", "/"];
      const statuses = [];
      for (const path of sent) statuses.push((await request(s.url(path))).status);
      assert.deepEqual(statuses, [200, 200, 200, 500, 200]);
      const item = JSON.parse((await request(s.url("/api/v1/items/8"))).body);
      assert.deepEqual(item, { item: "8", route: "/:id" }, "the app still sees Express's own req.route");
      const lines = await waitFor(
        () => {
          const l = readFileSync(log, "utf8").trim().split("\n");
          return l.length >= sent.length + 1 && l;
        },
        { what: "the access log lines" },
      );
      assert.deepEqual(lines.slice(0, sent.length), [
        '"GET /users HTTP/1.1" 200 /users ?',
        '"GET /users/7?tab=posts HTTP/1.1" 200 /users/7 ?tab=posts',
        '"GET /api/v1/items/7?x=1 HTTP/1.1" 200 /api/v1/items/7 ?x=1',
        '"GET /api/v1/items/bad?why=1 HTTP/1.1" 500 /api/v1/items/bad ?why=1',
        '"GET / HTTP/1.1" 200 / ?',
      ]);
      assert.deepEqual(await failuresByEndpoint(s, 1), { "/api/v1/items/:id": 1 });
      // After a reload the new workers label the same request the same way.
      s.signal("SIGHUP");
      await waitFor(() => (s.logs().match(/Booted worker/g) ?? []).length >= 2, { what: "the reload's worker" });
      await waitFor(async () => (await request(s.url("/api/v1/items/bad"))).status === 500, {
        what: "the new worker to answer",
      });
      assert.deepEqual(await failuresByEndpoint(s, 2), { "/api/v1/items/:id": 2 });
    });
  }

  for (const [factory, framework] of [
    ["expressApp", "Express (nested routers)"],
    ["fastifyApp", "Fastify (a prefixed plugin)"],
    ["koaApp", "Koa (a prefixed router)"],
  ]) {
    it(`labels a failure with the full template under ${framework}`, async () => {
      const s = await startServer({ app: `${ROUTERS}:${factory}()`, workers: 1 });
      assert.equal((await request(s.url("/api/v1/items/7"))).status, 200);
      assert.equal((await request(s.url("/api/v1/items/bad"))).status, 500);
      assert.deepEqual(await failuresByEndpoint(s, 1), { "/api/v1/items/:id": 1 });
    });
  }
});
